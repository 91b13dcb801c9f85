"""Improved precision and recall (Kynkaanniemi, Karras, Laine, Lehtinen & Aila, NeurIPS 2019).

FID mixes two failures into one number: samples that look wrong, and real variety the model never
produces. This metric separates them. Each set of features is turned into a manifold estimate: the
union of balls around its points, each ball reaching to the point's k-th nearest neighbour in the same
set. Then

- precision = fraction of generated samples inside the real manifold (are the samples realistic?),
- recall    = fraction of real samples inside the generated manifold (is the variety covered?).

Distances are Euclidean in the extractor's feature space, computed in chunks so memory stays bounded.
"""

from __future__ import annotations

import torch

CHUNK = 2048  # rows of the distance matrix computed at once: 2048 x 10,000 floats = 80 MB


def knn_radii(features: torch.Tensor, k: int) -> torch.Tensor:
    """Distance from each point (N, F) to its k-th nearest neighbour within the same set (N,)."""
    radii = []
    for start in range(0, len(features), CHUNK):
        d = torch.cdist(features[start : start + CHUNK], features)  # (chunk, N)
        radii.append(d.kthvalue(k + 1, dim=1).values)  # k + 1: the point itself is at distance 0
    return torch.cat(radii)


def inside_manifold(queries: torch.Tensor, points: torch.Tensor, radii: torch.Tensor) -> torch.Tensor:
    """For each query (Q, F): is it within radii[i] of some points[i]? -> (Q,) bool."""
    inside = []
    for start in range(0, len(queries), CHUNK):
        d = torch.cdist(queries[start : start + CHUNK], points)  # (chunk, N)
        inside.append((d <= radii[None, :]).any(dim=1))
    return torch.cat(inside)


def precision_recall(
    real: torch.Tensor, fake: torch.Tensor, k: int = 3, real_radii: torch.Tensor | None = None
) -> dict[str, float]:
    """Precision and recall of generated features ``fake`` (M, F) against real features ``real`` (N, F).

    ``real_radii``: ``knn_radii(real, k)`` if already known (a benchmark reuses them for every model).
    """
    if min(len(real), len(fake)) <= k:
        raise ValueError(f"precision/recall with k={k} needs more than {k} samples in each set")
    real, fake = real.float(), fake.float()
    if real_radii is None:
        real_radii = knn_radii(real, k)
    precision = inside_manifold(fake, real, real_radii).float().mean().item()
    recall = inside_manifold(real, fake, knn_radii(fake, k)).float().mean().item()
    return {"precision": precision, "recall": recall}
