"""Test-only callback: a signal sent to this process at a chosen training batch, as a scheduler would send it.

``--trainer.callbacks+=signal_probe.SendSignal --trainer.callbacks.at_batch 7`` (with ``PYTHONPATH=tests``)
sends SIGTERM to the process of global rank 0 while it trains its 8th batch (counted over the whole run),
so that tests stop a run at a known place mid-epoch without racing against it.
"""

from __future__ import annotations

import os
import signal
from typing import Any

import pytorch_lightning as pl


class SendSignal(pl.Callback):
    def __init__(self, at_batch: int, signal_name: str = "SIGTERM", rank: int = 0) -> None:
        self.at_batch, self.signum, self.rank = at_batch, signal.Signals[signal_name], rank
        self.seen = 0

    def on_train_batch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule, *args: Any) -> None:
        if self.seen == self.at_batch and trainer.global_rank == self.rank:
            os.kill(os.getpid(), self.signum)  # handled between two bytecodes of this very batch
        self.seen += 1


class RankRecord(pl.Callback):
    """Each rank writes ``rank<R>.pt`` when training ends: who it was, as its launcher and Lightning saw it."""

    def __init__(self, out_dir: str) -> None:
        self.out_dir = out_dir

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        import torch

        record = {
            "global_rank": trainer.global_rank,
            "local_rank": trainer.local_rank,
            "node_rank": trainer.node_rank,
            "world_size": trainer.world_size,
            "environment": type(trainer.strategy.cluster_environment).__name__,
            "log_dir": trainer.log_dir,
            "params": {k: v.detach().clone() for k, v in pl_module.state_dict().items()},
        }
        os.makedirs(self.out_dir, exist_ok=True)
        torch.save(record, os.path.join(self.out_dir, f"rank{trainer.global_rank}.pt"))
