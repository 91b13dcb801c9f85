"""GenerativeModule: the API every model in the zoo shares.

Every model can ``encode`` images to codes (if it has an encoder), ``decode`` codes to images,
``sample(n)`` from its prior and ``reconstruct(x)``. Validation and test report the same reconstruction
error for every model with an encoder. Subclasses implement ``training_step`` and the networks; they never
re-implement any of this. The rest lives beside it, one job per module: moving averages of weights
(``models/ema.py``), training in several phases (``models/phases.py``), the divergence stop
(``genzoo/divergence.py``), each rank's random streams (``genzoo/random_streams.py``) and the per-epoch
pictures (``genzoo/latent/``).

Images enter the model in [0, 1]; decoders emit logits and ``decode`` applies the sigmoid.
"""

from __future__ import annotations

import inspect
from typing import Any

import pytorch_lightning as pl
import torch

from genzoo.checkpoint_format import FORMAT_VERSION
from genzoo.divergence import note_finite
from genzoo.losses import mean_squared_error
from genzoo.nn.backbones import build_backbone
from genzoo.ranges import CheckedArguments, PositiveInteger, PositiveNumber
from genzoo.registry import MODELS
from genzoo.viz import to_unit_float


class GenerativeModule(CheckedArguments, pl.LightningModule):
    """Base class of every model. ``image_shape`` comes from the datamodule (the CLI links it)."""

    #: whether the model maps images to codes (AE family) or only codes to images (GAN)
    has_encoder: bool = True
    #: epochs that ``genzoo fit`` trains when no --trainer.max_epochs (or max_steps, max_time) is given:
    #: how long the model's default hyper-parameters are tuned to train on MNIST (its recipe)
    default_max_epochs: int = 10
    #: widths the model's default ``hidden_dims`` (None) stand for, per backbone family; a family not
    #: named here uses its own default. Per family, because an MLP width is not a conv channel count.
    default_widths: dict[str, list[int]] = {}
    #: True for models trained in several phases with several optimizers (``models/phases.py``)
    multi_phase: bool = False

    def __init__(
        self,
        image_shape: tuple[PositiveInteger, PositiveInteger, PositiveInteger] = (1, 28, 28),
        latent_dim: PositiveInteger = 16,
        backbone: str = "mlp",
        hidden_dims: list[PositiveInteger] | None = None,
        lr: PositiveNumber = 1e-3,
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        # The CLI links the data's properties to every model (num_classes, class_names...), and LightningCLI
        # records each link in the hyper-parameters, also one this model does not take; keep its own only.
        accepted = inspect.signature(type(self).__init__).parameters
        for key in [k for k in self.hparams if k not in accepted and not k.startswith("_")]:
            del self.hparams[key]
        self.image_shape = tuple(image_shape)
        self.latent_dim = latent_dim
        self.lr = lr
        self.backbone = build_backbone(backbone, hidden_dims or self.default_widths.get(backbone))

    # ----- the shared API ---------------------------------------------------------------------
    # ``y`` is the condition (labels) of conditional models (CVAE, supervised AAE); others ignore it.
    conditional: bool = False
    #: the model cannot train without labels (the CVAE): the CLI and bench give it labelled images only
    needs_labels: bool = False

    def encode(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """Images (B, C, H, W) in [0, 1] -> codes (B, latent_dim); deterministic (the mean, for a VAE)."""
        raise NotImplementedError(f"{type(self).__name__} has no encoder")

    def decode(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """Codes (B, latent_dim) -> images (B, C, H, W) in [0, 1]."""
        raise NotImplementedError

    def prior_sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n codes from the model's prior p(z); a standard normal unless the model says otherwise."""
        return torch.randn(n, self.latent_dim, generator=generator).to(self.device)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None, y: torch.Tensor | None = None) -> torch.Tensor:
        """n new images (n, C, H, W) in [0, 1], decoded from prior samples (with condition y, if given)."""
        return self.decode(self.prior_sample(n, generator), y)

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """decode(encode(x)): images in [0, 1] -> their reconstructions."""
        return self.decode(self.encode(x, y), y)

    @torch.no_grad()
    def interpolate(self, x_a: torch.Tensor, x_b: torch.Tensor, steps: int = 8) -> torch.Tensor:
        """Encode two batches of images, walk the straight line between codes, decode.

        Returns (B * steps, C, H, W): row i goes from x_a[i] to x_b[i].
        """
        return self.decode_path(self.encode(x_a), self.encode(x_b), steps)

    @torch.no_grad()
    def encode_all(
        self, images: torch.Tensor, labels: torch.Tensor | None = None, batch_size: int = 256
    ) -> torch.Tensor:
        """Codes (N, latent_dim) on the CPU of many images (uint8 or [0, 1]), encoded in batches on the model's
        device; conditional models are given their ``labels``."""
        codes = []
        for start in range(0, len(images), batch_size):
            x = to_unit_float(images[start : start + batch_size], self.device)
            y = labels[start : start + batch_size].to(self.device) if self.conditional and labels is not None else None
            codes.append(self.encode(x, y).float().flatten(1).cpu())
        return torch.cat(codes)

    @torch.no_grad()
    def decode_path(self, z_a: torch.Tensor, z_b: torch.Tensor, steps: int = 8) -> torch.Tensor:
        """Decode ``steps`` evenly spaced codes on each straight line z_a[i] -> z_b[i]; (B * steps, C, H, W)."""
        from genzoo.latent.ops import decode_grid, path

        return decode_grid(self, path(z_a, z_b, steps)).flatten(0, 1)

    @torch.no_grad()
    def discriminator_accuracies(
        self, x: torch.Tensor, y: torch.Tensor | None = None, generator: torch.Generator | None = None
    ) -> dict[str, torch.Tensor]:
        """Adversarial models: how often each discriminator tells real from fake (0.5 is chance).

        Judged on the real images ``x`` and on fakes made from prior codes drawn with ``generator``;
        returns discriminator name -> accuracy. Models without a discriminator return an empty dict.
        """
        return {}

    # ----- logging --------------------------------------------------------------------------
    def log_train(self, batch_idx: int, **values: torch.Tensor) -> None:
        """Log training losses every ``--trainer.log_every_n_steps`` batches only: logging costs speed.

        Skipping here, not only in Lightning's logger, also spares the host sync of each logged tensor.
        Every step also notes, on the device, whether each term is finite (no host sync): the divergence
        stop (``genzoo.divergence``) reads the notes.
        """
        note_finite(self, values)
        every = self.trainer.log_every_n_steps if self._trainer is not None else 1
        if batch_idx % max(1, every) == 0:
            self.log_dict({f"train/{k}": v.detach() for k, v in values.items()}, on_step=True, on_epoch=False)

    # ----- evaluation shared by every model ------------------------------------------------------
    def _recon_error(self, batch: Any, stage: str) -> None:
        x, y = batch
        if self.has_encoder:
            mse = mean_squared_error(self.reconstruct(x, y if self.conditional else None), x)
            self.log(f"{stage}/recon_mse", mse, prog_bar=stage == "val", sync_dist=True)

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        self._recon_error(batch, "val")

    def test_step(self, batch: Any, batch_idx: int) -> None:
        self._recon_error(batch, "test")

    def configure_callbacks(self) -> list[pl.Callback]:
        # The one callback the model's own weights need, with any Trainer: its moving averages follow the
        # live weights. Everything a run adds (pictures, the divergence stop, random streams) the CLI adds.
        from genzoo.models.ema import UpdateAverages, averages

        if not averages(self) or any(isinstance(have, UpdateAverages) for have in self.trainer.callbacks):
            return []
        return [UpdateAverages()]

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        # Which registered model wrote this, so `genzoo sample --ckpt` can rebuild it, in which format.
        checkpoint["genzoo_model"] = MODELS.name_of(self)
        checkpoint["format_version"] = FORMAT_VERSION

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return adam(self.parameters(), lr=self.lr)


def adam(
    params: Any, lr: float, betas: tuple[float, float] = (0.9, 0.999), weight_decay: float = 0.0
) -> torch.optim.Adam:
    """Adam for every model in the zoo: the fused implementation wherever torch has one.

    ``params`` is an iterable of parameters or of param-group dicts; parameters that take no gradient (the
    moving averages of an averaged network, ``models/ema.py``) are left out. On a CPU the fused kernel makes the
    optimizer step several times cheaper than torch's default per-tensor loop (docs/performance.md),
    which matters for the small models of the CPU recipes; the update is the same.
    """
    params = [
        {**p, "params": [q for q in p["params"] if q.requires_grad]} if isinstance(p, dict) else p
        for p in params
        if isinstance(p, dict) or p.requires_grad
    ]
    tensors = [p for group in params for p in (group["params"] if isinstance(group, dict) else [group])]
    fused = bool(tensors) and all(p.device.type in ("cpu", "cuda") and p.is_floating_point() for p in tensors)
    return torch.optim.Adam(params, lr=lr, betas=betas, weight_decay=weight_decay, fused=fused or None)
