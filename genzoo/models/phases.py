"""``MultiPhase``: models that step several optimizers in one ``training_step`` (GANs, AAE, ALAE).

They use Lightning's manual optimization: each phase computes its loss and calls ``self.update(optimizer,
loss)``. Under DDP some of their parameters get no gradient in some phases, which ``setup`` tells any DDP
strategy to expect (genzoo.distributed).
"""

from __future__ import annotations

from typing import Any

import torch


class MultiPhase:
    """Mixin for a ``GenerativeModule`` trained in phases, one optimizer each: put it before the base class
    (``class GAN(MultiPhase, GenerativeModule)``), whose LightningModule methods it calls and extends."""

    multi_phase = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.automatic_optimization = False

    def setup(self, stage: str) -> None:
        from genzoo.distributed import prepare_strategy

        super().setup(stage)  # type: ignore[misc]
        prepare_strategy(self.trainer.strategy, self.multi_phase)

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
