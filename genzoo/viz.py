"""Image grids and strips, written as PNG and sent to whatever logger is active."""

from __future__ import annotations

from pathlib import Path

import torch
from torchvision.utils import make_grid, save_image


def image_grid(images: torch.Tensor, nrow: int = 8) -> torch.Tensor:
    """(N, C, H, W) in [0, 1] -> one (C, H', W') grid image with a 2-pixel gutter."""
    return make_grid(images.detach().float().clamp(0, 1).cpu(), nrow=nrow, padding=2, pad_value=1.0)


def save_png(images: torch.Tensor, path: str | Path, nrow: int = 8) -> Path:
    """Save a batch of images in [0, 1] as one grid PNG, creating parent folders."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_image(image_grid(images, nrow), path)
    return path


def log_image(logger: object, key: str, grid: torch.Tensor, step: int) -> None:
    """Send a grid (C, H, W) to a Lightning logger that can show images; CSV loggers cannot (no-op)."""
    if logger is None:
        return
    if type(logger).__name__ == "WandbLogger":
        logger.log_image(key=key, images=[grid], step=step)  # type: ignore[attr-defined]
        return
    experiment = getattr(logger, "experiment", None)
    if hasattr(experiment, "add_image"):  # TensorBoard
        experiment.add_image(key, grid, step)
