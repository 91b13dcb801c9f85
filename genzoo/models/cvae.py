"""Conditional variational autoencoder (CVAE).

Reference: Sohn, Lee & Yan, "Learning Structured Output Representation using Deep Conditional Generative
Models", NeurIPS 2015; the same model is "M2 with labels given" in Kingma, Rezende, Mohamed & Welling,
"Semi-Supervised Learning with Deep Generative Models", NeurIPS 2014.

Idea: model the images of a given condition c (a digit class, a set of face attributes) with a VAE whose
networks are both told c. The decoder is p(x | z, c), the encoder q(z | x, c), the prior stays
p(z) = N(0, I), and the bound is the VAE's with c added everywhere:

    log p(x | c) >= E_q(z|x,c)[log p(x | z, c)] - KL(q(z | x, c) || p(z)).

What changed from the VAE: the networks take c (the encoder as extra input channels, the decoder as extra
entries of the code); nothing else. Because the decoder is given the label, the code z need not carry it
and learns what the label does not say: the slant and stroke of a digit, the pose and light of a face.
So sampling z with a chosen c draws an image *of that class*, and decoding one image's z under another c
changes the class and keeps the style: attribute editing by flipping the condition.

Conditions: integer class labels (MNIST) become one-hot vectors inside the model; multi-label attribute
vectors (CelebA's 40 attributes, 0/1) are used as they are. Any float vector of the right length is taken
as a condition too, so conditions can be interpolated. The model needs labels: the CLI gives it the
labelled images only (``labelled_only``).

The option ``prior="learned"`` (the default is ``standard``) goes further than "c appended to the inputs":
Sohn et al.'s CVAE has a prior network p(z | c) rather than one N(0, I) for every class. Here it is a linear map from
the condition to a mean and a log-variance per code dimension (for one-hot c: a learned N(mu_c, diag(sigma_c^2))
per class, starting at N(0, I)); the KL term becomes KL(q(z|x, c) || p(z|c)) and sampling with c draws z
from p(z|c). With one N(0, I) for all classes, each class's codes must fill the whole prior, and a prior draw
that falls between the codes of training images decodes to a blur of several styles; a prior per class can
follow where the codes of that class lie. It is not the default because it costs attribute editing: a code
encoded under one class lies in that class's prior, and decoded under another class it reads as that class
less often (docs/models/cvae.md). ``prior="standard"`` is the plain N(0, I).

Training: one phase per batch, the VAE's step with the condition: minimise reconstruction + beta * KL.
"""

from __future__ import annotations

from typing import Any, Literal

import torch
from torch import nn

from genzoo.errors import GenzooError
from genzoo.losses import ReconstructionKind, kl_between_normals
from genzoo.models.vae import VAE
from genzoo.nn.blocks import label_vectors
from genzoo.ranges import NonNegativeInteger, NonNegativeNumber, PositiveInteger, PositiveNumber


