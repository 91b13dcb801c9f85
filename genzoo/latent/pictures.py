"""Latent pictures: what ``genzoo reconstruct|interpolate|traverse|explore``, the training callback and the
web explorer show, built from tensors by one set of functions (so the three never disagree).

A ``Picture`` holds the decoded images and the codes behind them (what an ``.npz`` output stores) and
knows how to draw itself (what a ``.png`` output, a logger and the web page show).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from genzoo.checks import check_image_output
from genzoo.latent import figures, ops
from genzoo.viz import paired_rows, to_uint8, write_image_file


@dataclass
class Picture:
    """Images (N, C, H, W) in [0, 1], the codes behind them (N, D) or None, and how to draw them."""

    title: str
    images: torch.Tensor
    codes: torch.Tensor | None
    draw: Callable[[], torch.Tensor]  #: -> RGB (3, H, W) in [0, 1]
    arrays: dict[str, torch.Tensor] = field(default_factory=dict)  #: more arrays for the .npz (labels, t, ...)

    def render(self) -> torch.Tensor:
        return self.draw()


def write_picture(picture: Picture, out: Path) -> None:
    """``.png``: the drawn picture; ``.npz``: ``images`` (uint8 N x C x H x W), ``codes`` and the other
    arrays."""
    check_image_output(out)

    def arrays() -> dict[str, np.ndarray]:
        saved = {"title": np.array(picture.title), "images": to_uint8(picture.images).cpu().numpy()}
        if picture.codes is not None:
            saved["codes"] = picture.codes.detach().float().cpu().numpy()
        return saved | {k: v.detach().cpu().numpy() for k, v in picture.arrays.items()}

    write_image_file(out, picture.render, arrays)


def model_name(model: torch.nn.Module) -> str:
    from genzoo.registry import MODELS

    return (MODELS.name_of(model) or type(model).__name__).upper()


def _grid_picture(title: str, images: torch.Tensor, codes: torch.Tensor | None, xlabel: str | None,
                  col_labels: Sequence[str] | None, row_labels: Sequence[str] | None = None, ylabel: str | None = None,
                  arrays: dict[str, torch.Tensor] | None = None) -> Picture:  # fmt: skip
    """images (B, S, C, H, W) laid out as B rows of S; codes (B, S, D) flattened alongside."""
    rows, per_row = images.shape[:2]
    flat = images.flatten(0, 1)
    flat_codes = None if codes is None else codes.flatten(0, 1)
    return Picture(
        title, flat, flat_codes,
        lambda: figures.render_grid(flat, per_row, title, xlabel, col_labels, row_labels, ylabel),
        arrays or {},
    )  # fmt: skip


def reconstruction_picture(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor | None, what: str) -> Picture:
    """Inputs above their reconstructions, in rows of up to 8 (``what`` says which images they are).

    The .npz holds the reconstructions as ``images``, their ``codes`` and the ``inputs``."""
    ops.require_encoder(model, "reconstruct images")
    c = ops.condition_vectors(model, y, len(x))
    with torch.no_grad():
        z = model.encode(x, c)
        recon = model.decode(z, c)
    per_row = min(8, len(x))
    pad = -len(x) % per_row  # a last row that is not full is padded with white
    blank = torch.ones(pad, *x.shape[1:], device=x.device)
    grid = paired_rows(torch.cat([x, blank]), torch.cat([recon, blank]), per_row)
    row_labels = ["input", "reconstruction"] * (len(grid) // (2 * per_row))
    title = f"{model_name(model)}: {what} (rows: input, reconstruction)"
    return Picture(
        title, recon, z,
        lambda: figures.render_grid(grid, per_row, title, row_labels=row_labels),
        {"inputs": to_uint8(x)},
    )  # fmt: skip


def t_labels(steps: int) -> list[str]:
    return [f"{t:.2g}" for t in ops.steps_between(steps).tolist()]


def interpolation_picture(
    model: torch.nn.Module, images: torch.Tensor, codes: torch.Tensor, what: str, mode: str
) -> Picture:
    """Rows of an interpolation (B, S, C, H, W) between ``what`` (e.g. "test images 3 and 7")."""
    steps = images.shape[1]
    title = f"{model_name(model)}: {mode} between {what}"
    xlabel = "t along the path (0: start, 1: end)"
    t = ops.steps_between(steps)
    return _grid_picture(title, images, codes, xlabel, t_labels(steps), arrays={"t": t})


def traversal_picture(
    model: torch.nn.Module,
    images: torch.Tensor,
    codes: torch.Tensor,
    direction: ops.Direction,
    values: torch.Tensor,
    what: str,
) -> Picture:
    """Rows of a traversal (B, S, C, H, W): each row one start code moved along ``direction``."""
    title = f"{model_name(model)}: {what} moved along {direction.name}"
    xlabel = f"offset along {direction.name} (in {direction.unit})"
    labels = [f"{v:+.2g}" for v in values.tolist()]
    arrays = {"offsets": values, "direction": direction.vector, "unit": torch.tensor(direction.scale)}
    return _grid_picture(title, images, codes, xlabel, labels, arrays=arrays)


def plane_picture(
    model: torch.nn.Module,
    codes: torch.Tensor | None,
    labels: torch.Tensor | None,
    class_names: Sequence[str] | None,
    steps: int = 20,
    c: torch.Tensor | None = None,
) -> Picture:
    """2-D codes: the decoded latent plane over the prior's range, beside the codes' scatter over the prior."""
    plane, grid_codes, box = ops.latent_plane(model, steps, c)
    prior = model.prior_sample(3000, torch.Generator().manual_seed(0)).cpu()
    title = f"{model_name(model)}: the 2-D latent space"
    arrays = {"prior": prior}
    if codes is not None:
        arrays["test_codes"] = codes
    if labels is not None:
        arrays["test_labels"] = labels
    return Picture(
        title, plane, grid_codes,
        lambda: figures.render_plane_and_scatter(plane, steps, box, codes, labels, prior, title, class_names),
        arrays,
    )  # fmt: skip


def projection_picture(
    model: torch.nn.Module,
    codes: torch.Tensor,
    labels: torch.Tensor | None,
    images: torch.Tensor,
    class_names: Sequence[str] | None,
    what: str,
) -> Picture:
    """Codes of any dimension on their top two principal components, with thumbnails of ``images``."""
    coords, explained = ops.project(codes)
    chosen = figures.spread_points(coords)
    thumbs = images[chosen]
    latent_dim = codes.shape[1]
    title = (
        f"{model_name(model)}: {what} ({latent_dim}-D) on their top two principal components "
        f"({100 * float(explained):.0f}% of the variance)"
    )
    arrays = {"projected": coords, "thumbnail_index": chosen}
    if labels is not None:
        arrays["labels"] = labels
    return Picture(
        title, thumbs, codes[chosen],
        lambda: figures.render_projection(coords, labels, thumbs, coords[chosen], title, ("PC 0", "PC 1"), class_names),
        arrays,
    )  # fmt: skip
