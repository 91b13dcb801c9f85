"""Autoencoder (AE).

Reference: Hinton & Salakhutdinov, "Reducing the Dimensionality of Data with Neural Networks",
Science 2006; the idea goes back to Rumelhart, Hinton & Williams (1986).

Idea: squeeze each image through a narrow code. An encoder E maps x to z = E(x) in R^d; a decoder
G maps it back; both are trained to make G(E(x)) equal x. Because d is much smaller than the number of
pixels, the code must keep what matters about the image and drop the rest.

Training: one phase per batch, minimise the reconstruction loss -log p(x | z = E(x)).

What it cannot do: nothing makes the codes of the training set fill any particular region, so decoding
a random z ("sampling") gives mostly garbage. ``sample`` here draws z from a Gaussian fitted to the
codes of the last training epoch, which is the best a plain AE offers, and the reason the VAE exists.
"""

from __future__ import annotations

from typing import Any

import torch

from genzoo.losses import ReconstructionKind, reconstruction_loss
from genzoo.models.base import GenerativeModule
from genzoo.ranges import PositiveInteger, PositiveNumber


class AE(GenerativeModule):
    default_max_epochs = 20

    def __init__(
        self,
        image_shape: tuple[PositiveInteger, PositiveInteger, PositiveInteger] = (1, 28, 28),
        latent_dim: PositiveInteger = 16,
        backbone: str = "mlp",
        hidden_dims: list[PositiveInteger] | None = None,
        lr: PositiveNumber = 1e-3,
        recon_loss: ReconstructionKind = "bce",
    ) -> None:
        """
        Args:
            image_shape: (channels, height, width) of the images; set from the data by the CLI.
            latent_dim: size of the code z.
            backbone: registered backbone family for encoder and decoder (``genzoo list``).
            hidden_dims: widths of the backbone's levels (default: the family's own).
            lr: Adam learning rate.
            recon_loss: reconstruction loss, ``bce``, ``mse`` or ``l1`` (see ``genzoo.losses``).
        """
        super().__init__(image_shape, latent_dim, backbone, hidden_dims, lr)
        self.recon_loss = recon_loss
        self.encoder = self.backbone.encoder(self.image_shape, latent_dim)
        self.decoder = self.backbone.decoder(latent_dim, self.image_shape)
        # Running moments of the codes, so that `sample` decodes codes that look like real ones.
        self.register_buffer("code_mean", torch.zeros(latent_dim))
        self.register_buffer("code_std", torch.ones(latent_dim))

    def encode(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.encoder(x)

    def decode(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return torch.sigmoid(self.decoder(z))

    def prior_sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        eps = torch.randn(n, self.latent_dim, generator=generator).to(self.device)
        return self.code_mean + self.code_std * eps

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        x, _ = batch  # (B, C, H, W) in [0, 1]
        z = self.encoder(x)  # (B, D)
        loss = reconstruction_loss(self.decoder(z), x, self.recon_loss)
        # Track the code distribution (an exponential moving average) for `sample`.
        with torch.no_grad():
            self.code_mean.lerp_(z.mean(0), 0.01)
            self.code_std.lerp_(z.std(0), 0.01)
        self.log_train(batch_idx, loss=loss)
        return loss