class CVAE(VAE):
    conditional = True
    needs_labels = True
    # Two hidden levels and beta 2: the decoder must draw the asked-for digit from any prior code, not only
    # reconstruct; a learned prior p(z|c) per digit draws it more often still (prior="learned"). The ablation
    # behind these choices is in docs/models/cvae.md.
    default_widths = {"mlp": [512, 512]}
    default_max_epochs = 30

    def __init__(
        self,
        image_shape: tuple[PositiveInteger, PositiveInteger, PositiveInteger] = (1, 28, 28),
        latent_dim: PositiveInteger = 8,
        backbone: str = "mlp",
        hidden_dims: list[PositiveInteger] | None = None,
        lr: PositiveNumber = 1e-3,
        beta: NonNegativeNumber = 2.0,
        recon_loss: ReconstructionKind = "bce",
        num_classes: NonNegativeInteger = 10,
        class_names: list[str] | None = None,
        multi_label: bool = False,
        prior: Literal["standard", "learned"] = "standard",
    ) -> None:
        """
        Args:
            image_shape: (channels, height, width) of the images; set from the data by the CLI.
            latent_dim: size of the code z.
            backbone: registered backbone family for encoder and decoder (``genzoo list``).
            hidden_dims: widths of the backbone's levels (default: [512, 512] for mlp, the family's own otherwise).
            lr: Adam learning rate.
            beta: weight of the KL term (1 is the ELBO; > 1 presses the code harder towards the prior).
            recon_loss: likelihood p(x|z, c): ``bce`` (Bernoulli), ``mse`` (Gaussian) or ``l1``.
            num_classes: length of the condition vector (classes or attributes); set from the data by the CLI.
            class_names: name of each class or attribute, kept in the checkpoint for ``genzoo sample --cond``.
            multi_label: labels are 0/1 attribute vectors (CelebA) rather than one class per image (MNIST).
            prior: p(z | c): ``standard`` (N(0, I) whatever c) or ``learned`` (a Gaussian per condition,
                mean and log-variance linear in c; Sohn et al.'s prior network).
        """
        if num_classes < 1:
            raise GenzooError(
                "cvae needs labelled data (num_classes >= 1): train it on mnist, celeba, or a folder "
                "with one subfolder per class (--data folder --data.labels subfolders)"
            )
        if class_names is not None and len(class_names) != num_classes:
            raise GenzooError(f"cvae: {len(class_names)} class_names for {num_classes} classes")
        super().__init__(image_shape, latent_dim, backbone, hidden_dims, lr, beta, recon_loss)
        self.prior = prior
        if prior == "learned":
            # c -> (mean, log-variance) of p(z|c); zero weights: training starts from the N(0, I) prior.
            self.prior_net = nn.Linear(num_classes, 2 * latent_dim)
            nn.init.zeros_(self.prior_net.weight)
            nn.init.zeros_(self.prior_net.bias)
        self.num_classes = num_classes
        self.class_names = list(class_names) if class_names else [str(i) for i in range(num_classes)]
        self.multi_label = multi_label
        # How often each label is on in the training data: `sample` draws attributes with these odds.
        self.register_buffer("label_sum", torch.zeros(num_classes))
        self.register_buffer("label_count", torch.zeros(()))

    def condition_dim(self) -> int:
        # Called by VAE.__init__ to size the networks; save_hyperparameters() has run by then.
        return self.hparams["num_classes"]

    def condition(self, y: torch.Tensor | None) -> torch.Tensor:
        """Labels -> condition vectors (B, num_classes): class indices one-hot, vectors as they are."""
        if y is None:
            raise ValueError("the CVAE needs labels y: class indices (B,) or attribute vectors (B, num_classes)")
        return label_vectors(y, self.num_classes, self.label_sum.dtype)

    # ----- the prior p(z | c) -------------------------------------------------------------------
    def conditional_prior(self, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """p(z | c) as (mu, logvar), each (B, D): zeros for the standard prior."""
        if self.prior == "learned":
            mu, logvar = self.prior_net(c).chunk(2, dim=1)
            return mu, logvar
        zeros = c.new_zeros(len(c), self.latent_dim)
        return zeros, zeros

    def kl_term(self, mu: torch.Tensor, logvar: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        """KL(q(z|x, c) || p(z|c))."""
        if self.prior == "standard":
            return super().kl_term(mu, logvar, c)
        return kl_between_normals(mu, logvar, *self.conditional_prior(c))

    def prior_codes(self, y: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """Codes of p(z | c) for labels y from standard-normal noise (B, D): z = mu_c + sigma_c * noise."""
        mu, logvar = self.conditional_prior(self.condition(y.to(self.device)))
        return mu + (0.5 * logvar).exp() * noise.to(mu)

    def prior_sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n codes of p(z): N(0, I), or for a learned prior the mixture of p(z|c) over the default conditions
        (classes in turn, attributes at their training frequencies)."""
        noise = super().prior_sample(n, generator)
        if self.prior == "standard":
            return noise
        return self.prior_codes(self.default_labels(n, generator), noise)

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        x, y = batch
        if batch_idx == 0 and bool((y < 0).any()):  # checked once per epoch: a check per step costs a sync
            raise GenzooError("cvae: some training images have no label (-1); pass --data.labelled_only true")
        with torch.no_grad():
            c = self.condition(y)
            self.label_sum += c.sum(0)
            self.label_count += len(c)
        return super().training_step(batch, batch_idx)  # the VAE's ELBO step, with y as the condition

    # ----- sampling with conditions -------------------------------------------------------------
    def label_frequencies(self) -> torch.Tensor:
        """(num_classes,) share of training images with each label on (0.5 before any training)."""
        if self.label_count <= 0:
            return torch.full_like(self.label_sum, 0.5)
        return self.label_sum / self.label_count

    def default_labels(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Conditions for ``sample`` when none are given: classes in turn, or attributes drawn at their
        training-set frequencies (each independently)."""
        if self.multi_label:
            return torch.bernoulli(self.label_frequencies().cpu().expand(n, -1), generator=generator)
        return torch.arange(n) % self.num_classes

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None, y: torch.Tensor | None = None) -> torch.Tensor:
        if y is None:
            y = self.default_labels(n, generator)
        y = y.to(self.device)
        z = self.prior_codes(y, super().prior_sample(n, generator))  # z ~ p(z | c), from N(0, I) noise
        return self.decode(z, y)
