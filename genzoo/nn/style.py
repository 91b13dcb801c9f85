"""Style-based blocks: the mapping network, AdaIN, noise injection, and the StyleALAE generator and encoder.

StyleGAN (Karras et al. 2019) feeds the latent code to the generator not at its input but as a *style* at
every layer: a learned constant image is refined level by level, and after each convolution the
activations are instance-normalised and then scaled and shifted by an affine map of w (AdaIN). Per-pixel
Gaussian noise, scaled by a learned per-channel weight, supplies stochastic detail.

StyleALAE (Pidhorskyi et al. 2020) makes the encoder the mirror image: after each convolution it *reads*
the style out of the activations, as their per-channel mean and standard deviation, maps those
statistics to w-space with an affine layer, and instance-normalises the activations before going on.
The code of an image is the sum of the styles read at every layer (plus a dense reading of the
lowest-resolution map, which holds the layout), so it lives in the same space that the generator's
AdaIN layers take their styles from.

Resolution levels: ``widths`` lists channels per style level from the image inward, as the conv
backbone's ``hidden_dims`` do. L levels need the side to be divisible by 2^(L-1); the generator starts
from a constant at side / 2^(L-1) (28x28 with 3 levels starts at 7x7; 32 and 64 start at 4x4 with 4
and 5). With ``outer_level="plain"`` the styles stop at half resolution: G ends with a plain 4x4
stride-2 transposed convolution to the image and E starts with a 4x4 stride-2 convolution (DCGAN's
layers), which trains several times faster (docs/performance.md). Both networks run in channels-last
memory format, which makes the small-channel convolutions of CPU recipes faster to backpropagate.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from genzoo.errors import GenzooError
from genzoo.nn.blocks import halvings, mlp

SLOPE = 0.2  # LeakyReLU slope used throughout StyleGAN and ALAE
OuterLevel = Literal["style", "plain"]
MEMORY_FORMAT = torch.channels_last  # small-channel convolutions backpropagate several times faster on CPUs


def pixel_norm(z: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Scale each code to unit root-mean-square, so the mapping network sees codes of one norm."""
    return z * torch.rsqrt(z.pow(2).mean(dim=1, keepdim=True) + eps)


class MappingNetwork(nn.Module):
    """F: z -> w, an MLP of ``layers`` linear layers, all ``w_dim`` wide, on the pixel-normalised z."""

    def __init__(self, z_dim: int, w_dim: int, layers: int) -> None:
        super().__init__()
        self.net = mlp(z_dim, [w_dim] * (layers - 1), w_dim, SLOPE)
        # He initialisation keeps w at about unit scale through the layers. PyTorch's default (a third of
        # the variance per layer) leaves w nearly constant across z, so AdaIN styles barely vary and a
        # style-based G starts out ignoring w, and can collapse to a single digit.
        for layer in self.net:
            if isinstance(layer, nn.Linear):
                nn.init.kaiming_normal_(layer.weight, a=SLOPE, nonlinearity="leaky_relu")
                nn.init.zeros_(layer.bias)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(pixel_norm(z))  # (B, w_dim)


def style_levels(side: int, smallest: int = 4) -> int:
    """How many resolution levels a side has when halving down to ``smallest`` (or an odd side): 28->3, 64->5."""
    return 1 + halvings(side, floor=2 * smallest - 1)  # a side above 2 * smallest - 1 halves to >= smallest


def style_side(image_shape: tuple[int, int, int], outer_level: OuterLevel) -> tuple[int, int]:
    """(height, width) of the outermost style level: the image's, or half of it with a plain outer level."""
    _, h, w = image_shape
    if outer_level == "style":
        return h, w
    if h % 2 or w % 2:
        raise GenzooError(f"outer_level 'plain' halves the image, but {h}x{w} is odd; use outer_level 'style'")
    return h // 2, w // 2


def default_style_widths(image_shape: tuple[int, int, int], outer_level: OuterLevel = "style") -> list[int]:
    """Channels per style level from the image inward: narrow near the image, wider (to a cap) inside."""
    side = min(style_side(image_shape, outer_level))
    base, cap = (8, 64) if min(image_shape[1:]) <= 32 else (32, 256)
    return [min(base * 2**i, cap) for i in range(style_levels(side))]


def check_style_levels(image_shape: tuple[int, int, int], widths: Sequence[int], outer_level: OuterLevel) -> tuple:
    """The (height, width) of the lowest level; raises if the image cannot be halved that often."""
    h, w = style_side(image_shape, outer_level)
    halvings = len(widths) - 1
    if not widths or h % 2**halvings or w % 2**halvings:
        raise GenzooError(
            f"style networks: {h}x{w} style levels cannot be halved {halvings} times for {len(widths)} levels; "
            f"give --model.hidden_dims with at most {style_levels(min(h, w))} widths"
        )
    return h // 2**halvings, w // 2**halvings


