"""Drawing latent pictures: image grids with a title and labelled axes, the decoded 2-D plane beside the
scatter of codes, and a 2-D projection of codes with thumbnails. Each returns an RGB image (3, H, W) in
[0, 1] (matplotlib's Agg canvas, no display), ready for a PNG, a logger or a web page."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

import torch
from einops import rearrange

from genzoo.viz import image_grid, render_figure

DPI = 100
GUTTER = 2  # pixels between images in a grid (viz.image_grid)
TARGET_WIDTH = 560  # small images are scaled up (by whole pixels) until the grid is about this wide


def _wrap(title: str, width_inches: float) -> str:
    return "\n".join(textwrap.wrap(title, max(20, int(width_inches * DPI / 6.5))))


def _show(ax, image: torch.Tensor, **kwargs) -> None:
    """Draw one image (C, H, W) in [0, 1] into ``ax``: grey images with a grey colour map, pixels unsmoothed."""
    pixels = rearrange(image.detach().float().clamp(0, 1).cpu(), "c h w -> h w c").numpy()
    pixels = pixels[..., 0] if pixels.shape[-1] == 1 else pixels
    ax.imshow(pixels, cmap="gray", vmin=0, vmax=1, interpolation="nearest", **kwargs)


def _grid_ticks(count: int, size: int, scale: int) -> list[float]:
    """Pixel centres of the ``count`` images along one side of a grid (after scaling by ``scale``)."""
    return [(GUTTER + i * (size + GUTTER) + size / 2) * scale for i in range(count)]


def render_grid(
    images: torch.Tensor,
    nrow: int,
    title: str,
    xlabel: str | None = None,
    col_labels: Sequence[str] | None = None,
    row_labels: Sequence[str] | None = None,
    ylabel: str | None = None,
) -> torch.Tensor:
    """Images (N, C, H, W) in [0, 1] as a grid of ``nrow`` per row, titled, with optional axis labels.

    Pixels stay sharp: the grid is drawn at a whole-number scale into axes of exactly its size.
    """
    from matplotlib.figure import Figure

    grid = image_grid(images, nrow)  # (C, H', W')
    h, w = images.shape[-2:]
    scale = max(1, min(4, round(TARGET_WIDTH / grid.shape[-1])))
    img_w, img_h = grid.shape[-1] * scale / DPI, grid.shape[-2] * scale / DPI
    left = 1.05 if row_labels or ylabel else 0.15
    bottom = 0.55 if (xlabel or col_labels) else 0.15
    fig_w = max(img_w + left + 0.15, 3.0)
    title = _wrap(title, fig_w)
    top = 0.2 + 0.18 * (title.count("\n") + 1)
    fig_h = img_h + bottom + top
    fig = Figure(figsize=(fig_w, fig_h), dpi=DPI)
    x0 = left + (fig_w - left - 0.15 - img_w) / 2  # centred when the title made the figure wider
    ax = fig.add_axes((x0 / fig_w, bottom / fig_h, img_w / fig_w, img_h / fig_h))
    _show(ax, grid, aspect="auto", extent=(0, grid.shape[-1] * scale, grid.shape[-2] * scale, 0))
    ax.set_xticks(_grid_ticks(len(col_labels or []), w, scale), list(col_labels or []), fontsize=7)
    ax.set_yticks(_grid_ticks(len(row_labels or []), h, scale), list(row_labels or []), fontsize=7)
    for side in ("top", "right", "bottom", "left"):
        ax.spines[side].set_visible(False)
    if xlabel:
        ax.set_xlabel(xlabel, fontsize=8)
    if ylabel:
        ax.set_ylabel(ylabel, fontsize=8)
    fig.suptitle(title, fontsize=9, y=1 - 0.08 / fig_h)
    return render_figure(fig)


def draw_scatter(ax, codes: torch.Tensor | None, labels: torch.Tensor | None, class_names: Sequence[str] | None,
                  prior: torch.Tensor | None = None, size: float = 3) -> None:  # fmt: skip
    """Codes (N, 2) coloured by label, over grey prior samples; unlabelled codes (label -1, or no labels) in blue."""
    if prior is not None:
        ax.scatter(*prior.detach().float().cpu().T, s=1, c="0.82", label="prior samples", rasterized=True)
    if codes is None:
        ax.legend(markerscale=3, fontsize=6, loc="upper right", framealpha=0.8).set_zorder(5)
        return
    codes = codes.detach().float().cpu()
    labels = torch.full((len(codes),), -1) if labels is None or labels.dim() != 1 else labels.detach().cpu()
    for i, k in enumerate(sorted(set(labels.tolist()))):
        pts = codes[labels == k]
        name = "codes" if k < 0 else (class_names[k] if class_names and k < len(class_names) else str(k))
        ax.scatter(pts[:, 0], pts[:, 1], s=size, color=f"C{i % 10}", label=name, rasterized=True)
    ax.legend(markerscale=3, fontsize=6, loc="upper right", framealpha=0.8).set_zorder(5)


def render_plane_and_scatter(
    plane: torch.Tensor,
    steps: int,
    box: tuple[torch.Tensor, torch.Tensor],
    codes: torch.Tensor | None,
    labels: torch.Tensor | None,
    prior: torch.Tensor,
    title: str,
    class_names: Sequence[str] | None = None,
) -> torch.Tensor:
    """Left: the images decoded on a steps x steps grid over ``box``; right: codes over prior samples.

    Both panels share the code axes z[0] (right) and z[1] (up), so a digit's region in the scatter is
    where that digit appears in the plane.
    """
    from matplotlib.figure import Figure

    low, high = (v.float().cpu() for v in box)
    fig = Figure(figsize=(11, 5.4), dpi=DPI)
    ax_plane, ax_scatter = fig.subplots(1, 2)
    extent = (float(low[0]), float(high[0]), float(low[1]), float(high[1]))
    _show(ax_plane, image_grid(plane, steps), extent=extent, aspect="auto")
    ax_plane.set_title("decoded latent plane (prior's central 98%)", fontsize=9)
    draw_scatter(ax_scatter, codes, labels, class_names, prior)
    ax_scatter.set_title("test codes by label" if codes is not None else "prior samples (no encoder)", fontsize=9)
    ax_scatter.set_xlim(extent[0] - 0.1 * (extent[1] - extent[0]), extent[1] + 0.1 * (extent[1] - extent[0]))
    ax_scatter.set_ylim(extent[2] - 0.1 * (extent[3] - extent[2]), extent[3] + 0.1 * (extent[3] - extent[2]))
    for ax in (ax_plane, ax_scatter):
        ax.set_xlabel("z[0]", fontsize=8)
        ax.set_ylabel("z[1]", fontsize=8)
        ax.tick_params(labelsize=7)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return render_figure(fig)


def spread_points(coords: torch.Tensor, cells: int = 7) -> torch.Tensor:
    """Indices of at most cells x cells points spread over the plane: in each cell of a grid over the
    points' range, the point nearest the cell's centre (so thumbnails cover the map without piling up)."""
    low, high = coords.min(0).values, coords.max(0).values
    size = (high - low).clamp_min(1e-6) / cells
    cell = ((coords - low) / size).floor().clamp(0, cells - 1)  # (N, 2)
    offset = ((coords - low) / size - cell - 0.5).norm(dim=1)  # distance to the cell's centre
    picked: dict[tuple[int, int], int] = {}
    for i in offset.argsort().tolist():
        picked.setdefault((int(cell[i, 0]), int(cell[i, 1])), i)
    return torch.tensor(sorted(picked.values()), dtype=torch.long)


def render_projection(
    coords: torch.Tensor,
    labels: torch.Tensor | None,
    thumbs: torch.Tensor,
    thumb_coords: torch.Tensor,
    title: str,
    axis_names: tuple[str, str],
    class_names: Sequence[str] | None = None,
) -> torch.Tensor:
    """Codes projected to 2-D (N, 2), coloured by label, with images (M, C, H, W) drawn at their points."""
    from matplotlib.figure import Figure

    coords, thumb_coords = coords.float().cpu(), thumb_coords.float().cpu()
    fig = Figure(figsize=(7.5, 7), dpi=DPI)
    ax = fig.add_subplot()
    draw_scatter(ax, coords, labels, class_names, size=2)
    low, high = coords.min(0).values, coords.max(0).values
    half = (high - low) / 30  # a thumbnail covers 1/15 of each axis: the scatter stays visible
    for img, (x, y) in zip(thumbs, thumb_coords.tolist()):
        _show(ax, img, extent=(x - half[0], x + half[0], y - half[1], y + half[1]), zorder=3)
    ax.set_xlim(float(low[0] - 2 * half[0]), float(high[0] + 2 * half[0]))
    ax.set_ylim(float(low[1] - 2 * half[1]), float(high[1] + 2 * half[1]))
    ax.set_aspect("auto")
    ax.set_xlabel(axis_names[0], fontsize=8)
    ax.set_ylabel(axis_names[1], fontsize=8)
    ax.tick_params(labelsize=7)
    ax.set_title(_wrap(title, 7.5), fontsize=9)
    fig.tight_layout()
    return render_figure(fig)


def latent_scatter(
    codes: torch.Tensor,
    labels: torch.Tensor,
    prior: torch.Tensor | None = None,
    title: str = "",
    class_names: list[str] | None = None,
) -> torch.Tensor:
    """Scatter of 2-D codes (N, 2) coloured by label (N,), over grey prior samples (M, 2); -> (3, H, W)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.5, 5), dpi=100)
    ax = fig.add_subplot()
    draw_scatter(ax, codes, labels, class_names, prior, size=2)
    ax.set_title(title)
    ax.set_aspect("equal", adjustable="datalim")
    fig.tight_layout()
    return render_figure(fig)
