"""GenerativeModule: the API every model in the zoo shares.

Every model can ``encode`` images to codes (if it has an encoder), ``decode`` codes to images,
``sample(n)`` from its prior and ``reconstruct(x)``. Validation reports the same reconstruction
error for every model with an encoder, and each epoch writes sample, reconstruction and interpolation
grids as PNG into the run folder (and to the active logger). Subclasses implement ``training_step``
and the networks; they never re-implement any of this.

Images enter the model in [0, 1]; decoders emit logits and ``decode`` applies the sigmoid.
"""

from __future__ import annotations

import copy
import inspect
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from torch import nn

from genzoo.errors import GenzooError
from genzoo.losses import mean_squared_error
from genzoo.nn.backbones import build_backbone
from genzoo.ranges import CheckedArguments, PositiveInteger, PositiveNumber
from genzoo.registry import MODELS
from genzoo.viz import paired_rows, to_unit_float

NUM_FIGURE_SAMPLES = 64


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
    #: arguments added to the model after its first checkpoints, with the value that meant the model as it
    #: was before (``load_model`` gives it to checkpoints that lack the argument)
    hparams_before_added: dict[str, Any] = {}

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
        # Several optimizers stepped by hand in one training_step (see ``multi_phase`` below).
        self.automatic_optimization = not self.multi_phase
        self.image_shape = tuple(image_shape)
        self.latent_dim = latent_dim
        self.lr = lr
        self.backbone = build_backbone(backbone, hidden_dims or self.default_widths.get(backbone))
        self.ema_decay = 0.0
        self.ema = nn.ModuleDict()  # name of a network -> its moving average (see ``track_average``)
        # logged loss terms -> whether each was finite at every training step that logged them (``log_train``)
        self._finite: dict[tuple[str, ...], torch.Tensor] = {}

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

    # ----- moving averages of the weights used for sampling -------------------------------------
    # A generator's weights keep moving around a good solution as long as the game goes on; the
    # average over recent steps sits near its centre, and samples decoded with it are cleaner and
    # more varied than those of the last step (Karras et al. 2018, Yazici et al. 2019). Models name
    # the networks to average; training uses the live networks, everything else (validation, test,
    # `genzoo sample` and `eval`, i.e. whenever the model is in eval mode) uses the averages.
    def track_average(self, decay: float, *names: str) -> None:
        """Keep an exponential moving average (decay per step) of the networks ``names``; 0: none.

        A subclass may call it again to add its own networks (AEGAN adds E to the GAN's G).
        """
        self.ema_decay = decay
        if decay > 0:
            for name in names:
                self.ema[name] = copy.deepcopy(getattr(self, name)).requires_grad_(False)
            self.register_buffer("ema_updates", torch.zeros((), dtype=torch.long))

    def averaged(self, name: str) -> nn.Module:
        """The network ``name`` to compute with: its moving average in eval mode, if it has one."""
        if not self.training and name in self.ema:
            return self.ema[name]
        return getattr(self, name)

    @torch.no_grad()
    def update_averages(self) -> None:
        # Warm-up as in TensorFlow's ExponentialMovingAverage: early on, when the average would
        # still be mostly the random initial weights, it follows the live weights more closely.
        self.ema_updates += 1  # the checkpointed count
        if self._ema_count is None:  # first step of a fit (new or resumed): one read of the buffer
            self._ema_count = int(self.ema_updates)
        else:  # a Python mirror of it afterwards: reading the buffer each step would be a host sync on a GPU
            self._ema_count += 1
        updates = self._ema_count
        decay = min(self.ema_decay, (1.0 + updates) / (10.0 + updates))
        for name, average in self.ema.items():
            live = getattr(self, name)
            torch._foreach_lerp_(list(average.parameters()), list(live.parameters()), 1.0 - decay)
            for avg_buffer, buffer in zip(average.buffers(), live.buffers()):
                avg_buffer.copy_(buffer)  # batch-norm statistics: the live ones

    _ema_count: int | None = None  # update_averages' mirror of ``ema_updates``; None: read the buffer

    # ----- manual optimization (models with several networks and optimizers) ------------------
    #: True for models that step several optimizers in one ``training_step`` (GANs, AAE, ALAE): they use
    #: Lightning's manual optimization (``self.update`` per phase). Under DDP some of their parameters get
    #: no gradient in some phases, which ``setup`` tells any DDP strategy to expect (genzoo.distributed).
    multi_phase: bool = False

    def setup(self, stage: str) -> None:
        from genzoo.distributed import prepare_strategy

        prepare_strategy(self.trainer.strategy, self.multi_phase)

    def update(self, optimizer: Any, loss: torch.Tensor) -> None:
        """One phase of a manual-optimization step: zero grads, backward, step ``optimizer`` only.

        ``toggled_optimizer`` freezes the parameters of every other optimizer during the backward, so a
        phase cannot leak gradients into networks it is not training.
        """
        with self.toggled_optimizer(optimizer):
            optimizer.zero_grad(set_to_none=True)
            self.manual_backward(loss)
            optimizer.step()

    # A phase may also freeze the other networks during its forward pass (sparing their weight gradients,
    # which it would throw away): ``with self.toggled_optimizer(opt): loss = ...; self.update(opt, loss)``.
    # Lightning's toggles do not nest: the inner one overwrites the saved requires_grad state, and the
    # other networks stay frozen after the block. Counting the depth makes the nested toggle a no-op.
    _toggle_depth: int = 0

    def toggle_optimizer(self, optimizer: Any) -> None:
        self._toggle_depth += 1
        if self._toggle_depth == 1:
            self._toggled = getattr(optimizer, "optimizer", optimizer)
            super().toggle_optimizer(optimizer)
        elif getattr(optimizer, "optimizer", optimizer) is not self._toggled:
            self._toggle_depth -= 1
            raise RuntimeError("toggled_optimizer: a phase of one optimizer cannot contain a phase of another")

    def untoggle_optimizer(self, optimizer: Any) -> None:
        self._toggle_depth -= 1
        if self._toggle_depth == 0:
            super().untoggle_optimizer(optimizer)

    # ----- logging helpers ---------------------------------------------------------------------
    def log_train(self, batch_idx: int, **values: torch.Tensor) -> None:
        """Log training losses every ``--trainer.log_every_n_steps`` batches only: logging costs speed.

        Skipping here, not only in Lightning's logger, also spares the host sync of each logged tensor.
        Every step also notes, on the device, whether each term is finite (no host sync); the notes are
        read when logging and before each checkpoint, so a diverged run stops before it can overwrite
        the last good checkpoint with NaN weights.
        """
        finite = torch.isfinite(torch.stack([v.detach().float() for v in values.values()]))
        # Notes per set of logged terms: a step that logs other terms (an R1 step every few batches) keeps
        # its own note, instead of wiping the notes of the usual steps since the last check.
        names = tuple(values)
        seen = self._finite.get(names)
        self._finite[names] = finite if seen is None else seen & finite
        every = self.trainer.log_every_n_steps if self._trainer is not None else 1
        if batch_idx % max(1, every) == 0:
            self.check_finite()
            self.log_dict({f"train/{k}": v.detach() for k, v in values.items()}, on_step=True, on_epoch=False)

    def check_finite(self) -> None:
        """Stop the run with one line if a loss term has been NaN or infinite since the last check."""
        bad = [(names, finite) for names, finite in self._finite.items() if not bool(finite.all())]
        if not bad:
            return
        names, finite = bad[0]
        term = names[int((~finite).nonzero()[0])]
        callback = self.trainer.checkpoint_callback
        last = Path(callback.dirpath) / "last.ckpt" if callback is not None and callback.dirpath else None
        kept = f"the last good checkpoint {last} is kept" if last and last.is_file() else "no checkpoint was written"
        raise GenzooError(
            f"{MODELS.name_of(self) or type(self).__name__} diverged: loss term '{term}' became non-finite "
            f"by step {self.trainer.global_step}; {kept}; lower --model.lr or check the data"
        )

    # Checkpoints are written after validation (or at the end of the epoch when there is none): check first.
    def on_validation_start(self) -> None:
        if not self.trainer.sanity_checking:
            self.check_finite()

    def on_train_epoch_end(self) -> None:
        self.check_finite()

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

    def figures(self, x: torch.Tensor, y: torch.Tensor) -> dict[str, tuple[torch.Tensor, int]]:
        """Images to save each epoch: name -> (images (N, C, H, W) in [0, 1], images per row).

        ``x``, ``y``: the first validation images (up to 32) and their labels.

        Subclasses add their own (latent scatter plots, attribute edits) by extending this dict.
        """
        g = torch.Generator().manual_seed(0)  # the same codes every epoch, so progress is visible
        figs = {"samples": (self.sample(NUM_FIGURE_SAMPLES, generator=g), 8)}
        if self.has_encoder and len(x) >= 16:  # tiny validation sets (a test fixture) get samples only
            x = x[:16]
            figs["reconstructions"] = (paired_rows(x, self.reconstruct(x)), 8)
            figs["interpolations"] = (self.interpolate(x[:8], x[8:16], steps=10), 10)
        return figs

    def on_train_start(self) -> None:
        self._ema_count = None  # the counter may come from a checkpoint: read it again on the first step
        # seed_everything gives every DDP rank the same seed (so does the CLI: workers inherit rank 0's).
        # The parameters are broadcast from rank 0 anyway, but the noise is not: without an offset every
        # rank would draw the same z, and a GAN's 2 x B codes per step would hold only B distinct ones.
        # A resumed run continues each rank's own streams, saved in the checkpoint (``on_save_checkpoint``).
        if self.trainer.world_size > 1 and not self._rng_restored:
            torch.manual_seed((torch.initial_seed() + self.trainer.global_rank) % 2**63)

    def configure_callbacks(self) -> list[pl.Callback]:
        # The per-epoch figures are drawn by the latent toolkit's callback (genzoo.latent.callback), so that
        # they and its pictures go to the run folder and the loggers one way. A LatentPictures the user gave
        # the Trainer (another interval, more pictures) is kept: Lightning would let this one replace it.
        from genzoo.latent.callback import LatentPictures

        callbacks: list[pl.Callback] = [UpdateAverages()] if len(self.ema) else []
        callbacks.append(LatentPictures())
        # Lightning asks again for each trainer.fit/test: what the trainer already has, it keeps.
        return [c for c in callbacks if not any(isinstance(have, type(c)) for have in self.trainer.callbacks)]

    # ----- checkpoints -----------------------------------------------------------------------
    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        # Remember which registered model wrote this, so `genzoo sample --ckpt` can rebuild it.
        checkpoint["genzoo_model"] = MODELS.name_of(self)
        # Lightning keeps epoch, step, optimizers and schedulers; the random streams (noise) are ours to
        # keep, so a resumed run draws what the uninterrupted one would have drawn. Every rank draws its own
        # noise, and rank 0 alone writes the file: it holds all ranks' states, gathered here (a collective:
        # Lightning builds the checkpoint on every rank).
        states = rng_states()
        if self._trainer is not None and self.trainer.world_size > 1:
            states = gather_objects(states)
        checkpoint["genzoo_rng"] = states if isinstance(states, list) else [states]

    _rng_restored = False

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        # Resuming a fit (a trainer is attached; `genzoo sample` loads without one): continue this rank's
        # random streams where the checkpoint left them, if it holds one per rank as this run has.
        saved = checkpoint.get("genzoo_rng")
        if self._trainer is not None and saved is not None:
            saved = saved if isinstance(saved, list) else [saved]
            if len(saved) == self.trainer.world_size:
                restore_rng_states(saved[self.trainer.global_rank])
                self._rng_restored = True
        # A checkpoint written before its model kept moving averages has none: start them from the
        # trained weights, so old checkpoints load and sample exactly as they did.
        state = checkpoint.get("state_dict", {})
        for name in self.ema:
            if not any(key.startswith(f"ema.{name}.") for key in state):
                live = {key: value for key, value in state.items() if key.startswith(f"{name}.")}
                state.update({f"ema.{key}": value.clone() for key, value in live.items()})
        if len(self.ema) and "ema_updates" not in state:
            state["ema_updates"] = torch.zeros((), dtype=torch.long)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return adam(self.parameters(), lr=self.lr)


