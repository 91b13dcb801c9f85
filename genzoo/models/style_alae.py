"""StyleALAE: the ALAE objective with a style-based generator and a style-reading encoder.

Reference: Pidhorskyi, Adjeroh & Doretto, "Adversarial Latent Autoencoders", CVPR 2020 (section 5);
the generator is StyleGAN's (Karras, Laine & Aila, "A Style-Based Generator Architecture for Generative
Adversarial Networks", CVPR 2019).

Idea: keep everything the ALAE does (``genzoo.models.alae``: F, G, E, D and the same three training
phases) and change only the two big networks, so that w is a *style*:

- G starts from a learned constant image instead of from w. At every layer, after the convolution and
  the per-pixel noise, the activations are instance-normalised and then scaled and shifted by an affine
  map of w (AdaIN). So w does not say "what is at pixel (i, j)" but "what the statistics of every
  feature map are", from coarse layout at 7x7 or 4x4 to fine strokes at full resolution. The noise
  supplies the detail that w need not encode.
- E is G's mirror image. After each convolution it reads the style back out, as the per-channel mean
  and standard deviation of the activations (the very statistics AdaIN sets), maps them to w-space with
  an affine layer, and instance-normalises the activations before the next layer. E(x) is the sum of
  the styles read at every layer, plus a dense reading of the lowest-resolution map: statistics say
  nothing about *where* things are, and the layout is read there (as the official encoder's last block
  does). Without it, E could barely tell digits apart: D stayed at chance and G collapsed to one shape.

Because E measures exactly what G's AdaIN layers write, the latent autoencoding E(G(w)) = w of phase III
is natural for this pair, and w = E(x) of a real image is a set of styles that G can render again.

What changed from the MLP ALAE: only G and E (see ``genzoo.nn.style``); the training step, losses and
optimizers are ALAE's own, inherited unchanged. Left out from the paper: progressive growing (the
networks train at full resolution from the start), mixing regularisation (training on mixed styles), the
truncation trick and blur on up/down-sampling; equalised-learning-rate layers are an option
(``equalized_lr``), off by default. Style mixing itself works on any trained model: G takes a style per
level, and ``mix_styles`` draws with one code's coarse styles and another's fine ones.

Resolutions: any side that halves evenly down to the generator's starting size, with no padding or
resizing. ``outer_level`` says what happens at full resolution:

- ``style`` (the paper): style levels all the way to the image. MNIST 28x28 has levels 7, 14, 28;
  32x32 starts at 4x4 (4 levels); 64x64 RGB (CelebA, anime faces) at 4x4 with 5 levels.
- ``plain`` (the default, for CPUs): the style levels stop at half resolution, and G ends (E starts)
  with a plain 4x4 stride-2 transposed (ordinary) convolution, as DCGAN's outer layers. On MNIST the
  styles live at 7x7 and 14x14, much cheaper to train than styles at 28x28.

``hidden_dims`` sets the channels per style level from the image inward (default: 8, 16, ... for images
up to 32 pixels, 32, 64, ... capped at 256 above).
"""

from __future__ import annotations

import torch
from torch import nn

from genzoo.errors import GenzooError
from genzoo.models.alae import ALAE
from genzoo.nn.style import OuterLevel, StyleEncoder, StyleGenerator, default_style_widths
from genzoo.ranges import Fraction, NonNegativeNumber, PositiveInteger, PositiveNumber