class _HeScale(nn.Module):
    """The parametrization behind ``equalize_learning_rate``: weight = stored weight * constant."""

    def __init__(self, scale: float) -> None:
        super().__init__()
        self.scale = scale

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        return weight * self.scale


def equalize_learning_rate(module: nn.Module) -> nn.Module:
    """Equalised learning rate (Karras et al., ProGAN 2018) on every Linear and Conv layer of ``module``.

    Each weight is stored at unit scale, N(0, 1), and multiplied at run time by its He constant
    sqrt(2 / fan_in). Adam's steps have about the same size for every parameter, so storing all
    weights at one scale makes every layer learn at the same relative speed, whatever its fan-in.
    Biases start at zero. Returns ``module``, changed in place.
    """
    from torch.nn.utils import parametrize

    for layer in list(module.modules()):
        if isinstance(layer, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
            w = layer.weight  # fan-in: inputs per output unit; ConvTranspose2d stores (in, out, kh, kw)
            fan_in = w.shape[0] * w[0, 0].numel() if isinstance(layer, nn.ConvTranspose2d) else w[0].numel()
            with torch.no_grad():
                layer.weight.normal_()
                if layer.bias is not None:
                    layer.bias.zero_()
            parametrize.register_parametrization(layer, "weight", _HeScale((2.0 / fan_in) ** 0.5))
    return module


class NoiseInjection(nn.Module):
    """Add per-pixel Gaussian noise, scaled per channel by a learned weight that starts at zero."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1, channels, 1, 1))

    def forward(self, x: torch.Tensor, noise: bool, generator: torch.Generator | None = None) -> torch.Tensor:
        if not noise:
            return x
        b, _, h, w = x.shape
        if generator is None:
            eta = torch.randn(b, 1, h, w, device=x.device, dtype=x.dtype)
        else:  # reproducible noise for seeded sampling
            eta = torch.randn(b, 1, h, w, generator=generator).to(x.device, x.dtype)
        return x + self.weight * eta


class AdaIN(nn.Module):
    """Adaptive instance norm: normalise each channel of each image, then scale and shift it by style(w)."""

    def __init__(self, channels: int, w_dim: int) -> None:
        super().__init__()
        self.style = nn.Linear(w_dim, 2 * channels)

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        scale, shift = self.style(w)[:, :, None, None].chunk(2, dim=1)  # (B, C, 1, 1) each
        return F.instance_norm(x) * (1 + scale) + shift  # 1 + scale: the identity style at initialisation


class StyleConv(nn.Module):
    """One generator layer: 3x3 conv, noise, LeakyReLU, then AdaIN with the style from w."""

    def __init__(self, c_in: int, c_out: int, w_dim: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.noise = NoiseInjection(c_out)
        self.adain = AdaIN(c_out, w_dim)

    def forward(self, x: torch.Tensor, w: torch.Tensor, noise: bool, generator: torch.Generator | None = None):
        x = F.leaky_relu(self.noise(self.conv(x), noise, generator), SLOPE)
        return self.adain(x, w)


class StyleGenerator(nn.Module):
    """G: w (B, w_dim) -> image logits (B, C, H, W), from a learned constant, one AdaIN style per layer."""

    def __init__(
        self,
        w_dim: int,
        image_shape: tuple[int, int, int],
        widths: Sequence[int],
        layers_per_level: int = 2,
        outer_level: OuterLevel = "style",
    ) -> None:
        super().__init__()
        start = check_style_levels(image_shape, widths, outer_level)
        chans = list(reversed(widths))  # lowest resolution first
        self.const = nn.Parameter(torch.ones(1, chans[0], *start))  # the learned constant input
        self.levels = nn.ModuleList()
        for i, c_out in enumerate(chans):
            c_in = chans[max(i - 1, 0)]
            convs = [StyleConv(c_in if j == 0 else c_out, c_out, w_dim) for j in range(layers_per_level)]
            self.levels.append(nn.ModuleList(convs))
        # "toRGB" emits logits, no activation: a 1x1 conv, or a plain upsampling layer to full resolution
        if outer_level == "style":
            self.to_image = nn.Conv2d(chans[-1], image_shape[0], 1)
        else:
            self.to_image = nn.ConvTranspose2d(chans[-1], image_shape[0], 4, stride=2, padding=1)
        self.to(memory_format=MEMORY_FORMAT)

    def forward(self, w: torch.Tensor, noise: bool = True, generator: torch.Generator | None = None) -> torch.Tensor:
        """w (B, w_dim): one style for every level; or (B, levels, w_dim): a style per level, coarse first
        (StyleGAN's style mixing: the coarse levels set the layout, the fine ones the strokes)."""
        styles = self.styles_per_level(w)  # (B, levels, w_dim)
        x = self.const.expand(len(w), -1, -1, -1).contiguous(memory_format=MEMORY_FORMAT)  # (B, C0, h0, w0)
        for i, level in enumerate(self.levels):
            if i > 0:
                x = F.interpolate(x, scale_factor=2.0, mode="nearest")  # (B, C, 2h, 2w)
            for conv in level:
                x = conv(x, styles[:, i], noise, generator)
        return self.to_image(x).contiguous()  # (B, C, H, W) logits, in the usual memory format

    def styles_per_level(self, w: torch.Tensor) -> torch.Tensor:
        levels = len(self.levels)
        if w.dim() == 2:
            return w[:, None].expand(-1, levels, -1)
        if w.dim() != 3 or w.shape[1] != levels:
            raise GenzooError(f"the generator takes w as (B, w_dim) or (B, {levels}, w_dim), got {tuple(w.shape)}")
        return w


class StyleReadConv(nn.Module):
    """One encoder layer: 3x3 conv and LeakyReLU, then read the style (per-channel mean and std) and
    instance-normalise. Returns the normalised activations and the style mapped to w-space."""

    def __init__(self, c_in: int, c_out: int, w_dim: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.to_w = nn.Linear(2 * c_out, w_dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = F.leaky_relu(self.conv(x), SLOPE)
        var, mean = torch.var_mean(x, dim=(2, 3), unbiased=False, keepdim=True)  # (B, C, 1, 1) each
        std = (var + 1e-5).sqrt()
        style = self.to_w(torch.cat([mean, std], dim=1).flatten(1))  # (B, w_dim)
        return (x - mean) / std, style


class StyleEncoder(nn.Module):
    """E: image (B, C, H, W) -> w (B, w_dim), the sum of the styles read at every layer (the mirror of G)."""

    def __init__(
        self,
        image_shape: tuple[int, int, int],
        widths: Sequence[int],
        w_dim: int,
        layers_per_level: int = 2,
        outer_level: OuterLevel = "style",
    ) -> None:
        super().__init__()
        lowest = check_style_levels(image_shape, widths, outer_level)
        # "fromRGB": a 1x1 conv, or a plain downsampling layer to the first style level
        if outer_level == "style":
            self.from_image = nn.Conv2d(image_shape[0], widths[0], 1)
        else:
            self.from_image = nn.Conv2d(image_shape[0], widths[0], 4, stride=2, padding=1)
        self.levels = nn.ModuleList()
        for i, c_out in enumerate(widths):
            c_in = widths[max(i - 1, 0)]
            convs = [StyleReadConv(c_in if j == 0 else c_out, c_out, w_dim) for j in range(layers_per_level)]
            self.levels.append(nn.ModuleList(convs))
        # Statistics alone say nothing about where things are. At the lowest level (as small as G's
        # constant input) a dense layer reads the whole normalised map, layout included (the official
        # encoder's last block does the same).
        self.read_layout = mlp(widths[-1] * lowest[0] * lowest[1], [widths[-1]], w_dim, SLOPE)
        self.to(memory_format=MEMORY_FORMAT)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.contiguous(memory_format=MEMORY_FORMAT)
        h = F.leaky_relu(self.from_image(x), SLOPE)  # (B, C0, H', W'): H' = H, or H/2 with a plain outer level
        w = 0.0
        for i, level in enumerate(self.levels):
            if i > 0:
                h = F.avg_pool2d(h, 2)  # (B, C, H/2, W/2)
            for conv in level:
                h, style = conv(h)
                w = w + style
        return w + self.read_layout(h.flatten(1))  # (B, w_dim)


class MappedStyleGenerator(nn.Module):
    """z (B, z_dim) -> image logits (B, C, H, W): the mapping network F, then the style generator G(F(z)).

    A drop-in for a backbone's decoder (the GAN and AEGAN option ``generator="style"``): z goes through F to
    a style w of the same size, and G paints it, one AdaIN style per level, from its learned constant. No
    per-pixel noise: these models need G to be a function of z alone (AEGAN inverts it, E(G(z)) = z, and
    rebuilds images from their codes, G(E(x)) = x), and seeded sampling then stays reproducible. (G's noise
    weights stay in place, at zero and unused, so that it is StyleALAE's own generator class.)
    """

    def __init__(
        self,
        z_dim: int,
        image_shape: tuple[int, int, int],
        widths: Sequence[int],
        mapping_layers: int = 3,
        outer_level: OuterLevel = "plain",
    ) -> None:
        super().__init__()
        self.mapping = MappingNetwork(z_dim, z_dim, mapping_layers)
        self.synthesis = StyleGenerator(z_dim, image_shape, widths, layers_per_level=1, outer_level=outer_level)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.synthesis(self.mapping(z), noise=False)
