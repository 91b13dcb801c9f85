"""Every loss in the zoo, as a pure function on tensors.

Models import these instead of writing their own, so that "the VAE's reconstruction term" and "the
AAE's reconstruction term" are the same code, and a comparison differs only in how terms are combined.
Conventions: networks emit logits; images are in [0, 1]; per-image sums are averaged over the batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
import torch.nn.functional as F

ReconstructionKind = Literal["bce", "mse", "l1"]


def reconstruction_loss(logits: torch.Tensor, target: torch.Tensor, kind: ReconstructionKind = "bce") -> torch.Tensor:
    """-log p(x|z) summed over pixels, averaged over images.

    ``bce``: Bernoulli likelihood (binary cross-entropy on logits), the classic choice for MNIST.
    ``mse``: Gaussian likelihood with unit variance up to constants (squared error of sigmoid(logits)).
    ``l1``: Laplace likelihood (absolute error), as in AEGAN's image reconstruction.
    """
    if kind == "bce":
        per_pixel = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    elif kind == "mse":
        per_pixel = (torch.sigmoid(logits) - target).pow(2)
    elif kind == "l1":
        per_pixel = (torch.sigmoid(logits) - target).abs()
    else:
        raise ValueError(f"unknown reconstruction loss {kind!r}; use bce, mse or l1")
    return per_pixel.flatten(1).sum(1).mean()


def kl_to_standard_normal(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL( N(mu, exp(logvar)) || N(0, I) ), summed over latent dimensions, averaged over the batch."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(1).mean()


def kl_between_normals(
    mu: torch.Tensor, logvar: torch.Tensor, prior_mu: torch.Tensor, prior_logvar: torch.Tensor
) -> torch.Tensor:
    """KL( N(mu, exp(logvar)) || N(prior_mu, exp(prior_logvar)) ), both diagonal, summed over latent
    dimensions, averaged over the batch; ``kl_to_standard_normal`` is the case prior_mu = prior_logvar = 0."""
    ratio = (logvar - prior_logvar).exp() + (mu - prior_mu).pow(2) / prior_logvar.exp()
    return 0.5 * (ratio - 1.0 - logvar + prior_logvar).sum(1).mean()


def mean_squared_error(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Mean over all elements of (a - b)^2: the reconstruction metric reported by every model."""
    return F.mse_loss(a, b)


def discriminator_accuracy(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Fraction of real (logit > 0) and fake (logit < 0) inputs a discriminator gets right; 0.5 is chance."""
    right = (real_logits > 0).float().sum() + (fake_logits < 0).float().sum()
    return right / (real_logits.numel() + fake_logits.numel())


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """The discriminator's side of the GAN game: -log D(real) - log(1 - D(fake))."""
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """Non-saturating generator loss -log D(fake) (Goodfellow et al. 2014): strong gradients early on."""
    return F.softplus(-fake_logits).mean()


def r1_penalty(real_logits: torch.Tensor, real_inputs: torch.Tensor) -> torch.Tensor:
    """R1 gradient penalty (Mescheder et al. 2018): E ||d D(x) / d x||^2 on real data.

    ``real_inputs`` must have ``requires_grad=True`` and have produced ``real_logits``.
    Multiply by gamma / 2 at the call site.
    """
    (grad,) = torch.autograd.grad(real_logits.sum(), real_inputs, create_graph=True)
    return grad.pow(2).flatten(1).sum(1).mean()


def mmd(a: torch.Tensor, b: torch.Tensor, scale: float | Sequence[float]) -> torch.Tensor:
    """Unbiased squared maximum mean discrepancy between samples a (N, D) and b (M, D) (Gretton et al. 2012).

    The kernel is the inverse multiquadratic k(u, v) = C / (C + ||u - v||^2) with C = ``scale``, the WAE
    paper's choice: its tails are heavy, so it still pulls codes that sit far from the prior's mass.
    Several scales sum their kernels (still a kernel), as the official WAE code does: a narrow C sees
    the fine structure of the codes, a wide one the far-off codes, and no single C has to fit both.
    MMD^2 = E k(a, a') + E k(b, b') - 2 E k(a, b), the first two over distinct pairs only (unbiased).
    """
    scales = [scale] if isinstance(scale, (int, float)) else list(scale)

    def mean_kernel(u: torch.Tensor, v: torch.Tensor, distinct: bool) -> torch.Tensor:
        squared_distances = (u[:, None] - v[None]).pow(2).sum(-1)  # (N, M); cdist's sqrt has no gradient at 0
        k = sum(c / (c + squared_distances) for c in scales)
        if not distinct:
            return k.mean()
        n = len(u)
        return (k.sum() - k.diagonal().sum()) / (n * (n - 1))

    return mean_kernel(a, a, True) + mean_kernel(b, b, True) - 2 * mean_kernel(a, b, False)
