"""Adversarial autoencoder (AAE).

Reference: Makhzani, Shlens, Jaitly, Goodfellow & Frey, "Adversarial Autoencoders", ICLR workshop 2016
(arXiv:1511.05644, 2015).

Idea: keep the plain autoencoder (encoder q(z|x), decoder p(x|z)) and make its codes fill a chosen prior
p(z) by playing a GAN *in the latent space*. A discriminator D looks at codes and tells samples of the
prior ("real") from codes of images ("fake"); the encoder, acting as the GAN's generator, learns to fool
it. When it succeeds, the aggregated posterior q(z) = E_x[q(z|x)] matches p(z), so decoding a prior
sample gives a plausible image, and decoding a walk through the prior gives a smooth walk through images.

Training: two phases per batch, three optimizers (manual optimization):
  (1) reconstruction: encoder and decoder minimise the reconstruction loss -log p(x | z = E(x));
  (2) regularization: first D learns prior-vs-code, -log D(z') - log(1 - D(E(x))) with z' ~ p(z);
      then the encoder learns to fool it, -log D(E(x)) (the non-saturating GAN loss).
The encoder is in two optimizers (as in the paper and the classic PyTorch tutorial): Adam keeps separate
moments for its reconstruction steps and its adversarial steps, which run at different learning rates.

What changed from the VAE: the VAE pulls every q(z|x) towards N(0, I) with a KL term, which needs the
prior's density in closed form; the AAE only needs samples of p(z), so the prior can be anything (see
``genzoo.priors``: a wide Gaussian, a uniform box, ten Gaussian petals, a swiss roll). The encoder here is
deterministic (the paper's choice for its experiments); its randomness comes from the data alone.

Supervised variant (``supervised=True``, the paper's Figure 6): the decoder also gets the one-hot label
of the digit. The label then carries the class, so the code has no reason to: z learns *style* (slant,
stroke width) alone, and decoding one z with each of the ten labels writes ten digits in one hand.

Label information in the regularization (``label_prior=True``, the paper's section 2.3 and Figure 4): the
discriminator is also shown the one-hot label of each code, and the prior sample it sees beside label k
comes from the k-th petal of the ``mixture`` prior. To fool it, the encoder must put the codes of digit
k on petal k: each digit gets a petal of its own. The decoder still sees only z, so sampling a petal
draws that digit.

With ``latent_dim=2``, every validation epoch also saves a scatter plot of the validation images' codes,
coloured by digit, over samples of the prior, and the digit manifold: a grid of images decoded from
points covering the prior (``genzoo.latent.grids``, for any model with 2-D codes).
"""

from __future__ import annotations

from typing import Any

import torch

from genzoo.errors import GenzooError
from genzoo.losses import (
    ReconstructionKind,
    discriminator_accuracy,
    discriminator_loss,
    generator_loss,
    reconstruction_loss,
)
from genzoo.models.base import GenerativeModule, adam
from genzoo.models.phases import LrDecay, MultiPhase
from genzoo.nn.blocks import label_vectors, mlp, spectrally_normalised
from genzoo.priors import NUM_MIXTURE_COMPONENTS, PriorName, check_prior, mixture_of_labels, sample_prior
from genzoo.ranges import Fraction, NonNegativeInteger, PositiveInteger, PositiveNumber


