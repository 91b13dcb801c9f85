"""Small building blocks shared by every backbone."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn


def mlp(in_dim: int, hidden_dims: Sequence[int], out_dim: int, slope: float = 0.2) -> nn.Sequential:
    """Linear layers with LeakyReLU between them and none after the last (it emits logits/codes)."""
    layers: list[nn.Module] = []
    dims = [in_dim, *hidden_dims]
    for a, b in zip(dims[:-1], dims[1:]):
        layers += [nn.Linear(a, b), nn.LeakyReLU(slope)]
    layers.append(nn.Linear(dims[-1], out_dim))
    return nn.Sequential(*layers)


def spectrally_normalised(net: nn.Module) -> nn.Module:
    """``net`` with spectral normalisation (Miyato et al. 2018) on every linear and conv layer, in place.

    Each weight is divided by its largest singular value (one power iteration per forward pass), so no
    layer can stretch its input by more than 1: the discriminator stays Lipschitz and its gradients to the
    generator stay bounded however confident it gets.
    """
    for module in list(net.modules()):
        if isinstance(module, (nn.Linear, nn.Conv2d)):
            nn.utils.parametrizations.spectral_norm(module)
    return net


def down_block(c_in: int, c_out: int, slope: float = 0.2) -> nn.Sequential:
    """Halve the resolution: 4x4 conv with stride 2, as in DCGAN's discriminator."""
    return nn.Sequential(nn.Conv2d(c_in, c_out, 4, stride=2, padding=1), nn.LeakyReLU(slope))


def up_block(c_in: int, c_out: int) -> nn.Sequential:
    """Double the resolution: 4x4 transposed conv with stride 2, batch norm and ReLU (DCGAN's generator)."""
    return nn.Sequential(
        nn.ConvTranspose2d(c_in, c_out, 4, stride=2, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU()
    )


def broadcast_condition(x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """Append a condition vector (B, K) to an image (B, C, H, W) as K constant channels."""
    b, _, h, w = x.shape
    return torch.cat([x, c[:, :, None, None].expand(b, c.shape[1], h, w).to(x.dtype)], dim=1)


def label_vectors(y: torch.Tensor, num_classes: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Labels -> the vectors (B, num_classes) a conditional network takes: class indices (B,) one-hot,
    attribute vectors (B, num_classes) as they are."""
    if y.dim() == 2:
        return y.to(dtype)
    return F.one_hot(y.long(), num_classes).to(dtype)


def halvings(side: int, floor: int = 1) -> int:
    """How many exact halvings take ``side`` down to at most ``floor`` (stopping at an odd side)."""
    count = 0
    while side > floor and side % 2 == 0:
        side //= 2
        count += 1
    return count
