"""Generative adversarial network (GAN): the baseline that AEGAN is measured against.

Reference: Goodfellow et al., "Generative Adversarial Nets", NeurIPS 2014 (the non-saturating
generator loss is theirs too). The networks and optimizer settings are exactly AEGAN's (Lazarou 2020,
see ``aegan.py``) minus its encoder and latent discriminator, so that the AEGAN claim (the extra
autoencoding stabilises training and prevents mode collapse) can be tested by changing nothing else.

Idea: a generator G turns noise z ~ N(0, I) into an image x_hat = G(z); a discriminator D sees real
images and generated ones and outputs the logit of "real". They play

    min_G max_D  E_x[log D(x)] + E_z[log(1 - D(G(z)))].

D is a learned loss for G: wherever generated images differ from real ones in a way D can see, D's
gradient tells G how to move. Nothing rewards G for covering *all* of the data, though: producing a few
convincing digits and ignoring the rest (mode collapse) is a perfectly good answer to the game.

Training: two phases per batch, one optimizer each (manual optimization):
  (1) D learns to tell x from x_hat = G(z): minimise -log D(x) - log(1 - D(x_hat));
  (2) G learns to fool D with the non-saturating loss -log D(G(z)), which keeps strong gradients
      while D still easily rejects G's images (log(1 - D) would saturate there).

What changed from the AE family: there is no encoder, hence no reconstruction and no interpolation
between real images; the run folder shows interpolations between random codes instead.

A stronger generator (``generator="style"``, with the conv backbone): G becomes StyleGAN's, the one
StyleALAE uses (``genzoo.nn.style``): a mapping network turns z into a style w, and G paints w, one AdaIN
style per level, from a learned constant, at the backbone's channel widths and resolutions. D (and AEGAN's
E and Dz) stay the backbone's, so the option changes G and nothing else.
"""

from __future__ import annotations

from typing import Any, Literal

import torch
from torch import nn

from genzoo.errors import GenzooError
from genzoo.losses import discriminator_accuracy, discriminator_loss, generator_loss, r1_penalty
from genzoo.models.base import GenerativeModule, adam
from genzoo.models.ema import averaged
from genzoo.models.phases import LrDecay, MultiPhase
from genzoo.nn.backbones import ConvBackbone
from genzoo.nn.blocks import spectrally_normalised
from genzoo.nn.style import MappedStyleGenerator
from genzoo.ranges import Fraction, NonNegativeNumber, PositiveInteger, PositiveNumber

GeneratorKind = Literal["backbone", "style"]


