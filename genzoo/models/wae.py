"""Wasserstein autoencoder with the MMD penalty (WAE-MMD).

Reference: Tolstikhin, Bousquet, Gelly & Schoelkopf, "Wasserstein Auto-Encoders", ICLR 2018.

Idea: a VAE asks the code q(z|x) of *every single* image to match the prior p(z), which pulls the codes
of different images onto each other and blurs the samples. What sampling needs is weaker: the codes of
*all* images together, the aggregate q(z) = E_x q(z|x), should look like the prior, so that a prior
sample decodes to something the decoder has seen. The WAE minimises a reconstruction cost plus a
divergence between q(z) and p(z), which bounds the optimal-transport (Wasserstein) distance between the
data and the model's samples. Codes may then be deterministic, and images keep their own code.

Training: one phase per batch. Encode the batch, z = E(x); draw as many prior samples z' ~ N(0, I);
minimise  c(x, G(z)) + lambda * MMD_k(z, z'), where MMD is the maximum mean discrepancy between the two
sets under a kernel k (``losses.mmd``). The paper's MNIST setting: 8-d codes, lambda 10, the inverse
multiquadratic kernel with its scale C = 2 * d * sigma^2 (sigma^2 = 1, the prior's variance).

Compared with the AAE, the other way to match q(z) to p(z): the MMD is a closed-form sample statistic,
so there is no discriminator, no second optimizer and no adversarial game to keep in balance.
"""

from __future__ import annotations

from typing import Any

import torch

from genzoo.losses import ReconstructionKind, mmd, reconstruction_loss
from genzoo.models.base import GenerativeModule
from genzoo.ranges import NonNegativeNumber, PositiveInteger, PositiveNumber


class WAE(GenerativeModule):
    default_max_epochs = 20
    default_widths = {"mlp": [512, 512]}

    def __init__(
        self,
        image_shape: tuple[PositiveInteger, PositiveInteger, PositiveInteger] = (1, 28, 28),
        latent_dim: PositiveInteger = 8,
        backbone: str = "mlp",
        hidden_dims: list[PositiveInteger] | None = None,
        lr: PositiveNumber = 1e-3,
        recon_loss: ReconstructionKind = "mse",
        mmd_weight: NonNegativeNumber = 10.0,
    ) -> None:
        """
        Args:
            image_shape: (channels, height, width) of the images; set from the data by the CLI.
            latent_dim: size of the code z (the paper: 8 for MNIST).
            backbone: registered backbone family for encoder and decoder (``genzoo list``).
            hidden_dims: widths of the backbone's levels (default: the family's own).
            lr: Adam learning rate.
            recon_loss: reconstruction cost c, ``mse`` (the paper's squared L2), ``bce`` or ``l1``.
            mmd_weight: lambda, the weight of the MMD between the codes and the prior (the paper: 10).
        """
        super().__init__(image_shape, latent_dim, backbone, hidden_dims, lr)
        self.recon_loss = recon_loss
        self.mmd_weight = mmd_weight
        self.encoder = self.backbone.encoder(self.image_shape, latent_dim)  # deterministic: x -> z (B, D)
        self.decoder = self.backbone.decoder(latent_dim, self.image_shape)  # z -> logits (B, C, H, W)

    def encode(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.encoder(x)

    def decode(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return torch.sigmoid(self.decoder(z))

    # prior_sample: the base class's N(0, I), the p(z) the MMD term pulls the codes towards.

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        x, _ = batch  # (B, C, H, W) in [0, 1]
        z = self.encoder(x)  # (B, D)
        recon = reconstruction_loss(self.decoder(z), x, self.recon_loss)
        # The kernel's scale follows the prior's: C = 2 * D * sigma^2 with sigma^2 = 1.
        match = mmd(z, self.prior_sample(len(x)), scale=2.0 * self.latent_dim)
        loss = recon + self.mmd_weight * match
        self.log_train(batch_idx, loss=loss, recon=recon, mmd=match)
        return loss