class AAE(MultiPhase, GenerativeModule):
    default_widths = {"mlp": [512, 512, 512]}  # depth sharpens the samples (docs/models/aae.md)
    default_max_epochs = 18  # still improving there, and within the default run's time budget (docs/models/aae.md)

    def __init__(
        self,
        image_shape: tuple[PositiveInteger, PositiveInteger, PositiveInteger] = (1, 28, 28),
        latent_dim: PositiveInteger = 8,
        backbone: str = "mlp",
        hidden_dims: list[PositiveInteger] | None = None,
        latent_disc_dims: list[PositiveInteger] | None = None,
        prior: PriorName = "gaussian",
        prior_scale: PositiveNumber = 1.0,
        supervised: bool = False,
        label_prior: bool = False,
        num_classes: NonNegativeInteger = 10,
        recon_loss: ReconstructionKind = "bce",
        lr: PositiveNumber = 5e-4,
        lr_disc: PositiveNumber = 4e-4,
        lr_gen: PositiveNumber = 2e-4,
        betas: tuple[Fraction, Fraction] = (0.5, 0.999),
        spectral_norm: bool = False,
        lr_decay: LrDecay = "none",
    ) -> None:
        """
        Args:
            image_shape: (channels, height, width) of the images; set from the data by the CLI.
            latent_dim: size of the code z (paper: 2 for its figures, 8 for likelihood on MNIST).
            backbone: registered backbone family for encoder and decoder (``genzoo list``).
            hidden_dims: widths of the backbone's levels (paper, MNIST: [1000, 1000]; default: the family's own).
            latent_disc_dims: hidden widths of the latent discriminator MLP (paper: [1000, 1000]; default [256, 256]).
            prior: the distribution p(z) the codes are shaped into (see ``genzoo.priors``).
            prior_scale: std of ``gaussian`` (classic tutorial: 5), half-width of ``uniform``, zoom of the 2-D shapes.
            supervised: feed the one-hot label to the decoder, so that z keeps the style and the label the class.
            label_prior: show the discriminator each code's label and pair label k with prior samples from the
                k-th petal of the ``mixture`` prior, so that each class fills a petal of its own (paper, Fig. 4).
            num_classes: number of labels for ``supervised`` and ``label_prior`` (set from the data by the CLI).
            recon_loss: reconstruction loss, ``bce``, ``mse`` or ``l1`` (see ``genzoo.losses``).
            lr: Adam learning rate of the reconstruction phase (encoder and decoder).
            lr_disc: Adam learning rate of the discriminator in the regularization phase (twice lr_gen: the
                two-time-scale rule, a D that keeps up gives the encoder a sharper signal; docs/models/aae.md).
            lr_gen: Adam learning rate of the encoder when it learns to fool the discriminator.
            betas: Adam (beta1, beta2) of every optimizer.
            spectral_norm: spectral normalisation on every layer of the discriminator (Miyato et al. 2018).
            lr_decay: decay every learning rate to 0 over the run, ``linear`` or ``cosine`` (``none``: constant).
        """
        super().__init__(image_shape, latent_dim, backbone, hidden_dims, lr)
        check_prior(prior, latent_dim)
        if supervised and num_classes < 2:
            raise GenzooError(
                f"supervised AAE needs labelled data with at least 2 classes, got num_classes={num_classes}"
            )
        if label_prior and (prior != "mixture" or num_classes != NUM_MIXTURE_COMPONENTS):
            raise GenzooError(
                f"--model.label_prior pairs each of {NUM_MIXTURE_COMPONENTS} classes with a petal: it needs "
                f"--model.prior mixture and data with {NUM_MIXTURE_COMPONENTS} classes "
                f"(got prior {prior!r}, {num_classes} classes)"
            )
        self.prior, self.prior_scale = prior, prior_scale
        self.supervised, self.label_prior, self.num_classes = supervised, label_prior, num_classes
        self.conditional = supervised  # the base class then hands labels to encode/decode
        self.recon_loss = recon_loss
        self.lr_disc, self.lr_gen = lr_disc, lr_gen
        self.betas = tuple(betas)
        self.lr_decay = lr_decay
        self.encoder = self.backbone.encoder(self.image_shape, latent_dim)  # q(z|x): image -> z (B, D)
        cond_dim = num_classes if supervised else 0
        self.decoder = self.backbone.decoder(latent_dim + cond_dim, self.image_shape)  # p(x|z[,y]): -> logits
        disc_in = latent_dim + (num_classes if label_prior else 0)
        self.discriminator = mlp(disc_in, latent_disc_dims or [256, 256], 1)  # D: z [, y] -> logit of "prior" (B, 1)
        if spectral_norm:
            spectrally_normalised(self.discriminator)

    # ----- the shared API ------------------------------------------------------------------------
    def prior_sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return sample_prior(self.prior, n, self.latent_dim, self.prior_scale, generator).to(self.device)

    def encode(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.encoder(x)

    def decode(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """Codes (B, D) [+ labels (B,) or label weights (B, K) when supervised] -> images in [0, 1]."""
        return torch.sigmoid(self.decoder(self._decoder_input(z, y)))

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None, y: torch.Tensor | None = None) -> torch.Tensor:
        if self.supervised and y is None:  # no labels asked for: the classes in turn, 0, 1, 2, ...
            y = torch.arange(n, device=self.device) % self.num_classes
        return self.decode(self.prior_sample(n, generator), y)

    def _decoder_input(self, z: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        if not self.supervised:
            return z
        if y is None:
            raise GenzooError("the supervised AAE decodes a code together with its label; pass the labels y")
        if not self.training:  # training data were checked whole, once, in setup
            self.check_labelled(y)
        onehot = label_vectors(y, self.num_classes, z.dtype)
        return torch.cat([z, onehot], dim=1)  # (B, D + K)

    def discriminate(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """D: codes (B, D) [+ their labels (B,) with ``label_prior``] -> logit of "drawn from the prior" (B,)."""
        if self.label_prior:
            z = torch.cat([z, label_vectors(self._judged_labels(y), self.num_classes, z.dtype)], dim=1)
        return self.discriminator(z).squeeze(1)  # (B,); z: (B, D) or, with the labels, (B, D + K)

    def prior_for(self, y: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Prior samples to set beside codes with labels y: from their labels' petals with ``label_prior``."""
        if self.label_prior:
            petals = self._judged_labels(y).cpu()  # drawn on the CPU, as every prior (seeded draws repeat anywhere)
            return mixture_of_labels(petals, self.latent_dim, self.prior_scale, generator).to(self.device)
        return self.prior_sample(len(y), generator)

    def _judged_labels(self, y: torch.Tensor | None) -> torch.Tensor:
        if y is None:
            raise GenzooError("the AAE with label_prior judges codes together with their labels; pass y")
        if not self.training:
            self.check_labelled(y)
        return y

    def check_labelled(self, y: torch.Tensor, what: str = "images") -> None:
        """The supervised and label-prior AAE need the label of every image: unknown ones (-1, or a -1 in an
        attribute vector) are refused in one line, which says how to train on the labelled images only."""
        flag = "supervised" if self.supervised else "label_prior" if self.label_prior else None
        unknown = 0 if flag is None else int(((y < 0) if y.dim() == 1 else (y < 0).any(1)).sum())
        if unknown:
            raise GenzooError(
                f"--model.{flag} needs the label of every image, but {unknown:,} of the {len(y):,} {what} have none; "
                "pass --data.labelled_only true to use the labelled images only"
            )

    def setup(self, stage: str) -> None:
        super().setup(stage)
        splits = getattr(getattr(self.trainer, "datamodule", None), "splits", None) or {}
        for split in ("train", "val") if stage == "fit" else ():
            if split in splits:  # before the first step: the whole split, with a count
                self.check_labelled(splits[split].labels, f"{split} images")

    # ----- training ----------------------------------------------------------------------------
    def training_step(self, batch: Any, batch_idx: int) -> None:
        x, labels = batch  # (B, C, H, W) in [0, 1], labels (B,)
        opt_ae, opt_d, opt_enc = self.optimizers()
        y = labels if self.supervised else None  # what the decoder is told
        y_disc = labels if self.label_prior else None  # what the discriminator is told

        # (1) Reconstruction phase: encoder and decoder learn to rebuild x from its code.
        recon = reconstruction_loss(self.decoder(self._decoder_input(self.encoder(x), y)), x, self.recon_loss)
        self.update(opt_ae, recon)

        # (2) Regularization phase, first half: D learns to tell prior samples from codes.
        z_fake = self.encoder(x)  # (B, D), codes of the encoder just updated; graph reused below
        z_real = self.prior_for(labels)  # (B, D)
        both = None if y_disc is None else torch.cat([y_disc, y_disc])
        logits = self.discriminate(torch.cat([z_real, z_fake.detach()]), both)  # (2B,)
        real_logits, fake_logits = logits.chunk(2)
        loss_d = discriminator_loss(real_logits, fake_logits)
        self.update(opt_d, loss_d)

        # (2) Second half: the encoder learns to make its codes pass for prior samples. D is frozen for
        # the whole phase, forward pass included: gradients flow through it to the encoder only.
        with self.toggled_optimizer(opt_enc):
            loss_g = generator_loss(self.discriminate(z_fake, y_disc))
            self.update(opt_enc, loss_g)

        self.log_train(
            batch_idx, recon=recon, d=loss_d, g=loss_g, d_acc=discriminator_accuracy(real_logits, fake_logits)
        )

    def configure_optimizers(self) -> list[torch.optim.Optimizer]:
        enc, dec = list(self.encoder.parameters()), list(self.decoder.parameters())
        # In training_step's order: reconstruction (E + decoder), discriminator, regularization (E).
        return [
            adam(enc + dec, self.lr, self.betas),
            adam(list(self.discriminator.parameters()), self.lr_disc, self.betas),
            adam(enc, self.lr_gen, self.betas),
        ]

    @torch.no_grad()
    def discriminator_accuracies(
        self, x: torch.Tensor, y: torch.Tensor | None = None, generator: torch.Generator | None = None
    ) -> dict[str, torch.Tensor]:
        y = self._judged_labels(y) if self.label_prior else None
        z_real = self.prior_for(y, generator) if self.label_prior else self.prior_sample(len(x), generator)
        return {"latent": discriminator_accuracy(self.discriminate(z_real, y), self.discriminate(self.encode(x), y))}
