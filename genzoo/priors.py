"""Latent priors p(z): the distributions an adversarial autoencoder shapes its codes into.

The AAE (Makhzani et al. 2015) never needs the density of its prior, only samples: its discriminator
learns to tell prior samples from codes. So any distribution we can sample works, and the paper's
point is to show shapes a VAE could not use because their KL term has no closed form:

- ``gaussian``: N(0, scale^2 I). ``scale=5`` is the classic PyTorch MNIST tutorial's choice.
- ``uniform``: U[-scale, scale] in every dimension.
- ``mixture``: a mixture of 10 Gaussians in 2-D, each stretched along a ray from the origin, placed
  like the petals of a flower (the paper's Figure 4).
- ``swiss_roll``: a spiral in 2-D (the paper's Figure 6 in its semi-supervised setting).

The two 2-D shapes are applied to each pair of latent dimensions, so they need an even ``latent_dim``.
Each sampler draws on the generator's device (the CPU for a seeded ``torch.Generator()``), so a seeded
draw is the same on every machine; the caller moves it to the model's device.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Literal

import torch

from genzoo.errors import GenzooError
from genzoo.registry import Registry

PriorName = Literal["gaussian", "uniform", "mixture", "swiss_roll"]
Sampler = Callable[[int, int, float, "torch.Generator | None"], torch.Tensor]

NUM_MIXTURE_COMPONENTS = 10
MIXTURE_RADIUS = 1.4  # distance of each component's mean from the origin
MIXTURE_STD_RADIAL, MIXTURE_STD_TANGENTIAL = 0.5, 0.05  # each petal is long and thin
SWISS_ROLL_RADIUS, SWISS_ROLL_TURNS = 3.0, 2.0

PRIORS: Registry[Sampler] = Registry("prior")


def _device(generator: torch.Generator | None) -> torch.device:
    return generator.device if generator is not None else torch.device("cpu")


@PRIORS.register("gaussian")
def gaussian(n: int, dim: int, scale: float = 1.0, generator: torch.Generator | None = None) -> torch.Tensor:
    """(n, dim) draws from N(0, scale^2 I)."""
    return scale * torch.randn(n, dim, generator=generator, device=_device(generator))


@PRIORS.register("uniform")
def uniform(n: int, dim: int, scale: float = 1.0, generator: torch.Generator | None = None) -> torch.Tensor:
    """(n, dim) draws from the cube [-scale, scale]^dim."""
    return scale * (2 * torch.rand(n, dim, generator=generator, device=_device(generator)) - 1)


def _pairs(n: int, dim: int) -> int:
    if dim % 2:
        raise GenzooError(f"this prior is 2-D and fills latent dimensions in pairs; give an even latent_dim, not {dim}")
    return n * dim // 2


@PRIORS.register("mixture")
def gaussian_mixture(n: int, dim: int, scale: float = 1.0, generator: torch.Generator | None = None) -> torch.Tensor:
    """(n, dim) draws from 10 Gaussian petals around the origin, one mixture per pair of dimensions.

    Components are equally likely and drawn independently for every pair.
    """
    m = _pairs(n, dim)
    k = torch.randint(NUM_MIXTURE_COMPONENTS, (m,), generator=generator, device=_device(generator))
    return _petals(k, scale, generator).view(n, dim)


def mixture_of_labels(labels: torch.Tensor, dim: int, scale: float = 1.0,
                      generator: torch.Generator | None = None) -> torch.Tensor:  # fmt: skip
    """(n, dim) draws from the mixture with the petal of each row chosen by its label (n,) in 0-9, in every
    pair of dimensions: the prior of the AAE with label information (its paper's Figure 4)."""
    if labels.numel() and not 0 <= int(labels.min()) <= int(labels.max()) < NUM_MIXTURE_COMPONENTS:
        raise GenzooError(f"the mixture prior has petals 0-{NUM_MIXTURE_COMPONENTS - 1}; a label is outside them")
    pairs = _pairs(1, dim)  # petals per row, one per pair of dimensions (an odd dim raises)
    k = labels.to(_device(generator)).long().repeat_interleave(pairs)  # (n * pairs,)
    return _petals(k, scale, generator).view(len(labels), dim)


def nearest_petal(z: torch.Tensor) -> torch.Tensor:
    """The mixture petal 0-9 nearest each 2-D point (N, 2), by angle (petal k points at 2 pi k / 10)."""
    angle = torch.atan2(z[:, 1], z[:, 0]) % (2 * math.pi)
    return torch.round(angle / (2 * math.pi / NUM_MIXTURE_COMPONENTS)).long() % NUM_MIXTURE_COMPONENTS


def _petals(k: torch.Tensor, scale: float, generator: torch.Generator | None) -> torch.Tensor:
    """One 2-D point from petal k[i] for every i: (m, 2)."""
    m, dev = len(k), k.device
    angle = 2 * math.pi * k / NUM_MIXTURE_COMPONENTS  # (m,)
    radial = MIXTURE_RADIUS + MIXTURE_STD_RADIAL * torch.randn(m, generator=generator, device=dev)
    tangential = MIXTURE_STD_TANGENTIAL * torch.randn(m, generator=generator, device=dev)
    # Rotate the petal (radial, tangential) by its angle.
    x = radial * torch.cos(angle) - tangential * torch.sin(angle)
    y = radial * torch.sin(angle) + tangential * torch.cos(angle)
    return scale * torch.stack([x, y], 1)


@PRIORS.register("swiss_roll")
def swiss_roll(n: int, dim: int, scale: float = 1.0, generator: torch.Generator | None = None) -> torch.Tensor:
    """(n, dim) draws from a 2-D spiral with two turns, one spiral per pair of dimensions.

    Drawing t ~ U(0, 1) and using sqrt(t) for both radius and angle spreads points evenly along the arm.
    """
    m = _pairs(n, dim)
    t = torch.rand(m, generator=generator, device=_device(generator)).sqrt()
    radius, angle = SWISS_ROLL_RADIUS * t, 2 * math.pi * SWISS_ROLL_TURNS * t
    return scale * torch.stack([radius * torch.cos(angle), radius * torch.sin(angle)], 1).view(n, dim)


def check_prior(name: str, dim: int) -> None:
    """Raise a GenzooError if ``name`` is unknown or cannot fill ``dim`` latent dimensions."""
    PRIORS.get(name)(1, dim, 1.0, None)  # the samplers themselves check the dimension


def sample_prior(
    name: str, n: int, dim: int, scale: float = 1.0, generator: torch.Generator | None = None
) -> torch.Tensor:
    """n codes (n, dim) from the prior called ``name`` (see ``PRIORS``)."""
    return PRIORS.get(name)(n, dim, scale, generator)
