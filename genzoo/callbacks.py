"""Callbacks: those every run gets from the CLI, and opt-in speed options (docs/performance.md)."""

from __future__ import annotations

import time
from typing import Any

import pytorch_lightning as pl
import torch
from pytorch_lightning.trainer.states import TrainerFn


class EpochThroughput(pl.Callback):
    """Training speed per epoch: images/s and seconds, counting only training batches.

    (Lightning has a ``ThroughputMonitor`` of its own, which counts differently: hence this name.)

    Logged as ``throughput/images_per_s``, ``throughput/train_seconds`` (wall clock) and
    ``throughput/cpu_seconds`` (CPU time of this process, all threads: the cost that does not depend on
    what else the machine runs) at the end of each training epoch (validation time excluded).

    Lightning (2.x) runs the end-of-epoch validation, with its per-epoch figures and checkpoint, *inside* the
    training epoch, before ``on_train_epoch_end``; its wall and CPU time are measured and taken out here, so
    the numbers are those of the training batches alone.
    """

    def __init__(self) -> None:
        self._start = 0.0
        self._images = 0
        self._paused = self._cpu_paused = 0.0  # validation time inside the current training epoch
        self._val_start = self._val_cpu_start = 0.0

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        # A run resumed mid-epoch starts without on_train_epoch_start: its clock starts here.
        self.on_train_epoch_start(trainer, pl_module)

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._images = 0
        self._start = time.perf_counter()
        self._cpu_start = time.process_time()
        self._paused = self._cpu_paused = 0.0

    def on_validation_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._val_start, self._val_cpu_start = time.perf_counter(), time.process_time()

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.state.fn == TrainerFn.FITTING:  # validation inside fit: take it out of the epoch's time
            self._paused += time.perf_counter() - self._val_start
            self._cpu_paused += time.process_time() - self._val_cpu_start

    def on_train_batch_end(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        self._images += len(batch[0])

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        seconds = time.perf_counter() - self._start - self._paused
        # Per rank; with DDP, the total is world_size times this.
        record = {
            "images_per_s": self._images / max(seconds, 1e-9),
            "train_seconds": seconds,
            "cpu_seconds": time.process_time() - self._cpu_start - self._cpu_paused,
        }
        pl_module.log_dict({f"throughput/{k}": v for k, v in record.items()}, on_epoch=True, sync_dist=False)


class CompileNetworks(pl.Callback):
    """``torch.compile`` every network of the model for training (``--trainer.callbacks+=CompileNetworks``).

    Compiles in place (``nn.Module.compile``), so parameter names, checkpoints and the moving averages are
    unchanged; the averages (used only outside training) are left uncompiled. The first batches pay the
    compilation (docs/performance.md has the cost), so it pays off only for long runs, and only where it
    is measured to help.
    """

    def __init__(self, mode: str | None = None, dynamic: bool | None = False) -> None:
        """
        Args:
            mode: torch.compile mode (None: the default; ``max-autotune``, ``reduce-overhead``).
            dynamic: compile for varying batch sizes (False: one graph per size, the fastest).
        """
        self.mode, self.dynamic = mode, dynamic

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        from genzoo.models.ema import live

        for network in map(live, pl_module.children()):  # an averaged network: its live part, trained
            if any(True for _ in network.parameters()):
                network.compile(mode=self.mode, dynamic=self.dynamic)


class ChannelsLast(pl.Callback):
    """Weights (and so the activations of conv nets) in channels-last memory order (NHWC).

    ``--trainer.callbacks+=ChannelsLast``. Applied in ``setup``, before the optimizers are built, so their
    state follows the same layout; the maths is unchanged. Whether it is faster depends on the convolution
    kernels of the hardware (docs/performance.md has the measurement on this CPU).
    """

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        pl_module.to(memory_format=torch.channels_last)
