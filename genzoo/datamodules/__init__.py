"""Registered datamodules; importing this package fills the DATAMODULES registry."""

from genzoo.datamodules.base import InMemoryImageDataModule, TensorImageDataset
from genzoo.datamodules.mnist import MNISTDataModule

__all__ = ["InMemoryImageDataModule", "MNISTDataModule", "TensorImageDataset"]
