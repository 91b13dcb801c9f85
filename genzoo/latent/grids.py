"""The per-epoch grids of any model, chosen by its capability flags, not by its name.

``epoch_grids(model, x, y)`` returns name -> (images (N, C, H, W) in [0, 1], images per row), drawn from the
first validation images ``x`` (up to 32) and their labels ``y``, through the base API only:

- every model: ``samples`` from fixed codes (the same every epoch, so progress is visible);
- with an encoder (``has_encoder``): ``reconstructions`` (inputs above their reconstructions) and
  ``interpolations`` between real images; without one, interpolations between fixed prior codes;
- conditional models (``conditional``): samples one row per class, the same draws in every row (or one
  row per real attribute set, for ``multi_label`` models), reconstructions and interpolations with the
  images' conditions, and
  ``condition_swaps``: each input, its reconstruction, then its code decoded under other conditions;
- 2-D codes (``latent_dim == 2``, with an encoder; ``codes`` given): ``latent_scatter``, the validation
  codes over prior samples, and for unconditional models the ``manifold``, images decoded on a grid
  covering the prior.

``LatentPictures`` (``genzoo.latent.callback``) draws them during training.
"""

from __future__ import annotations

from typing import Any

import torch

from genzoo.latent import ops
from genzoo.viz import paired_rows

Grids = dict[str, tuple[torch.Tensor, int]]
NUM_SAMPLES = 64  #: samples in the grid of an unconditional model
MANIFOLD_STEPS = 20  #: the digit manifold is a MANIFOLD_STEPS x MANIFOLD_STEPS grid of decoded points
#: attributes flipped in the condition swaps of a multi-label model, when it has them
FIGURE_FLIPS = ("Smiling", "Male", "Eyeglasses", "Blond_Hair", "Young", "Mustache")


def wants_codes(model: Any) -> bool:
    """Whether the grids include the scatter of the validation codes: models with an encoder and 2-D codes."""
    return bool(getattr(model, "has_encoder", True)) and int(model.latent_dim) == 2


@torch.no_grad()
def epoch_grids(
    model: Any, x: torch.Tensor, y: torch.Tensor, codes: tuple[torch.Tensor, torch.Tensor] | None = None, epoch: int = 0
) -> Grids:
    """The grids of ``model`` for validation images ``x`` with labels ``y``; ``codes``: (codes, labels) of the
    validation split, for the scatter of 2-D codes."""
    grids = conditional_grids(model, x, y) if model.conditional else plain_grids(model, x)
    if codes is not None and wants_codes(model):
        grids.update(plane_grids(model, *codes, epoch))
    return grids


def plain_grids(model: Any, x: torch.Tensor) -> Grids:
    g = torch.Generator().manual_seed(0)
    grids = {"samples": (model.sample(NUM_SAMPLES, generator=g), 8)}
    if not model.has_encoder:  # no real images to walk between: walk between random codes
        g = torch.Generator().manual_seed(1)
        grids["interpolations"] = (model.decode_path(model.prior_sample(8, g), model.prior_sample(8, g), 10), 10)
    elif len(x) >= 16:  # tiny validation sets (a test fixture) get samples only
        x = x[:16]
        grids["reconstructions"] = (paired_rows(x, model.reconstruct(x)), 8)
        grids["interpolations"] = (model.interpolate(x[:8], x[8:16], steps=10), 10)
    return grids


def conditional_grids(model: Any, x: torch.Tensor, y: torch.Tensor) -> Grids:
    g = torch.Generator().manual_seed(0)
    x, y = x[:16], y[:16].to(model.device)
    if getattr(model, "multi_label", False):
        # Each row: the attributes of one validation image, with 8 different codes.
        conditions = y[:8].repeat_interleave(8, 0)  # (up to 64, K)
        grids = {"samples": (model.sample(len(conditions), g, conditions), 8)}
    else:  # each row: one class; each column: the same prior draw in every row, so a column keeps its style
        rows = [torch.full((10,), k, device=model.device) for k in range(min(model.num_classes, 10))]
        samples = [model.sample(10, torch.Generator().manual_seed(0), row) for row in rows]
        grids = {"samples": (torch.cat(samples), 10)}
    if len(x) == 16:
        grids["reconstructions"] = (paired_rows(x, model.reconstruct(x, y)), 8)
        # Interpolations walk the code and the condition together, from x[i] to x[8 + i].
        grids["interpolations"] = (ops.interpolate(model, x[:8], x[8:], 10, "lerp", y[:8], y[8:])[0].flatten(0, 1), 10)
    grids["condition_swaps"] = condition_swaps(model, x[:8], y[:8])
    return grids


@torch.no_grad()
def condition_swaps(model: Any, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, int]:
    """Each row: an input, its reconstruction, then the same code decoded under other conditions: every
    class (single-label), or one attribute flipped per column (multi-label)."""
    c = ops.condition_vectors(model, y, len(x))  # (B, K)
    z = model.encode(x, c)  # (B, D)
    if getattr(model, "multi_label", False):
        names = list(getattr(model, "class_names", None) or [])
        flips = [names.index(a) for a in FIGURE_FLIPS if a in names] or list(range(min(6, model.num_classes)))
        conditions = [c] + [torch.cat([c[:, :j], 1 - c[:, j : j + 1], c[:, j + 1 :]], 1) for j in flips]
    else:
        eye = torch.eye(model.num_classes, device=c.device)
        conditions = [c] + [eye[j].expand_as(c) for j in range(min(model.num_classes, 10))]
    columns = [x] + [model.decode(z, condition) for condition in conditions]  # each (B, C, H, W)
    return torch.stack(columns, 1).flatten(0, 1), len(columns)


def plane_grids(model: Any, codes: torch.Tensor, labels: torch.Tensor, epoch: int) -> Grids:
    """2-D codes: the validation codes over prior samples, and the images decoded on a grid over the prior."""
    from genzoo.latent.figures import latent_scatter

    labels = labels if labels.dim() == 1 else torch.zeros(len(labels), dtype=torch.long)  # attribute sets: one colour
    prior = model.prior_sample(5000, torch.Generator().manual_seed(0)).cpu()
    title = f"validation codes over samples of the prior (epoch {epoch})"
    grids = {"latent_scatter": (latent_scatter(codes, labels, prior, title)[None], 1)}
    if not model.conditional:  # a conditional decoder needs a condition per point; the grid shows style only
        grids["manifold"] = (ops.latent_plane(model, MANIFOLD_STEPS)[0], MANIFOLD_STEPS)
    return grids
