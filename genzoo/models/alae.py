"""Adversarial Latent Autoencoder (ALAE).

Reference: Pidhorskyi, Adjeroh & Doretto, "Adversarial Latent Autoencoders", CVPR 2020.

Idea: split both players of a GAN in two. The generator becomes G o F: a mapping network F turns a prior
sample z ~ N(0, I) into an intermediate code w = F(z), and G turns w (and optional noise eta) into an
image. The discriminator becomes D o E: an encoder E turns an image into a code w, and a small network D
scores that code. The GAN game is played on E's codes instead of on pixels:

    min_{F,G} max_{E,D}  E_x[log D(E(x))] + E_z[log(1 - D(E(G(F(z)))))].

Both w-spaces (what F makes and what E reads) are the same space, and a third term ties them together:
E must invert G on generated codes, ||F(z) - E(G(F(z)))||^2 -> min. So the autoencoding is imposed in
the *latent* space, where it is cheap and free of any pixel-wise loss (no blurry L2 reconstructions);
real images are reconstructed as G(E(x)) because E learns to read the codes that G writes, and because
the adversarial game makes the codes of real and generated images look alike.

Training: three updates per batch (manual optimization):
  (I)   E and D as the discriminator: non-saturating loss, softplus(D(E(G(F(z))))) + softplus(-D(E(x))),
        plus the R1 gradient penalty gamma/2 * ||grad_x D(E(x))||^2 on real images;
  (II)  F and G as the generator: softplus(-D(E(G(F(z)))));
  (III) E and G as the latent autoencoder: ||F(z) - E(G(F(z)))||^2 (F held fixed: it only sets the target).
E takes part in I and III and G in II and III. There are two Adam optimizers, as in the official code:
one for the discriminator side (E, D) and one for the generator side (F, G). Phases I and II each step
one of them (``update`` freezes the other side's networks, so no gradient leaks between phases); phase
III steps both, with gradients only on E and G (F runs without a graph, D is not used), so Adam's
moments of E and G are shared between their adversarial and latent-autoencoder updates. (A third Adam
of its own for phase III trains about as well on MNIST in our runs; two follow the official code.)

What changed from the AAE: the AAE matches the *encoder's* codes to a fixed prior with a discriminator
on z; the ALAE learns the latent distribution (F) and matches generated and real images through their
codes, so it is a GAN that comes with an encoder. From the BiGAN/ALI: those match joint pairs (x, z);
the ALAE compares codes only, and adds the latent reconstruction term.

Codes in genzoo's API: ``encode(x)`` returns w = E(x) (the code real images have, and the one that
interpolations walk between); ``decode(w)`` is G(w); ``prior_sample(n)`` returns w = F(z) for z from the
prior, so ``sample`` decodes F(z) and ``reconstruct(x)`` is G(E(x)).

The paper's MNIST setting (official ``mnist_fc`` config): z and w of size 50; E and G MLPs with two
hidden layers of 1024 units; D a 3-layer MLP on w; Adam with lr 0.002 and betas (0, 0.99); R1 gamma 10;
batch 128. The official code uses equalised-learning-rate layers (weights stored at unit scale,
multiplied by their He constant at run time; ``equalized_lr``) and a 0.1 learning-rate multiplier on F.
Without them, Adam's step of a given ``lr`` moves a wide layer's small weights much further in relative
terms, so ordinary layers need a lower ``lr``. F is He-initialised either way, which is what the
equalised layers amount to at the start: w then varies across z at unit scale, where PyTorch's default
initialisation leaves it nearly constant, which on MNIST costs most of the reconstruction quality
(docs/models/alae.md).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from genzoo.losses import (
    discriminator_accuracy,
    discriminator_loss,
    generator_loss,
    mean_squared_error,
    r1_penalty,
)
from genzoo.models.base import GenerativeModule, adam
from genzoo.models.ema import averaged, live
from genzoo.models.phases import MultiPhase
from genzoo.nn.blocks import mlp
from genzoo.nn.style import SLOPE, MappingNetwork, equalize_learning_rate
from genzoo.ranges import Fraction, NonNegativeInteger, NonNegativeNumber, PositiveInteger, PositiveNumber


class ALAE(MultiPhase, GenerativeModule):
    # The paper's MLP has two levels of 1024. Depth is what makes the samples here (as for the VAE): four levels
    # of 512 beat three and two at about the same time; the measurements are in docs/models/alae.md.
    default_widths = {"mlp": [512, 512, 512, 512]}
    default_max_epochs = 13

    def __init__(
        self,
        image_shape: tuple[PositiveInteger, PositiveInteger, PositiveInteger] = (1, 28, 28),
        latent_dim: PositiveInteger = 50,
        w_dim: PositiveInteger = 50,
        backbone: str = "mlp",
        hidden_dims: list[PositiveInteger] | None = None,
        mapping_layers: PositiveInteger = 3,
        disc_layers: PositiveInteger = 3,
        noise_dim: NonNegativeInteger = 0,
        r1_gamma: NonNegativeNumber = 1.0,
        r1_every: PositiveInteger = 1,
        lr: PositiveNumber = 1e-3,
        betas: tuple[Fraction, Fraction] = (0.0, 0.99),
        mapping_lr_mult: PositiveNumber = 0.1,
        equalized_lr: bool = False,
        ema_decay: Fraction = 0.999,
    ) -> None:
        """
        Args:
            image_shape: (channels, height, width) of the images; set from the data by the CLI.
            latent_dim: size of the prior sample z that F maps to w (50 in the paper's MNIST model).
            w_dim: size of the intermediate code w = F(z) = E(x) (50 in the paper's MNIST model).
            backbone: registered backbone family for G (its decoder) and E (its encoder) (``genzoo list``).
            hidden_dims: widths of the backbone's levels (paper, MLP: [1024, 1024]; default: the family's own).
            mapping_layers: linear layers in the mapping network F, all w_dim wide.
            disc_layers: linear layers in the latent discriminator D, all w_dim wide (paper: 3).
            noise_dim: size of the noise eta appended to w at the input of G (0: none, as the paper's MLP model).
            r1_gamma: gamma of the R1 penalty gamma/2 E||grad_x D(E(x))||^2 (paper: 10 on [-1, 1] images = 2.5 here).
            r1_every: apply R1 on every k-th batch only, scaled by k (lazy regularisation, StyleGAN2); 1: always.
            lr: Adam learning rate of both optimizers (paper: 0.002, with equalized_lr).
            betas: Adam (beta1, beta2) of both optimizers (paper: (0.0, 0.99)).
            mapping_lr_mult: learning-rate multiplier of the mapping network F (paper: 0.1).
            equalized_lr: store every weight at unit scale and apply its He constant at run time (paper: on).
            ema_decay: per-step decay of the moving averages of F, G and E used outside training (0: none;
                the official code averages D as well, with a faster decay that depends on the batch size:
                docs/models/alae.md)
        """
        super().__init__(image_shape, latent_dim, backbone, hidden_dims, lr)
        self.w_dim = w_dim
        self.noise_dim = noise_dim
        self.r1_gamma = r1_gamma
        self.r1_every = r1_every
        self.betas = tuple(betas)
        self.mapping_lr_mult = mapping_lr_mult
        # The generator side G o F and the discriminator side D o E.
        self.mapping = MappingNetwork(latent_dim, w_dim, mapping_layers)  # F: z (B, latent_dim) -> w (B, w_dim)
        self.generator = self.build_generator()  # G: w (B, w_dim) -> image logits (B, C, H, W)
        self.encoder = self.build_encoder()  # E: image (B, C, H, W) -> w (B, w_dim)
        self.discriminator = mlp(w_dim, [w_dim] * (disc_layers - 1), 1, SLOPE)  # D: w (B, w_dim) -> (B, 1)
        if equalized_lr:
            for net in (self.mapping, self.generator, self.encoder, self.discriminator):
                equalize_learning_rate(net)
        # F, G and E compute with the averages of their recent weights outside training.
        self.mapping, self.generator, self.encoder = (
            averaged(net, ema_decay) for net in (self.mapping, self.generator, self.encoder)
        )

    # ----- the networks G and E (StyleALAE replaces these two) ---------------------------------------
    def build_generator(self) -> nn.Module:
        return self.backbone.decoder(self.w_dim + self.noise_dim, self.image_shape)

    def build_encoder(self) -> nn.Module:
        return self.backbone.encoder(self.image_shape, self.w_dim)

    def generator_logits(self, w: torch.Tensor, noise: bool, generator: torch.Generator | None) -> torch.Tensor:
        """G(w, eta) as logits; with ``noise`` False, eta = 0 (its mean), so G is deterministic."""
        if self.noise_dim:
            shape = (len(w), self.noise_dim)
            if not noise:
                eta = w.new_zeros(shape)
            elif generator is None:
                eta = torch.randn(shape, device=w.device, dtype=w.dtype)
            else:
                eta = torch.randn(shape, generator=generator).to(w.device, w.dtype)
            w = torch.cat([w, eta], dim=1)  # (B, w_dim + noise_dim)
        return self.generator(w)

    # ----- the shared API --------------------------------------------------------------------------
    def generate(self, w: torch.Tensor, noise: bool = True, generator: torch.Generator | None = None) -> torch.Tensor:
        """G: codes w (B, w_dim) -> images (B, C, H, W) in [0, 1]."""
        return torch.sigmoid(self.generator_logits(w, noise, generator))

    def encode(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """E: images -> their codes w (B, w_dim), the space that F's samples live in and G reads."""
        return self.encoder(x)

    def decode(self, w: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """G with noise at its mean: reconstructions G(E(x)) and interpolations are deterministic."""
        return self.generate(w, noise=False)

    def prior_sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Codes w = F(z), z ~ N(0, I): the prior of the space that ``decode`` takes its codes from."""
        return self.mapping(super().prior_sample(n, generator))

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None, y: torch.Tensor | None = None) -> torch.Tensor:
        """G(F(z), eta): n new images, with fresh noise (drawn from ``generator`` when one is given)."""
        return self.generate(self.prior_sample(n, generator), noise=True, generator=generator)

    def discriminate(self, x: torch.Tensor) -> torch.Tensor:
        """D(E(x)): one logit per image (B,); positive means "real". E as trained, not its average: D reads it."""
        return self.discriminator(live(self.encoder)(x)).squeeze(1)

    @torch.no_grad()
    def discriminator_accuracies(
        self, x: torch.Tensor, y: torch.Tensor | None = None, generator: torch.Generator | None = None
    ) -> dict[str, torch.Tensor]:
        """D o E judges images through their codes: real ``x`` against G(F(z)) for z drawn with ``generator``."""
        fake = self.sample(len(x), generator)
        return {"latent": discriminator_accuracy(self.discriminate(x), self.discriminate(fake))}

    # ----- training --------------------------------------------------------------------------------
    def training_step(self, batch: Any, batch_idx: int) -> None:
        x, _ = batch  # (B, C, H, W) in [0, 1]
        opt_ed, opt_fg = self.optimizers()  # discriminator side (E, D), generator side (F, G)
        n = len(x)

        # (I) E and D learn to tell real images from generated ones, judging them by their codes.
        with torch.no_grad():  # G and F are not trained here: no graph through them
            fake = self.generate(self.mapping(torch.randn(n, self.latent_dim, device=self.device)))
        regularise = self.r1_gamma > 0 and batch_idx % self.r1_every == 0
        real = x.detach().requires_grad_(regularise)  # R1 needs the gradient with respect to the images
        real_logits, fake_logits = self.discriminate(real), self.discriminate(fake)  # (B,) each
        loss_d = discriminator_loss(real_logits, fake_logits)
        r1 = r1_penalty(real_logits, real) if regularise else real_logits.new_zeros(())
        self.update(opt_ed, loss_d + 0.5 * self.r1_gamma * self.r1_every * r1)

        # (II) F and G learn to make images whose codes D takes for real (non-saturating loss).
        # Freezing E and D before the forward pass spares computing their weight gradients, which
        # this phase would throw away; gradients still flow through them to G and F.
        with self.toggled_optimizer(opt_fg):
            z = torch.randn(n, self.latent_dim, device=self.device)
            loss_g = generator_loss(self.discriminate(self.generate(self.mapping(z))))
            self.update(opt_fg, loss_g)

        # (III) E and G as a latent autoencoder: E must give back the code G was given, E(G(w)) = w.
        # Both optimizers step, each on the networks that have gradients: E (of E, D) and G (of F, G).
        with torch.no_grad():  # F only sets the target here; the paper trains E and G alone
            w = self.mapping(torch.randn(n, self.latent_dim, device=self.device))  # (B, w_dim)
        loss_lae = mean_squared_error(self.encoder(self.generate(w)), w)  # mean over elements, as the official code
        for opt in (opt_ed, opt_fg):
            opt.zero_grad(set_to_none=True)  # D and F keep grad None, so Adam leaves them alone
        self.manual_backward(loss_lae)
        opt_ed.step()
        opt_fg.step()

        logged = {"d": loss_d, "g": loss_g, "lae": loss_lae}
        logged |= {"r1": r1} if regularise else {}  # batches without R1 (lazy) do not log a misleading 0
        real_mean, fake_mean = real_logits.detach().mean(), fake_logits.detach().mean()
        self.log_train(batch_idx, **logged, real_logit=real_mean, fake_logit=fake_mean)

    def configure_optimizers(self) -> list[torch.optim.Optimizer]:
        e, d, g = (list(m.parameters()) for m in (self.encoder, self.discriminator, self.generator))
        f = {"params": list(self.mapping.parameters()), "lr": self.lr * self.mapping_lr_mult}
        discriminator_side = adam([{"params": e + d}], self.lr, self.betas)
        generator_side = adam([{"params": g}, f], self.lr, self.betas)
        return [discriminator_side, generator_side]
