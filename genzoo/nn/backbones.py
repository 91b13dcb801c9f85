"""Backbone families: the encoders, decoders and discriminators that every model builds from.

A family is registered under a short name (``mlp``, ``conv``) and constructed with ``hidden_dims``,
the width of each level. It then builds networks in three roles:

- ``encoder(image_shape, out_dim, cond_dim=0)``: image (B, C, H, W) [+ condition (B, K)] -> (B, out_dim)
- ``decoder(in_dim, image_shape)``: code (B, in_dim) -> image logits (B, C, H, W)
- ``discriminator(image_shape, cond_dim=0)``: image -> one logit per image (B,)

Because every model asks the same family for its networks, two models in a comparison differ only in
their objective, never in their architecture.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from einops import rearrange
from torch import nn

from genzoo.errors import GenzooError
from genzoo.nn.blocks import broadcast_condition, down_block, halvings, mlp, up_block
from genzoo.registry import BACKBONES

ImageShape = tuple[int, int, int]


class ConditionalMLP(nn.Module):
    """An MLP on flattened images, optionally with a condition vector appended to its input."""

    def __init__(self, image_shape: ImageShape, hidden_dims: Sequence[int], out_dim: int, cond_dim: int = 0):
        super().__init__()
        self.net = mlp(math.prod(image_shape) + cond_dim, hidden_dims, out_dim)

    def forward(self, x: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        h = rearrange(x, "b c h w -> b (c h w)")
        if c is not None:
            h = torch.cat([h, c.to(h.dtype)], dim=1)
        return self.net(h)


class MLPDecoder(nn.Module):
    def __init__(self, in_dim: int, hidden_dims: Sequence[int], image_shape: ImageShape):
        super().__init__()
        self.image_shape = tuple(image_shape)
        # The decoder mirrors the encoder: widest layer next to the image.
        self.net = mlp(in_dim, list(reversed(hidden_dims)), math.prod(image_shape))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        c, h, w = self.image_shape
        return rearrange(self.net(z), "b (c h w) -> b c h w", c=c, h=h, w=w)  # logits


class MLPBackbone:
    """Fully connected networks on flattened images (the classic MNIST setting of the papers)."""

    default_hidden_dims = (512,)

    def __init__(self, hidden_dims: Sequence[int] | None = None) -> None:
        self.hidden_dims = list(hidden_dims or self.default_hidden_dims)

    def encoder(self, image_shape: ImageShape, out_dim: int, cond_dim: int = 0) -> nn.Module:
        return ConditionalMLP(image_shape, self.hidden_dims, out_dim, cond_dim)

    def decoder(self, in_dim: int, image_shape: ImageShape) -> nn.Module:
        return MLPDecoder(in_dim, self.hidden_dims, image_shape)

    def discriminator(self, image_shape: ImageShape, cond_dim: int = 0) -> nn.Module:
        return _Squeeze(ConditionalMLP(image_shape, self.hidden_dims, 1, cond_dim))


def conv_levels(size: int) -> int:
    """How many stride-2 halvings take an image side down to at most 8 (28->7, 32->8, 64->8)."""
    return halvings(size, floor=8)


class ConvEncoder(nn.Module):
    def __init__(self, image_shape: ImageShape, widths: Sequence[int], out_dim: int, cond_dim: int = 0):
        super().__init__()
        c, h, w = image_shape
        if h % 2 ** len(widths) or w % 2 ** len(widths):
            possible = min(halvings(h), halvings(w))
            fix = (
                f"give --model.hidden_dims with at most {possible} level(s), or an image size divisible by "
                f"{2 ** len(widths)} (--data.size)"
                if possible
                else f"use an even image size, e.g. --data.size {h + 1 if h % 2 else h}"
            )
            raise GenzooError(f"conv backbone: {h}x{w} images cannot be halved {len(widths)} times; {fix}")
        chans = [c + cond_dim, *widths]
        self.features = nn.Sequential(*(down_block(a, b) for a, b in zip(chans[:-1], chans[1:])))
        side_h, side_w = h // 2 ** len(widths), w // 2 ** len(widths)
        self.head = nn.Linear(widths[-1] * side_h * side_w, out_dim)

    def forward(self, x: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        if c is not None:
            x = broadcast_condition(x, c)  # (B, C+K, H, W)
        return self.head(self.features(x).flatten(1))  # (B, out_dim)


class ConvDecoder(nn.Module):
    def __init__(self, in_dim: int, widths: Sequence[int], image_shape: ImageShape):
        super().__init__()
        c, h, w = image_shape
        widths = list(reversed(widths))  # widest at the lowest resolution
        self.start = (widths[0], h // 2 ** len(widths), w // 2 ** len(widths))
        self.project = nn.Sequential(nn.Linear(in_dim, math.prod(self.start)), nn.ReLU())
        blocks = [up_block(a, b) for a, b in zip(widths[:-1], widths[1:])]
        # The last upsampling emits logits directly: no norm or activation after it.
        blocks.append(nn.ConvTranspose2d(widths[-1], c, 4, stride=2, padding=1))
        self.body = nn.Sequential(*blocks)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        c0, h0, w0 = self.start
        h = rearrange(self.project(z), "b (c h w) -> b c h w", c=c0, h=h0, w=w0)
        return self.body(h)  # (B, C, H, W) logits


class ConvBackbone:
    """DCGAN-style convolutions: 4x4 stride-2 convs down, transposed convs up.

    ``hidden_dims`` are the channel widths from the image inward, one per halving; by default
    [32, 64] for 28x28 and 32x32, and [64, 128, 256] for 64x64.
    """

    def __init__(self, hidden_dims: Sequence[int] | None = None) -> None:
        self.hidden_dims = list(hidden_dims) if hidden_dims else None

    def widths(self, image_shape: ImageShape) -> list[int]:
        if self.hidden_dims:
            return self.hidden_dims
        levels = conv_levels(min(image_shape[1:]))
        base = 32 if min(image_shape[1:]) <= 32 else 64
        return [base * 2**i for i in range(max(levels, 1))]

    def encoder(self, image_shape: ImageShape, out_dim: int, cond_dim: int = 0) -> nn.Module:
        return ConvEncoder(image_shape, self.widths(image_shape), out_dim, cond_dim)

    def decoder(self, in_dim: int, image_shape: ImageShape) -> nn.Module:
        return ConvDecoder(in_dim, self.widths(image_shape), image_shape)

    def discriminator(self, image_shape: ImageShape, cond_dim: int = 0) -> nn.Module:
        return _Squeeze(ConvEncoder(image_shape, self.widths(image_shape), 1, cond_dim))


class _Squeeze(nn.Module):
    """Wraps a network with one output unit so it returns shape (B,) instead of (B, 1)."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        return self.net(x, c).squeeze(1)


def build_backbone(name: str, hidden_dims: Sequence[int] | None = None):
    """The backbone family registered as ``name``, configured with ``hidden_dims``."""
    return BACKBONES.get(name)(hidden_dims)