class StyleALAE(ALAE):
    default_max_epochs = 8

    def __init__(
        self,
        image_shape: tuple[PositiveInteger, PositiveInteger, PositiveInteger] = (1, 28, 28),
        latent_dim: PositiveInteger = 50,
        w_dim: PositiveInteger = 50,
        hidden_dims: list[PositiveInteger] | None = None,
        layers_per_level: PositiveInteger = 1,
        outer_level: OuterLevel = "plain",
        noise: bool = True,
        mapping_layers: PositiveInteger = 3,
        disc_layers: PositiveInteger = 3,
        r1_gamma: NonNegativeNumber = 1.0,
        r1_every: PositiveInteger = 4,
        lr: PositiveNumber = 1e-3,
        betas: tuple[Fraction, Fraction] = (0.0, 0.99),
        mapping_lr_mult: PositiveNumber = 0.1,
        equalized_lr: bool = False,
        ema_decay: Fraction = 0.999,
    ) -> None:
        """
        Args:
            image_shape: (channels, height, width) of the images; set from the data by the CLI.
            latent_dim: size of the prior sample z that F maps to w.
            w_dim: size of the style code w = F(z) = E(x) (paper: 512 for faces).
            hidden_dims: channels per resolution level from the image inward (default: by image size).
            layers_per_level: style convolutions per level in G, and style-reading ones in E (StyleGAN: 2).
            outer_level: full-resolution level: ``style`` (as the paper) or ``plain`` (styles stop at half
                resolution; G ends and E starts with a 4x4 stride-2 (transposed) conv: faster, for CPUs).
            noise: inject learned-scale per-pixel noise after every convolution of G.
            mapping_layers: linear layers in the mapping network F, all w_dim wide (StyleGAN: 8).
            disc_layers: linear layers in the latent discriminator D, all w_dim wide (paper: 3).
            r1_gamma: gamma of the R1 penalty gamma/2 E||grad_x D(E(x))||^2 (paper: 10 on [-1, 1] images = 2.5 here).
            r1_every: apply R1 on every k-th batch only, scaled by k (lazy regularisation, StyleGAN2); 1: always.
            lr: Adam learning rate of both optimizers (paper: 0.0015-0.002, with equalized_lr).
            betas: Adam (beta1, beta2) (paper: (0.0, 0.99)).
            mapping_lr_mult: learning-rate multiplier of the mapping network F (paper: 0.01 for StyleALAE).
            equalized_lr: store every weight at unit scale and apply its He constant at run time (paper: on).
            ema_decay: per-step decay of the moving averages of F, G and E used outside training (0: none)
        """
        # ALAE builds F and D, and calls build_generator/build_encoder below for G and E. Its backbone
        # argument does not apply here, nor does its noise_dim: the noise enters at every layer of G.
        super().__init__(
            image_shape=image_shape, latent_dim=latent_dim, w_dim=w_dim, hidden_dims=hidden_dims,
            mapping_layers=mapping_layers, disc_layers=disc_layers, r1_gamma=r1_gamma, r1_every=r1_every,
            lr=lr, betas=betas, mapping_lr_mult=mapping_lr_mult, equalized_lr=equalized_lr,
            ema_decay=ema_decay,
        )  # fmt: skip

    def style_options(self) -> tuple[list[int], int, OuterLevel]:
        """(widths, layers_per_level, outer_level) of G and E, from the hyper-parameters."""
        hp = self.hparams
        widths = list(hp["hidden_dims"] or default_style_widths(self.image_shape, hp["outer_level"]))
        return widths, hp["layers_per_level"], hp["outer_level"]

    def build_generator(self) -> nn.Module:
        widths, per_level, outer = self.style_options()
        return StyleGenerator(self.w_dim, self.image_shape, widths, per_level, outer)

    def build_encoder(self) -> nn.Module:
        widths, per_level, outer = self.style_options()
        return StyleEncoder(self.image_shape, widths, self.w_dim, per_level, outer)

    @property
    def style_sides(self) -> list[int]:
        """The side of each style level of G, coarse first (MNIST's default: [7, 14])."""
        first = self.generator.const.shape[-1]
        return [first * 2**i for i in range(len(self.generator.levels))]

    @torch.no_grad()
    def mix_styles(self, w_coarse: torch.Tensor, w_fine: torch.Tensor, crossover: int = 1) -> torch.Tensor:
        """Style mixing (StyleGAN, section 3.1): images drawn with ``w_coarse`` (B, w_dim) at the levels
        before ``crossover`` and ``w_fine`` (B, w_dim) from it on; noise at its mean. With codes E(x_a)
        and E(x_b) of two real images, the result has a's layout in b's strokes (for a low crossover)."""
        levels = len(self.style_sides)
        if not 0 <= crossover <= levels:
            raise GenzooError(f"crossover must be a level from 0 to {levels}, got {crossover}")
        styles = torch.stack([w_coarse if i < crossover else w_fine for i in range(levels)], dim=1)
        return self.generate(styles, noise=False)  # (B, C, H, W) in [0, 1]

    def generator_logits(self, w: torch.Tensor, noise: bool, generator: torch.Generator | None) -> torch.Tensor:
        """G(w): the same style w at every layer; per-layer noise unless ``noise`` (or the model's) is off."""
        return self.generator(w, noise and self.hparams["noise"], generator)