class GAN(MultiPhase, GenerativeModule):
    has_encoder = False
    default_widths = {"mlp": [512, 256]}  # G 8-256-512-784, D 784-512-256-1
    default_max_epochs = 16  # AEGAN's: the controlled comparison trains both equally long

    def __init__(
        self,
        image_shape: tuple[PositiveInteger, PositiveInteger, PositiveInteger] = (1, 28, 28),
        latent_dim: PositiveInteger = 8,
        backbone: str = "mlp",
        hidden_dims: list[PositiveInteger] | None = None,
        generator: GeneratorKind = "backbone",
        lr: PositiveNumber = 2e-4,
        lr_disc: PositiveNumber = 4e-4,
        betas: tuple[Fraction, Fraction] = (0.5, 0.999),
        weight_decay: NonNegativeNumber = 1e-8,
        r1_gamma: NonNegativeNumber = 0.0,
        ema_decay: Fraction = 0.999,
        spectral_norm: bool = False,
        lr_decay: LrDecay = "none",
    ) -> None:
        """
        Args:
            image_shape: (channels, height, width) of the images; set from the data by the CLI.
            latent_dim: size of the noise z fed to the generator.
            backbone: registered backbone family for G (its decoder) and D (its discriminator) (``genzoo list``).
            hidden_dims: widths of the backbone's levels (default: the family's own).
            generator: G is the backbone's decoder (``backbone``) or StyleGAN's generator at the conv backbone's
                widths (``style``, see above).
            lr: Adam learning rate of the generator (AEGAN's code: 2e-4).
            lr_disc: Adam learning rate of the discriminator (AEGAN's code: 1e-4; here twice G's: docs/models/aegan.md).
            betas: Adam (beta1, beta2) of every optimizer (AEGAN's code and DCGAN: (0.5, 0.999)).
            weight_decay: Adam weight decay of every optimizer (AEGAN's code: 1e-8).
            r1_gamma: weight gamma of the R1 penalty gamma/2 * E||grad_x D(x)||^2 on real images (0: off, as the papers)
            ema_decay: per-step decay of the moving average of G's weights that samples are drawn with (0: none)
            spectral_norm: spectral normalisation on every layer of the discriminator(s) (Miyato et al. 2018)
            lr_decay: decay every learning rate to 0 over the run, ``linear`` or ``cosine`` (``none``: constant)
        """
        super().__init__(image_shape, latent_dim, backbone, hidden_dims, lr)
        self.spectral_norm, self.lr_decay = spectral_norm, lr_decay
        self.lr_disc = lr_disc
        self.r1_gamma = r1_gamma
        self.betas = tuple(betas)
        self.weight_decay = weight_decay
        # G: z (B, D) -> logits (B, C, H, W); samples come from the average of its recent weights
        self.generator = averaged(self.build_generator(generator), ema_decay)
        self.discriminator = self.judge(self.backbone.discriminator(self.image_shape))  # D: image -> logit (B,)

    def judge(self, discriminator: nn.Module) -> nn.Module:
        """A discriminator as this model trains it: spectrally normalised if asked for."""
        return spectrally_normalised(discriminator) if self.spectral_norm else discriminator

    def build_generator(self, kind: GeneratorKind) -> nn.Module:
        """G: z (B, latent_dim) -> image logits (B, C, H, W), built the way ``kind`` says."""
        if kind == "backbone":
            return self.backbone.decoder(self.latent_dim, self.image_shape)
        if not isinstance(self.backbone, ConvBackbone):  # an MLP's widths are not channels per level
            raise GenzooError(
                "generator 'style' takes its channels per level from the conv backbone; add --model.backbone conv"
            )
        return MappedStyleGenerator(self.latent_dim, self.image_shape, self.backbone.widths(self.image_shape))

    def decode(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """G: codes (B, latent_dim) -> images (B, C, H, W) in [0, 1]."""
        return torch.sigmoid(self.generator(z))

    def training_step(self, batch: Any, batch_idx: int) -> None:
        x, _ = batch  # (B, C, H, W) in [0, 1]
        opt_g, opt_d = self.optimizers()
        x_hat = self.decode(self.prior_sample(len(x)))  # (B, C, H, W); its graph is reused in phase 2

        # (1) D learns to tell real images from generated ones (x_hat detached: G is not trained here).
        loss_d, real_logits, fake_logits = self.image_discriminator_loss(x, x_hat)
        self.update(opt_d, loss_d)

        # (2) G learns to make D call its images real. D is frozen for the whole phase, forward pass
        # included: gradients flow through D to G but none are computed for D's own weights.
        with self.toggled_optimizer(opt_g):
            loss_g = generator_loss(self.discriminator(x_hat))
            self.update(opt_g, loss_g)

        self.log_train(batch_idx, d=loss_d, g=loss_g, d_acc=discriminator_accuracy(real_logits, fake_logits))

    def image_discriminator_loss(
        self, x: torch.Tensor, fake: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """D's loss on real images x (B, ...) and generated ones (N, ...), detached, plus R1 if enabled.

        Returns (loss, real logits (B,), fake logits (N,)). One pass of D over [real; fake].
        """
        real = x.detach().requires_grad_(self.r1_gamma > 0)  # R1 needs the gradient with respect to x
        logits = self.discriminator(torch.cat([real, fake.detach()]))
        real_logits, fake_logits = logits[: len(x)], logits[len(x) :]
        loss = discriminator_loss(real_logits, fake_logits)
        if self.r1_gamma > 0:
            loss = loss + 0.5 * self.r1_gamma * r1_penalty(real_logits, real)
        return loss, real_logits, fake_logits

    @torch.no_grad()
    def discriminator_accuracies(
        self, x: torch.Tensor, y: torch.Tensor | None = None, generator: torch.Generator | None = None
    ) -> dict[str, torch.Tensor]:
        fake = self.sample(len(x), generator)
        return {"image": discriminator_accuracy(self.discriminator(x), self.discriminator(fake))}

    # ----- optimizers: the two sides of the game -----------------------------------------------------
    def generator_networks(self) -> list[nn.Module]:
        """The networks that minimise the game (AEGAN adds its encoder)."""
        return [self.generator]

    def discriminator_networks(self) -> list[nn.Module]:
        """The networks that maximise it (AEGAN adds its latent discriminator)."""
        return [self.discriminator]

    def configure_optimizers(self) -> list[torch.optim.Optimizer]:
        def side(networks: list[nn.Module], lr: float) -> torch.optim.Optimizer:
            params = [p for net in networks for p in net.parameters()]
            return adam(params, lr, self.betas, self.weight_decay)

        # In training_step's order of unpacking: generator side, discriminator side.
        return [side(self.generator_networks(), self.lr), side(self.discriminator_networks(), self.lr_disc)]
