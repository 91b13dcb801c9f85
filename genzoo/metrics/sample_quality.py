"""FID and KID between real and generated images, computed by torchmetrics on features we extract once.

Features come from a pluggable extractor (``genzoo.metrics.features``). They are extracted once per set
of images and handed to torchmetrics' ``FrechetInceptionDistance`` and ``KernelInceptionDistance``
through a pass-through feature module (torchmetrics accepts any ``nn.Module`` with a ``num_features``
attribute), so FID, KID, precision/recall and coverage all see the very same features and no network
runs twice.

- FID (Heusel et al. 2017): Frechet distance between Gaussians fitted to the two feature sets; 0 for
  identical distributions, biased upwards for small sample counts (compare numbers at equal N only).
- KID (Binkowski et al. 2018): unbiased MMD^2 with the cubic polynomial kernel, mean and std over
  random subsets; unbiased, so usable at small N. Subsets are drawn from a seeded generator.
"""

from __future__ import annotations

import warnings

import torch
from torch import nn
from torchmetrics.image.fid import FrechetInceptionDistance
from torchmetrics.image.kid import KernelInceptionDistance


class PrecomputedFeatures(nn.Identity):
    """A torchmetrics "feature extractor" whose inputs already are features (N, num_features)."""

    def __init__(self, num_features: int) -> None:
        super().__init__()
        self.num_features = num_features


def frechet_distance(real: torch.Tensor, fake: torch.Tensor) -> float:
    """FID between two feature sets (N, F) and (M, F)."""
    fid = FrechetInceptionDistance(feature=PrecomputedFeatures(real.shape[1]))
    fid.update(real.double(), real=True)
    fid.update(fake.double(), real=False)
    return fid.compute().item()


def kernel_distance(
    real: torch.Tensor, fake: torch.Tensor, subsets: int = 100, subset_size: int = 1000, seed: int = 0
) -> tuple[float, float]:
    """KID (mean, std over ``subsets`` random subsets of ``subset_size``, capped at the smaller set)."""
    size = min(subset_size, len(real), len(fake))
    with warnings.catch_warnings():  # torchmetrics warns that KID keeps every feature: it is what we want
        warnings.simplefilter("ignore", UserWarning)
        kid = KernelInceptionDistance(feature=PrecomputedFeatures(real.shape[1]), subsets=subsets, subset_size=size)
    # float32: the kernel matrices dominate the cost, and float64 gives the same KID (docs/metrics.md).
    kid.update(real.float(), real=True)
    kid.update(fake.float(), real=False)
    with torch.random.fork_rng(devices=[]):  # torchmetrics draws subsets from the global generator
        torch.manual_seed(seed)
        mean, std = kid.compute()
    return mean.item(), std.item()


def fid_kid(
    real: torch.Tensor, fake: torch.Tensor, kid_subsets: int = 100, kid_subset_size: int = 1000, seed: int = 0
) -> dict[str, float]:
    """FID and KID of generated features ``fake`` against reference features ``real``."""
    kid_mean, kid_std = kernel_distance(real, fake, kid_subsets, kid_subset_size, seed)
    return {"fid": frechet_distance(real, fake), "kid_mean": kid_mean, "kid_std": kid_std}
