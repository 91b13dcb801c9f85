"""Variational autoencoder (VAE).

Reference: Kingma & Welling, "Auto-Encoding Variational Bayes", ICLR 2014;
Rezende, Mohamed & Wierstra, "Stochastic Backpropagation...", ICML 2014.

Idea: make the autoencoder a latent-variable model p(x, z) = p(z) p(x|z) with prior p(z) = N(0, I), and
fit it by maximising the evidence lower bound (ELBO) on log p(x):

    log p(x) >= E_q(z|x)[log p(x|z)] - KL(q(z|x) || p(z)).

The encoder outputs a Gaussian q(z|x) = N(mu(x), diag(sigma(x)^2)) instead of a single code; the
reparameterisation z = mu + sigma * eps, eps ~ N(0, I), lets gradients flow through the sampling.

What changed from the AE: the encoder emits (mu, log sigma^2) rather than z, and the loss gains the KL
term, which pulls every q(z|x) towards the prior. Because the codes now fill N(0, I), decoding a draw
from N(0, I) gives a plausible image: the VAE can sample. ``beta`` scales the KL term
(beta-VAE, Higgins et al. 2017): beta > 1 trades reconstruction for a smoother, more disentangled code.

Training: one phase per batch, minimise -ELBO = reconstruction + beta * KL.
"""

from __future__ import annotations

from typing import Any

import torch

from genzoo.losses import ReconstructionKind, kl_to_standard_normal, reconstruction_loss
from genzoo.models.base import GenerativeModule
from genzoo.ranges import NonNegativeNumber, PositiveInteger, PositiveNumber


class VAE(GenerativeModule):
    # Depth, not width, is what makes a VAE's samples sharp: three hidden levels of 512 draw far better
    # digits than one at the same epochs (one level twice as wide does not); lr 2e-3 lets the deeper net
    # learn fast enough in its first epoch. The ablation is in docs/models/vae.md.
    default_widths = {"mlp": [512, 512, 512]}
    default_max_epochs = 20

    def __init__(
        self,
        image_shape: tuple[PositiveInteger, PositiveInteger, PositiveInteger] = (1, 28, 28),
        latent_dim: PositiveInteger = 16,
        backbone: str = "mlp",
        hidden_dims: list[PositiveInteger] | None = None,
        lr: PositiveNumber = 2e-3,
        beta: NonNegativeNumber = 1.0,
        recon_loss: ReconstructionKind = "bce",
    ) -> None:
        """
        Args:
            image_shape: (channels, height, width) of the images; set from the data by the CLI.
            latent_dim: size of the code z.
            backbone: registered backbone family for encoder and decoder (``genzoo list``).
            hidden_dims: widths of the backbone's levels (default: [512, 512, 512] for mlp, the family's own otherwise).
            lr: Adam learning rate.
            beta: weight of the KL term (1 is the ELBO; >1 is the beta-VAE).
            recon_loss: likelihood p(x|z): ``bce`` (Bernoulli), ``mse`` (Gaussian) or ``l1``.
        """
        super().__init__(image_shape, latent_dim, backbone, hidden_dims, lr)
        self.beta = beta
        self.recon_loss = recon_loss
        # One encoder head for both mu and log sigma^2: (B, 2 * D). A conditional subclass (the CVAE)
        # feeds a condition vector of cond_dim entries to both networks; here there is none.
        cond_dim = self.condition_dim()
        self.encoder = self.backbone.encoder(self.image_shape, 2 * latent_dim, cond_dim=cond_dim)
        self.decoder = self.backbone.decoder(latent_dim + cond_dim, self.image_shape)

    def condition_dim(self) -> int:
        """Length of the condition vector c that encoder and decoder take: 0, the VAE has none."""
        return 0

    def condition(self, y: torch.Tensor | None) -> torch.Tensor | None:
        """Labels -> condition vector c (B, cond_dim); the VAE ignores labels."""
        return None

    def posterior(self, x: torch.Tensor, c: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """q(z|x) (or q(z|x, c)) as (mu, logvar), each (B, D)."""
        mu, logvar = self.encoder(x, c).chunk(2, dim=1)
        return mu, logvar

    def decoder_logits(self, z: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        """p(x|z) (or p(x|z, c)) as pixel logits (B, C, H, W); a condition is appended to the code."""
        return self.decoder(z if c is None else torch.cat([z, c], dim=1))

    def kl_term(self, mu: torch.Tensor, logvar: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        """KL(q(z|x) || p(z)) with the prior p(z) = N(0, I); a subclass with another prior overrides it."""
        return kl_to_standard_normal(mu, logvar)

    def encode(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.posterior(x, self.condition(y))[0]  # the posterior mean: the deterministic code

    def decode(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return torch.sigmoid(self.decoder_logits(z, self.condition(y)))

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        x, y = batch  # (B, C, H, W) in [0, 1]
        c = self.condition(y)  # None for the VAE
        mu, logvar = self.posterior(x, c)  # (B, D) each
        z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()  # reparameterisation trick
        recon = reconstruction_loss(self.decoder_logits(z, c), x, self.recon_loss)
        kl = self.kl_term(mu, logvar, c)
        loss = recon + self.beta * kl  # -ELBO (for beta = 1)
        self.log_train(batch_idx, loss=loss, recon=recon, kl=kl)
        return loss