def rng_states() -> dict[str, Any]:
    """The state of every random stream a run draws from: Python, numpy, torch (CPU and CUDA)."""
    import random

    import numpy as np

    # Tensors and plain Python values only: Lightning resumes with torch.load(weights_only=True).
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    states: dict[str, Any] = {"python": random.getstate(), "torch": torch.get_rng_state()}
    states["numpy"] = (kind, torch.from_numpy(keys.astype(np.int64)), int(pos), int(has_gauss), float(cached))
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def gather_objects(value: Any) -> list[Any]:
    """Every rank's ``value``, in rank order, on every rank (a collective)."""
    import torch.distributed as dist

    gathered: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(gathered, value)
    return gathered


class UpdateAverages(pl.Callback):
    """Steps the model's moving averages after every training batch, before any checkpoint of that batch.

    A callback rather than the model's own ``on_train_batch_end``: Lightning calls callbacks first and puts
    checkpoint callbacks last among them, so a checkpoint written at the end of a batch (genzoo.checkpointing)
    holds the averages of that batch too.
    """

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, *args: Any) -> None:
        pl_module.update_averages()


def restore_rng_states(states: dict[str, Any]) -> None:
    import random

    import numpy as np

    random.setstate(states["python"])
    kind, keys, pos, has_gauss, cached = states["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(states["torch"].cpu())
    if "cuda" in states and torch.cuda.is_available() and len(states["cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(states["cuda"])


def adam(
    params: Any, lr: float, betas: tuple[float, float] = (0.9, 0.999), weight_decay: float = 0.0
) -> torch.optim.Adam:
    """Adam for every model in the zoo: the fused implementation wherever torch has one.

    ``params`` is an iterable of parameters or of param-group dicts. On a CPU the fused kernel makes the
    optimizer step several times cheaper than torch's default per-tensor loop (docs/performance.md),
    which matters for the small models of the CPU recipes; the update is the same.
    """
    params = list(params)
    tensors = [p for group in params for p in (group["params"] if isinstance(group, dict) else [group])]
    fused = bool(tensors) and all(p.device.type in ("cpu", "cuda") and p.is_floating_point() for p in tensors)
    return torch.optim.Adam(params, lr=lr, betas=betas, weight_decay=weight_decay, fused=fused or None)
