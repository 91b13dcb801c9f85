"""Callbacks every run gets from the CLI."""

from __future__ import annotations

import time
from typing import Any

import pytorch_lightning as pl


class ThroughputMonitor(pl.Callback):
    """Training speed per epoch: images/s and seconds, counting only training batches.

    Logged as ``throughput/images_per_s``, ``throughput/train_seconds`` (wall clock) and
    ``throughput/cpu_seconds`` (CPU time of this process, all threads: the cost that does not depend on
    what else the machine runs) at the end of each training epoch (validation time excluded).
    """

    def __init__(self) -> None:
        self._start = 0.0
        self._images = 0

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._images = 0
        self._start = time.perf_counter()
        self._cpu_start = time.process_time()

    def on_train_batch_end(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        self._images += len(batch[0])

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        seconds = time.perf_counter() - self._start
        # Per rank; with DDP, the total is world_size times this.
        record = {
            "images_per_s": self._images / max(seconds, 1e-9),
            "train_seconds": seconds,
            "cpu_seconds": time.process_time() - self._cpu_start,
        }
        pl_module.log_dict({f"throughput/{k}": v for k, v in record.items()}, on_epoch=True, sync_dist=False)
