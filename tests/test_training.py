"""Every registered model learns: a few real training steps on MNIST lower its reconstruction error,
and every parameter stays finite. New models are covered by registering them."""

from __future__ import annotations

import warnings

import pytest
import pytorch_lightning as pl
import torch
from helpers import build_model

from genzoo.datamodules.base import TensorImageDataset
from genzoo.datamodules.mnist import MNISTDataModule
from genzoo.latent.callback import LatentPictures
from genzoo.registry import MODELS


@pytest.fixture(scope="module")
def small_mnist() -> MNISTDataModule:
    """MNIST cut to 1,024 training and 256 validation images (real digits, seconds per epoch)."""
    dm = MNISTDataModule(batch_size=64)
    dm.setup()
    for split, n in (("train", 1024), ("val", 256), ("test", 256)):
        data = dm.splits[split]
        dm.splits[split] = TensorImageDataset(data.images[:n], data.labels[:n])
    return dm


def recon_mse(model, dm) -> float:
    model.eval()
    x, y = next(iter(dm.val_dataloader()))
    x = x.float() / 255
    with torch.no_grad():
        out = model.reconstruct(x, y if model.conditional else None)
    model.train()
    return float(((out - x) ** 2).mean())


@pytest.mark.parametrize("name", MODELS.names())
def test_model_trains_on_mnist(name, small_mnist, tmp_path):
    pl.seed_everything(0, verbose=False)
    model = build_model(name, width=128, fast=False)
    before = recon_mse(model, small_mnist) if model.has_encoder else None
    trainer = pl.Trainer(
        max_epochs=3,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        limit_val_batches=1,
        default_root_dir=tmp_path,
        callbacks=[LatentPictures()],  # the per-epoch pictures every genzoo fit draws
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer.fit(model, datamodule=small_mnist)
    for pname, p in model.named_parameters():
        assert torch.isfinite(p).all(), f"{name}: parameter {pname} is not finite"
    samples = model.sample(8, generator=torch.Generator().manual_seed(0),
                           y=torch.arange(8) if model.conditional else None)  # fmt: skip
    assert torch.isfinite(samples).all()
    if model.has_encoder:
        after = recon_mse(model, small_mnist)
        assert after < 0.8 * before, f"{name}: reconstruction MSE {before:.4f} -> {after:.4f} did not fall"
    # The per-epoch figures were written into the run folder.
    assert list(tmp_path.rglob("epoch002_samples.png"))
