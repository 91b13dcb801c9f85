"""Autoencoding generative adversarial network (AEGAN).

Reference: Conor Lazarou, "Autoencoding Generative Adversarial Networks", arXiv:2004.05472, 2020.

Idea: a GAN whose generator is also the decoder of an autoencoder, trained in both directions at once.
Four networks: the generator G: z -> x and the encoder E: x -> z, an image discriminator Dx and a latent
discriminator Dz. From a batch of real images x and prior codes z ~ N(0, I) it forms

    x_hat = G(z)      a generated image          z_hat = E(x)      the code of a real image
    x_tilde = G(E(x)) a reconstructed image      z_tilde = E(G(z)) a reconstructed code

and asks for four things: Dx must not tell x_hat or x_tilde from real images; Dz must not tell z_hat or
z_tilde from prior codes; G(E(x)) must give back x (L1 in pixel space); E(G(z)) must give back z (L2).
So E and G are each other's inverse on both spaces, and each space is matched to its distribution by a
discriminator. The paper's claim: the reconstruction terms tie every real image to a code and back, so
G cannot drop modes of the data (a dropped digit would be reconstructed badly), and the extra terms make
the game more stable than the plain GAN (``gan.py``, the same G and Dx without E and Dz).

Losses, with weights lambda (the paper's code: 10 for image and 5 for latent reconstruction, 1 for
each adversarial term; the default image weight here is 100, see below):

    L_GE = l_adv_x * [-log Dx(x_hat) - log Dx(x_tilde)] / 2 + l_adv_z * [-log Dz(z_hat) - log Dz(z_tilde)] / 2
           + l_rec_x * mean |G(E(x)) - x|  +  l_rec_z * mean (E(G(z)) - z)^2
    L_D  = -log Dx(x) - [log(1 - Dx(x_hat)) + log(1 - Dx(x_tilde))] / 2   (and the same for Dz on codes)

The reconstruction terms are means over pixels and code dimensions, as in the paper's code (``nn.L1Loss``,
``nn.MSELoss``), so its lambdas keep their meaning. (The zoo's other reconstruction terms sum over pixels:
a sum would make the image term 784 times stronger on MNIST and drown the latent adversarial term, so the
codes never match the prior and samples are garbage.) On MNIST with MLPs (the model card has the runs):
- with l_rec_x = 10, the latent reconstruction, whose gradient also reaches G through E(G(z)), outweighs
  the image term and G learns images slowly; 100 fixes that (hence the default);
- the paper's L1 image loss regresses each pixel to its median, so uncertain stroke edges become
  salt-and-pepper noise on binary digits; ``image_recon_loss=bce`` (the MNIST recipe) gives clean strokes.

Optional R1 penalty (``r1_gamma``, Mescheder et al. 2018; not in the paper, off by default) on Dx's real
images. The GAN baseline has the same switch (and the same Dx loss code), so the two still differ only by
E, Dz and the reconstruction terms. It costs a second backward pass through Dx on real images.

Training: two phases per batch, alternating as in the paper's code (discriminators first):
  (1) Dx and Dz minimise L_D, i.e. maximise the adversarial objective;
  (2) G and E minimise L_GE.
The four values x_hat, z_hat, x_tilde, z_tilde are computed once per batch and shared by both phases
(phase 1 sees them detached). The paper's code draws fresh z for each phase; one draw per batch is the
same in distribution and spares a second pass through G and E.

What changed from the GAN: E and Dz, and the two reconstruction terms. From the AAE: the AAE shapes the
codes of real images (z_hat) only; AEGAN also asks generated images to be reconstructable (z_tilde) and
reconstructions to look real (x_tilde), so both directions are trained adversarially and by cycles.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from genzoo.losses import (
    ReconstructionKind,
    discriminator_accuracy,
    discriminator_loss,
    generator_loss,
    mean_squared_error,
    reconstruction_loss,
)
from genzoo.models.ema import averaged
from genzoo.models.gan import GAN, GeneratorKind
from genzoo.models.phases import LrDecay
from genzoo.nn.blocks import mlp
from genzoo.ranges import Fraction, NonNegativeNumber, PositiveInteger, PositiveNumber


class AEGAN(GAN):
    has_encoder = True

    def __init__(
        self,
        image_shape: tuple[PositiveInteger, PositiveInteger, PositiveInteger] = (1, 28, 28),
        latent_dim: PositiveInteger = 8,
        backbone: str = "mlp",
        hidden_dims: list[PositiveInteger] | None = None,
        generator: GeneratorKind = "backbone",
        latent_disc_dims: list[PositiveInteger] | None = None,
        image_recon_loss: ReconstructionKind = "bce",
        lambda_image_recon: NonNegativeNumber = 100.0,
        lambda_latent_recon: NonNegativeNumber = 5.0,
        lambda_image_adv: NonNegativeNumber = 1.0,
        lambda_latent_adv: NonNegativeNumber = 1.0,
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
            latent_dim: size of the code z (prior N(0, I)).
            backbone: registered backbone family for G, E and Dx (``genzoo list``); the same G and Dx as ``gan``.
            hidden_dims: widths of the backbone's levels (default: the family's own).
            generator: G is the backbone's decoder (``backbone``) or StyleGAN's generator (``style``, see ``gan.py``).
            latent_disc_dims: hidden widths of the latent discriminator Dz, an MLP (default [256, 256]).
            image_recon_loss: image reconstruction loss, a mean over pixels (paper: ``l1``, |G(E(x)) - x|; see above).
            lambda_image_recon: weight of the image reconstruction term (paper's code: 10; see above).
            lambda_latent_recon: weight of the latent reconstruction (E(G(z)) - z)^2 (mean over dimensions).
            lambda_image_adv: weight of the adversarial terms on x_hat and x_tilde (judged by Dx).
            lambda_latent_adv: weight of the adversarial terms on z_hat and z_tilde (judged by Dz).
            lr: Adam learning rate of G and E (paper's code: 2e-4).
            lr_disc: Adam learning rate of Dx and Dz (paper's code: 1e-4; here twice G's, the two-time-scale rule).
            betas: Adam (beta1, beta2) of every optimizer (paper's code: (0.5, 0.999)).
            weight_decay: Adam weight decay of every optimizer (paper's code: 1e-8).
            r1_gamma: weight gamma of the R1 penalty gamma/2 * E||grad_x Dx(x)||^2 on real images (0: off, as the paper)
            ema_decay: per-step decay of the moving averages of G and E used outside training (0: none)
            spectral_norm: spectral normalisation on every layer of Dx and Dz (Miyato et al. 2018)
            lr_decay: decay every learning rate to 0 over the run, ``linear`` or ``cosine`` (``none``: constant)
        """
        super().__init__(image_shape, latent_dim, backbone, hidden_dims, generator, lr, lr_disc, betas, weight_decay,
                         r1_gamma, ema_decay, spectral_norm, lr_decay)  # fmt: skip
        self.image_recon_loss = image_recon_loss
        self.lambda_image_recon = lambda_image_recon
        self.lambda_latent_recon = lambda_latent_recon
        self.lambda_image_adv = lambda_image_adv
        self.lambda_latent_adv = lambda_latent_adv
        # E: image -> z (B, D); averaged like G, so that reconstructions use the averaged pair
        self.encoder = averaged(self.backbone.encoder(self.image_shape, latent_dim), ema_decay)
        self.latent_discriminator = self.judge(mlp(latent_dim, latent_disc_dims or [256, 256], 1))  # Dz: z -> (B, 1)

    def encode(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """E: images (B, C, H, W) -> codes (B, latent_dim)."""
        return self.encoder(x)

    def discriminate_latent(self, z: torch.Tensor) -> torch.Tensor:
        """Dz: codes (B, D) -> logit of "drawn from the prior" (B,)."""
        return self.latent_discriminator(z).squeeze(1)

    def training_step(self, batch: Any, batch_idx: int) -> None:
        x, _ = batch  # (B, C, H, W) in [0, 1]
        opt_ge, opt_d = self.optimizers()
        n = len(x)
        z = self.prior_sample(n)  # (B, D)
        x_hat, z_hat = self.decode(z), self.encode(x)  # G(z) (B, C, H, W), E(x) (B, D)
        x_tilde_logits = self.generator(z_hat)  # G(E(x)) as logits, for the reconstruction loss
        x_tilde, z_tilde = torch.sigmoid(x_tilde_logits), self.encode(x_hat)  # G(E(x)), E(G(z))
        fake_x, fake_z = torch.cat([x_hat, x_tilde]), torch.cat([z_hat, z_tilde])  # (2B, ...) each

        # (1) Dx and Dz learn to tell real images / prior codes from everything G and E make.
        # One pass per discriminator over [real; fakes]: the fakes are detached (G and E not trained here).
        loss_dx, real_x_logits, fake_x_logits = self.image_discriminator_loss(x, fake_x)  # exactly the GAN's Dx loss
        logits_z = self.discriminate_latent(torch.cat([z, fake_z.detach()]))  # (3B,)
        loss_dz = discriminator_loss(logits_z[:n], logits_z[n:])
        self.update(opt_d, loss_dx + loss_dz)

        # (2) G and E: fool both discriminators (frozen for the whole phase) and invert each other.
        with self.toggled_optimizer(opt_ge):
            adv_x = generator_loss(self.discriminator(fake_x))  # mean over x_hat and x_tilde
            adv_z = generator_loss(self.discriminate_latent(fake_z))  # mean over z_hat and z_tilde
            rec_x = reconstruction_loss(x_tilde_logits, x, self.image_recon_loss) / x[0].numel()  # mean, as the paper
            rec_z = mean_squared_error(z_tilde, z)
            loss_ge = (
                self.lambda_image_adv * adv_x
                + self.lambda_latent_adv * adv_z
                + self.lambda_image_recon * rec_x
                + self.lambda_latent_recon * rec_z
            )
            self.update(opt_ge, loss_ge)

        self.log_train(
            batch_idx, d_image=loss_dx, d_latent=loss_dz, ge=loss_ge, adv_image=adv_x, adv_latent=adv_z,
            recon_image=rec_x, recon_latent=rec_z,
            d_acc_image=discriminator_accuracy(real_x_logits, fake_x_logits),
            d_acc_latent=discriminator_accuracy(logits_z[:n], logits_z[n:]),
        )  # fmt: skip

    @torch.no_grad()
    def discriminator_accuracies(
        self, x: torch.Tensor, y: torch.Tensor | None = None, generator: torch.Generator | None = None
    ) -> dict[str, torch.Tensor]:
        z = self.prior_sample(len(x), generator)
        x_hat, z_hat = self.decode(z), self.encode(x)
        fake_x = torch.cat([x_hat, self.decode(z_hat)])
        fake_z = torch.cat([z_hat, self.encode(x_hat)])
        return {
            "image": discriminator_accuracy(self.discriminator(x), self.discriminator(fake_x)),
            "latent": discriminator_accuracy(self.discriminate_latent(z), self.discriminate_latent(fake_z)),
        }

    def generator_networks(self) -> list[nn.Module]:
        return [self.generator, self.encoder]

    def discriminator_networks(self) -> list[nn.Module]:
        return [self.discriminator, self.latent_discriminator]
