"""Latent operations on tensors, for every model through the base API (``encode``, ``decode``,
``prior_sample``): paths between codes, walks along directions, principal directions, the 2-D plane.

Everything here takes and returns tensors; choosing images, reading files and drawing live in
``genzoo.latent.explorer`` and ``genzoo.latent.figures``. Conditional models (the CVAE, the supervised
AAE) get their condition as one vector per image (one-hot for a class, 0/1 per attribute), so that an
interpolation can walk the condition together with the code, and a user can pick any condition.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F

from genzoo.errors import GenzooError
from genzoo.nn.blocks import label_vectors

Mode = Literal["lerp", "slerp"]


def require_encoder(model: torch.nn.Module, what: str) -> None:
    """One clear line for models without an encoder (the GAN), saying what they can do instead."""
    if not getattr(model, "has_encoder", True):
        raise GenzooError(
            f"{type(model).__name__} has no encoder, so it cannot {what}; it can interpolate and traverse between "
            "samples of its prior (genzoo interpolate / traverse without --from)"
        )


def condition_vectors(model: torch.nn.Module, y: torch.Tensor | None, n: int) -> torch.Tensor | None:
    """Labels -> condition vectors (n, K) for a conditional model (None for the others).

    Class indices (n,) become one-hot rows, attribute vectors (n, K) pass as floats; a single label is
    repeated n times. Both conditional models accept such vectors in ``encode`` and ``decode``.
    """
    if not getattr(model, "conditional", False):
        return None
    if y is None:
        raise GenzooError(f"{type(model).__name__} is conditional: give the condition (--cond, e.g. digit=7)")
    y = torch.as_tensor(y, device=model.device)
    if y.dim() == 0 or (y.dim() == 1 and getattr(model, "multi_label", False)):
        y = y[None]  # one label for all: a class index, or one attribute vector
    y = label_vectors(y, model.num_classes).reshape(-1, model.num_classes)
    return y.expand(n, -1) if len(y) == 1 else y


def steps_between(steps: int) -> torch.Tensor:
    """``steps`` evenly spaced t in [0, 1], both ends included; fewer than 2 cannot reach both images."""
    if steps < 2:
        raise GenzooError(f"--steps {steps}: a path needs at least 2 steps (its two ends)")
    return torch.linspace(0.0, 1.0, steps)


def slerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Spherical interpolation (Shoemake 1985; White, "Sampling Generative Networks", 2016).

    a, b (B, D), t (S,) -> (B, S, D). The straight line between two Gaussian samples passes through codes
    of unusually small norm, which the decoder has rarely seen; the great circle keeps the norm in
    between. Where a and b are (almost) parallel the circle is the line, so lerp is used there.
    """
    t = t.to(a)[None, :, None]  # (1, S, 1)
    cos = F.cosine_similarity(a, b, dim=1).clamp(-1 + 1e-7, 1 - 1e-7)[:, None, None]  # (B, 1, 1)
    omega = torch.acos(cos)
    sin = torch.sin(omega)
    arc = (torch.sin((1 - t) * omega) * a[:, None] + torch.sin(t * omega) * b[:, None]) / sin
    line = torch.lerp(a[:, None], b[:, None], t)
    return torch.where(sin > 1e-4, arc, line)


def along(z_a: torch.Tensor, z_b: torch.Tensor, t: torch.Tensor, mode: Mode = "lerp") -> torch.Tensor:
    """Codes at positions t (S,) of the way from each z_a[i] to z_b[i] (0: z_a, 1: z_b): (B, S, D)."""
    t = t.to(z_a)
    if mode == "slerp":
        return slerp(z_a, z_b, t)
    if mode != "lerp":
        raise GenzooError(f"--mode {mode!r}: choose lerp or slerp")
    return torch.lerp(z_a[:, None], z_b[:, None], t[None, :, None])


def path(z_a: torch.Tensor, z_b: torch.Tensor, steps: int, mode: Mode = "lerp") -> torch.Tensor:
    """Codes on the way from each z_a[i] to z_b[i], both ends included: (B, D) twice -> (B, steps, D)."""
    return along(z_a, z_b, steps_between(steps), mode)


