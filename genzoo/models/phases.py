"""``MultiPhase``: models that step several optimizers in one ``training_step`` (GANs, AAE, ALAE).

They use Lightning's manual optimization: each phase computes its loss and calls ``self.update(optimizer,
loss)``. Under DDP some of their parameters get no gradient in some phases, which ``setup`` tells any DDP
strategy to expect (genzoo.distributed).

A model may also decay every optimizer's learning rate over the run (``lr_decay``): a game whose step
sizes shrink can settle where constant steps keep circling an equilibrium. The schedule is a function of
how far the run has got, recomputed before each batch, so a resumed run picks it up where it stopped.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import torch

from genzoo.errors import GenzooError

LrDecay = Literal["none", "linear", "cosine"]


def decay_factor(kind: LrDecay, progress: float) -> float:
    """The share of the initial learning rate at ``progress`` through the run (0: first batch, 1: the end)."""
    progress = min(max(progress, 0.0), 1.0)
    if kind == "linear":
        return 1.0 - progress
    if kind == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * progress))
    return 1.0


class MultiPhase:
    """Mixin for a ``GenerativeModule`` trained in phases, one optimizer each: put it before the base class
    (``class GAN(MultiPhase, GenerativeModule)``), whose LightningModule methods it calls and extends."""

    multi_phase = True
    lr_decay: LrDecay = "none"  # a model that offers the option sets it from its argument

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.automatic_optimization = False

    def setup(self, stage: str) -> None:
        from genzoo.distributed import prepare_strategy

        super().setup(stage)  # type: ignore[misc]
        prepare_strategy(self.trainer.strategy, self.multi_phase)
        if stage == "fit" and self.lr_decay != "none":
            self.run_progress(0)  # a run without a length is refused before its first step

    def on_train_batch_start(self, batch: Any, batch_idx: int) -> None:
        super().on_train_batch_start(batch, batch_idx)  # type: ignore[misc]
        if self.lr_decay == "none":
            return
        factor = decay_factor(self.lr_decay, self.run_progress(batch_idx))
        optimizers = self.optimizers()  # type: ignore[attr-defined]
        for optimizer in optimizers if isinstance(optimizers, list) else [optimizers]:
            for group in getattr(optimizer, "optimizer", optimizer).param_groups:
                group.setdefault("initial_lr", group["lr"])  # saved with the optimizer: a resume keeps it
                group["lr"] = group["initial_lr"] * factor

    def run_progress(self, batch_idx: int) -> float:
        """How far the run is, 0 to 1, by whichever of max_epochs and max_steps ends it first."""
        trainer = self.trainer  # type: ignore[attr-defined]
        shares = []
        if trainer.max_epochs is not None and trainer.max_epochs > 0:
            batches = max(trainer.num_training_batches, 1)
            shares.append((trainer.current_epoch + batch_idx / batches) / trainer.max_epochs)
        if trainer.max_steps is not None and trainer.max_steps > 0:  # counts optimizer steps, as the run does
            shares.append(trainer.global_step / trainer.max_steps)
        if not shares:
            raise GenzooError(
                f"--model.lr_decay {self.lr_decay} decays the learning rate over the run's length, but the run has "
                "none (max_time alone); give --trainer.max_epochs or --trainer.max_steps, or --model.lr_decay none"
            )
        return max(shares)

    def update(self, optimizer: Any, loss: torch.Tensor) -> None:
        """One phase of a manual-optimization step: zero grads, backward, step ``optimizer`` only.

        ``toggled_optimizer`` freezes the parameters of every other optimizer during the backward, so a
        phase cannot leak gradients into networks it is not training.
        """
        with self.toggled_optimizer(optimizer):  # type: ignore[attr-defined]
            optimizer.zero_grad(set_to_none=True)
            self.manual_backward(loss)  # type: ignore[attr-defined]
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
            super().toggle_optimizer(optimizer)  # type: ignore[misc]
        elif getattr(optimizer, "optimizer", optimizer) is not self._toggled:
            self._toggle_depth -= 1
            raise RuntimeError("toggled_optimizer: a phase of one optimizer cannot contain a phase of another")

    def untoggle_optimizer(self, optimizer: Any) -> None:
        self._toggle_depth -= 1
        if self._toggle_depth == 0:
            super().untoggle_optimizer(optimizer)  # type: ignore[misc]
