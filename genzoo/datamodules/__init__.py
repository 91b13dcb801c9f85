"""The datamodules, for `from genzoo.datamodules import MNISTDataModule`; the registry finds them by name."""

from genzoo.datamodules.anime import AnimeDataModule
from genzoo.datamodules.base import InMemoryImageDataModule, TensorImageDataset
from genzoo.datamodules.celeba import CelebADataModule
from genzoo.datamodules.folder import FolderDataModule
from genzoo.datamodules.mnist import MNISTDataModule

__all__ = [
    "AnimeDataModule",
    "CelebADataModule",
    "FolderDataModule",
    "InMemoryImageDataModule",
    "MNISTDataModule",
    "TensorImageDataset",
]