@torch.no_grad()
def decode_grid(model: torch.nn.Module, z: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
    """Decode codes (B, S, D) with conditions (B, S, K) or None -> images (B, S, C, H, W)."""
    b, s = z.shape[:2]
    images = model.decode(z.flatten(0, 1), None if c is None else c.flatten(0, 1))
    return images.unflatten(0, (b, s))


@torch.no_grad()
def interpolate(
    model: torch.nn.Module,
    x_a: torch.Tensor,
    x_b: torch.Tensor,
    steps: int = 8,
    mode: Mode = "lerp",
    y_a: torch.Tensor | None = None,
    y_b: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Encode two batches of images, walk between their codes, decode: (images (B, S, C, H, W), codes (B, S, D)).

    A conditional model walks its condition from y_a to y_b along (linearly) with the code.
    """
    require_encoder(model, "interpolate between real images")
    c_a, c_b = condition_vectors(model, y_a, len(x_a)), condition_vectors(model, y_b, len(x_b))
    z = path(model.encode(x_a, c_a), model.encode(x_b, c_b), steps, mode)
    c = None if c_a is None else path(c_a, c_b, steps, "lerp")
    return decode_grid(model, z, c), z


@torch.no_grad()
def interpolate_mirror(
    model: torch.nn.Module, x: torch.Tensor, steps: int = 8, mode: Mode = "lerp", y: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """From each image to its horizontal mirror image (AEGAN's "the character turns its head")."""
    return interpolate(model, x, x.flip(-1), steps, mode, y, y)


@torch.no_grad()
def interpolate_prior(
    model: torch.nn.Module,
    n: int,
    steps: int = 8,
    mode: Mode = "lerp",
    generator: torch.Generator | None = None,
    y: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Between n pairs of prior samples: the one interpolation every model can do, the GAN included."""
    z_a, z_b = model.prior_sample(n, generator), model.prior_sample(n, generator)
    z = path(z_a, z_b, steps, mode)
    c = condition_vectors(model, y, n)
    return decode_grid(model, z, None if c is None else c[:, None].expand(-1, steps, -1)), z


@dataclass(frozen=True)
class Direction:
    """A direction in code space and the length of one unit along it.

    ``vector`` (D,) has unit norm; ``scale`` is how far one unit of a traversal's range moves a code:
    one standard deviation of the codes along the vector (a dimension, a principal component), or the
    whole difference of the two group means (an attribute), so that t = 1 applies the attribute once.
    """

    name: str
    vector: torch.Tensor
    scale: float
    unit: str  #: what one unit of the range is, for axis labels
    group_sizes: tuple[int, int] | None = None  #: codes averaged on each side of a mean difference

    @property
    def step(self) -> torch.Tensor:
        return self.vector * self.scale


def dimension_direction(codes: torch.Tensor, dim: int) -> Direction:
    """Axis ``dim`` of the code space, in standard deviations of the codes along it."""
    latent_dim = codes.shape[1]
    if not 0 <= dim < latent_dim:
        raise GenzooError(f"--dim {dim}: the codes have {latent_dim} dimensions, 0 to {latent_dim - 1}")
    vector = torch.zeros(latent_dim, device=codes.device)
    vector[dim] = 1.0
    return Direction(f"dimension {dim}", vector, float(codes[:, dim].std().clamp_min(1e-6)), "sd of the codes")


def principal_directions(codes: torch.Tensor, k: int | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """PCA of codes (N, D): (mean (D,), components (k, D) with unit rows, sd along each (k,)), largest first.

    Each component's sign is fixed so that its largest entry is positive: the same model gives the same
    pictures every time (an SVD may return either sign).
    """
    mean = codes.mean(0)
    _, s, vh = torch.linalg.svd(codes - mean, full_matrices=False)
    sign = torch.sign(vh.gather(1, vh.abs().argmax(1, keepdim=True)))
    vh = vh * sign
    sd = s / max(len(codes) - 1, 1) ** 0.5
    k = len(s) if k is None else k
    return mean, vh[:k], sd[:k]


def pca_direction(codes: torch.Tensor, index: int) -> Direction:
    """The principal component ``index`` (0: the largest) of the codes, in standard deviations along it."""
    available = min(codes.shape[1], len(codes) - 1)
    if not 0 <= index < available:
        raise GenzooError(f"--direction pca:{index}: there are {available} principal components, pca:0 to "
                          f"pca:{available - 1}")  # fmt: skip
    _, components, sd = principal_directions(codes, index + 1)
    return Direction(f"principal component {index}", components[index], float(sd[index].clamp_min(1e-6)), "sd")


def mean_difference_direction(name: str, target: torch.Tensor, source: torch.Tensor) -> Direction:
    """ALAE's (and Larsen et al.'s) attribute direction: mean code of one group minus that of the other."""
    difference = target.mean(0) - source.mean(0)
    norm = float(difference.norm())
    if norm == 0:
        raise GenzooError(f"the two groups of '{name}' have the same mean code: no direction to walk")
    return Direction(name, difference / norm, norm, "mean differences", (len(target), len(source)))


def group_direction(
    model: torch.nn.Module,
    name: str,
    images: torch.Tensor,
    labels: torch.Tensor,
    target: torch.Tensor,
    source: torch.Tensor,
    max_images: int,
) -> Direction:
    """The attribute direction between two groups of labelled images, given as (N,) masks: the mean code of
    the first ``max_images`` of ``target`` minus that of the first ``max_images`` of ``source``."""
    groups = []
    for mask in (target, source):
        where = mask.nonzero().squeeze(1)[:max_images]
        if len(where) == 0:
            raise GenzooError(f"no labelled training image on one side of {name}: cannot measure a direction")
        groups.append(model.encode_all(images[where], labels[where]).to(model.device))
    return mean_difference_direction(name, *groups)


@torch.no_grad()
def traverse(
    model: torch.nn.Module,
    z0: torch.Tensor,
    direction: Direction,
    values: torch.Tensor,
    c: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """decode(z0[i] + t * direction) for each t in ``values``: (images (B, S, C, H, W), codes (B, S, D))."""
    z = z0[:, None] + values.to(z0)[None, :, None] * direction.step.to(z0)  # (B, S, D)
    return decode_grid(model, z, None if c is None else c[:, None].expand(-1, len(values), -1)), z


@torch.no_grad()
def condition_walk(
    model: torch.nn.Module, x: torch.Tensor, c_a: torch.Tensor, c_b: torch.Tensor, t: torch.Tensor
) -> torch.Tensor:
    """A conditional model's edit: each image x[i] encoded with its condition c_a[i], and that one code
    decoded with the condition at positions t (S,) of the way to c_b[i]: images (B, S, C, H, W)."""
    z = model.encode(x, c_a)
    return decode_grid(model, z[:, None].expand(-1, len(t), -1), along(c_a, c_b, t))


def prior_box(model: torch.nn.Module, quantile: float = 0.01, n: int = 5000) -> tuple[torch.Tensor, torch.Tensor]:
    """(low, high) of each code coordinate: the central 1 - 2 * quantile of the prior, from n fixed samples."""
    prior = model.prior_sample(n, torch.Generator().manual_seed(0)).float()
    return prior.quantile(quantile, dim=0), prior.quantile(1 - quantile, dim=0)


def require_2d(model: torch.nn.Module, what: str) -> None:
    latent_dim = int(model.latent_dim)
    if latent_dim != 2:
        raise GenzooError(
            f"{what} needs 2-D codes but {type(model).__name__} has {latent_dim}-D codes; ask for a projection "
            "(--projection pca) or train with --model.latent_dim 2"
        )


@torch.no_grad()
def latent_plane(
    model: torch.nn.Module, steps: int = 20, c: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
    """2-D codes only: decode a steps x steps grid over the prior's range.

    Returns (images (steps * steps, C, H, W), codes (steps * steps, 2), (low, high)); row-major with the
    second coordinate decreasing down the rows, so the picture has the orientation of a scatter plot.
    """
    from genzoo.viz import latent_grid

    require_2d(model, "the latent plane")
    low, high = prior_box(model)
    z = latent_grid(low, high, steps).to(model.device)
    cond = None if c is None else c[:1].expand(len(z), -1)
    return model.decode(z, cond), z, (low, high)


def project(codes: torch.Tensor, reference: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Codes (N, D) -> their coordinates (N, 2) on the top two principal components of ``reference``
    (default: the codes themselves), and the share of the variance those two components hold."""
    reference = codes if reference is None else reference
    mean, components, sd = principal_directions(reference)
    explained = (sd[:2] ** 2).sum() / (sd**2).sum().clamp_min(1e-12)
    return (codes - mean) @ components[:2].T, explained
