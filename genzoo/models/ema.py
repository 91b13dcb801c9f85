"""Moving averages of a network's weights, swapped in outside training.

A generator's weights keep moving around a good solution as long as the game goes on; the average over
recent steps sits near its centre, and samples decoded with it are cleaner and more varied than those of
the last step (Karras et al. 2018, Yazici et al. 2019).

``Averaged`` wraps a network the way ``torch.optim.swa_utils.AveragedModel`` does: it holds the live
network and a copy that trails it. In training mode it computes with the live network, in eval mode
(validation, test, ``genzoo sample`` and ``eval``) with the average, so a model file simply calls
``self.generator(z)``. Both sets of weights are in the module's state, so a checkpoint keeps both and a
resumed run continues the average exactly. ``UpdateAverages`` steps every wrapper of a model after each
training batch; the model adds it itself (``GenerativeModule.configure_callbacks``), so the averages
follow in a plain ``pl.Trainer`` too.
"""

from __future__ import annotations

import copy
from typing import Any

import pytorch_lightning as pl
import torch
from torch import nn


class Averaged(nn.Module):
    """A network (``live``) and its exponential moving average (``average``): the average in eval mode."""

    def __init__(self, network: nn.Module, decay: float) -> None:
        super().__init__()
        self.live = network
        self.average = copy.deepcopy(network).requires_grad_(False)
        self.decay = decay
        self.register_buffer("updates", torch.zeros((), dtype=torch.long))  # the checkpointed step count
        self._count: int | None = None  # a Python mirror of ``updates``; None: read the buffer

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        return (self.live if self.training else self.average)(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        # Attributes of the network itself (a style generator's levels) read through the wrapper.
        try:
            return super().__getattr__(name)
        except AttributeError:
            return getattr(super().__getattr__("live"), name)

    def restart_count(self) -> None:
        """Read the step count from the buffer at the next update (it may come from a checkpoint)."""
        self._count = None

    @torch.no_grad()
    def update(self) -> None:
        """One step of the average towards the live weights."""
        self.updates += 1
        # Reading the buffer at every step would be a host sync on a GPU: once per fit, then the mirror.
        self._count = int(self.updates) if self._count is None else self._count + 1
        # Warm-up as in TensorFlow's ExponentialMovingAverage: early on, when the average would still be
        # mostly the random initial weights, it follows the live weights more closely.
        decay = min(self.decay, (1.0 + self._count) / (10.0 + self._count))
        torch._foreach_lerp_(list(self.average.parameters()), list(self.live.parameters()), 1.0 - decay)
        for avg_buffer, buffer in zip(self.average.buffers(), self.live.buffers()):
            avg_buffer.copy_(buffer)  # batch-norm statistics: the live ones


def averaged(network: nn.Module, decay: float) -> nn.Module:
    """``network`` with a moving average of its weights (decay per step) used outside training; 0: as it is.

    The decay's range is declared in the models' ``ema_decay: Fraction`` argument."""
    return Averaged(network, decay) if decay > 0 else network


def live(network: nn.Module) -> nn.Module:
    """The trained network inside ``network`` (itself, when it keeps no average)."""
    return network.live if isinstance(network, Averaged) else network


def averages(module: nn.Module) -> list[Averaged]:
    """Every averaged network in ``module``."""
    return [m for m in module.modules() if isinstance(m, Averaged)]


class UpdateAverages(pl.Callback):
    """Steps the model's moving averages after every training batch, before any checkpoint of that batch.

    A callback rather than the model's own ``on_train_batch_end``: Lightning calls callbacks first and puts
    checkpoint callbacks last among them, so a checkpoint written at the end of a batch (genzoo.checkpointing)
    holds the averages of that batch too.
    """

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        for average in averages(pl_module):
            average.restart_count()

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, *args: Any) -> None:
        for average in averages(pl_module):
            average.update()
