"""Reconstruction quality on held-out images: MSE, PSNR and SSIM of ``decode(encode(x))`` against ``x``.

All three through torchmetrics, on images in [0, 1] (``data_range=1``):

- ``mse``: mean squared error per pixel over the whole split (the same number as ``val/recon_mse``).
- ``psnr``: peak signal-to-noise ratio in dB, computed per image and averaged (``dim=(1, 2, 3)``), so
  one near-perfect image cannot dominate the mean as it would in a PSNR of the pooled MSE.
- ``ssim``: structural similarity with torchmetrics' defaults (11x11 Gaussian window, sigma 1.5),
  averaged over images.

Conditional models (CVAE) are given the true labels, as in their validation step.
"""

from __future__ import annotations

from typing import Any

import torch
from torchmetrics.image import PeakSignalNoiseRatio, StructuralSimilarityIndexMeasure
from torchmetrics.regression import MeanSquaredError

from genzoo.viz import to_unit_float


@torch.no_grad()
def reconstruction_metrics(
    model: Any,
    images: torch.Tensor,
    labels: torch.Tensor | None = None,
    batch_size: int = 500,
) -> dict[str, float]:
    """MSE, PSNR (dB) and SSIM of the model's reconstructions of ``images`` (uint8 or [0, 1], N x C x H x W)."""
    device = model.device
    mse = MeanSquaredError().to(device)
    psnr = PeakSignalNoiseRatio(data_range=1.0, dim=(1, 2, 3)).to(device)
    ssim = StructuralSimilarityIndexMeasure(data_range=1.0).to(device)
    for start in range(0, len(images), batch_size):
        x = to_unit_float(images[start : start + batch_size], device)
        y = labels[start : start + batch_size].to(device) if model.conditional and labels is not None else None
        x_hat = model.reconstruct(x, y).clamp(0, 1)
        mse.update(x_hat.flatten(), x.flatten())
        psnr.update(x_hat, x)
        ssim.update(x_hat, x)
    return {
        "mse": mse.compute().item(),
        "psnr": psnr.compute().item(),
        "ssim": ssim.compute().item(),
        "num_images": len(images),
    }
