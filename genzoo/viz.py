"""Image grids and strips, written as PNG (or the images as NPZ) and sent to whatever logger is active."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from einops import rearrange
from torchvision.utils import make_grid, save_image

from genzoo.atomic import atomic_path


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """Images in [0, 1] -> uint8 (N, C, H, W), as a PNG would store them (FID is measured on these)."""
    return images.clamp(0, 1).mul(255).round().to(torch.uint8)


def to_unit_float(images: torch.Tensor, device: torch.device | str | None = None) -> torch.Tensor:
    """uint8 images (as datasets store them) or floats -> float in [0, 1], moved to ``device`` first."""
    images = images.to(device) if device is not None else images
    return images.float().div_(255.0) if images.dtype == torch.uint8 else images.float()


def image_grid(images: torch.Tensor, nrow: int = 8) -> torch.Tensor:
    """(N, C, H, W) in [0, 1] -> one (C, H', W') grid image with a 2-pixel gutter."""
    return make_grid(images.detach().float().clamp(0, 1).cpu(), nrow=nrow, padding=2, pad_value=1.0)


def write_image_file(
    out: Path, picture: Callable[[], torch.Tensor], arrays: Callable[[], dict[str, np.ndarray]]
) -> None:
    """The one writer of image outputs: ``.png`` (in any case) gets ``picture()``, an image (C, H, W) in
    [0, 1]; ``.npz`` gets ``arrays()``. Written to a temporary file and moved into place (an interrupted run
    leaves no half file); only the output asked for is computed."""
    with atomic_path(out) as tmp:
        if out.suffix.lower() == ".png":
            save_image(picture(), tmp, format="png")
        else:
            with open(tmp, "wb") as f:  # an open file: np.savez would append .npz to the temporary name
                np.savez_compressed(f, **arrays())


def write_images(images: torch.Tensor, out: Path, nrow: int | None = None) -> None:
    """Images (N, C, H, W) in [0, 1] (or uint8) as a ``.png`` grid (``nrow`` per row, default square) or an
    ``.npz`` holding them as ``images`` (uint8)."""
    write_image_file(
        out,
        lambda: image_grid(to_unit_float(images), nrow or max(1, math.ceil(math.sqrt(len(images))))),
        lambda: {"images": (images if images.dtype == torch.uint8 else to_uint8(images)).cpu().numpy()},
    )


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


# ----- 2-D latent spaces: scatter plots and manifold grids (AAE with latent_dim=2, and any 2-D code) -----
def render_figure(fig: object) -> torch.Tensor:
    """A matplotlib Figure -> an RGB image tensor (3, H, W) in [0, 1] (no display or pyplot needed)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)  # type: ignore[arg-type]
    canvas.draw()
    rgba = torch.frombuffer(bytearray(canvas.buffer_rgba()), dtype=torch.uint8)
    width, height = canvas.get_width_height()
    return to_unit_float(rearrange(rgba.view(height, width, 4)[..., :3], "h w c -> c h w"))


def latent_grid(low: torch.Tensor, high: torch.Tensor, steps: int = 20) -> torch.Tensor:
    """(steps * steps, 2) points covering the box [low, high] in 2-D, laid out as an image grid.

    Row-major with the second coordinate decreasing down the rows, so the decoded grid has the same
    orientation as a scatter plot of the codes (first coordinate to the right, second upward).
    """
    xs = torch.linspace(float(low[0]), float(high[0]), steps)
    ys = torch.linspace(float(high[1]), float(low[1]), steps)
    grid_y, grid_x = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([grid_x, grid_y], -1).view(-1, 2)


def paired_rows(inputs: torch.Tensor, outputs: torch.Tensor, per_row: int = 8) -> torch.Tensor:
    """Interleave rows of ``per_row`` inputs with the rows of their outputs (e.g. reconstructions).

    (N, C, H, W) twice, N a multiple of ``per_row`` -> (2N, C, H, W): input row, output row, input row, ...
    """
    pairs = torch.stack([inputs, outputs])  # (2, N, C, H, W)
    return rearrange(pairs, "pair (row col) c h w -> (row pair col) c h w", col=per_row)
