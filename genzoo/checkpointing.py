"""When a run writes its ``last.ckpt``, and how it stops when a scheduler asks it to.

A run's one checkpoint, ``last.ckpt``, is rewritten (atomically) at the end of every epoch and, within an
epoch, every ``every_minutes`` of training, so a kill loses at most that much work on any dataset. A
scheduler that wants the machine back (Slurm's time limit or pre-emption, a Kubernetes eviction) sends
SIGTERM, or SIGUSR1 ahead of time when asked to (``sbatch --signal``): the run then writes ``last.ckpt`` at
once, mid-epoch, and exits with 128 + the signal's number (143 for SIGTERM, what a shell reports for a
process killed by it), never 0. ``genzoo fit ... --ckpt_path last`` continues from there, mid-epoch, to the
weights an uninterrupted run would have reached.

Under DDP every rank must take such a decision at the same step (a checkpoint is a collective: each rank
contributes its random state, rank 0 writes). So a signal handler only records the signal; at the end of
every training batch the ranks agree, in one all-reduce of two numbers, whether any of them was signalled
and whether rank 0's clock says a checkpoint is due. Lightning's own SIGTERM handler runs a collective
inside the signal handler, which can pair with another rank's gradient all-reduce; ours replaces it for
the training loop.

These callbacks save at the end of a training batch, after the model's moving averages were updated
(``genzoo.models.ema.UpdateAverages`` runs before any ``Checkpoint`` callback: Lightning orders those last).
"""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path
from types import FrameType
from typing import Any

import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import Checkpoint

from genzoo.divergence import check_finite

#: the signals that stop a run with a checkpoint: a scheduler's stop, and Slurm's usual early warning
STOP_SIGNALS = (signal.SIGTERM, signal.SIGUSR1)
#: minutes of training between two mid-epoch checkpoints by default: what a kill may cost at most
DEFAULT_EVERY_MINUTES = 10.0


class RunStopped(SystemExit):
    """The run stopped on a signal; exits with 128 + its number, as a shell reports a process it killed."""

    def __init__(self, signum: int, epoch: int, step: int, saved: Path | None) -> None:
        super().__init__(128 + signum)
        self.signum, self.epoch, self.step, self.saved = signum, epoch, step, saved

    def message(self) -> str:
        name = signal.Signals(self.signum).name
        if self.saved is None:
            return f"stopped by {name} at epoch {self.epoch}, step {self.step}; checkpointing was off, nothing saved"
        return f"stopped by {name} at epoch {self.epoch}, step {self.step}; continue with --ckpt_path last"


class SignalStop(pl.Callback):
    """Stop training at the end of the batch during which SIGTERM or SIGUSR1 arrived, on every rank at once."""

    def __init__(self) -> None:
        self.received = 0  # the first stop signal this process received; 0: none
        self._previous: dict[int, Any] = {}

    def _record(self, signum: int, frame: FrameType | None) -> None:
        self.received = self.received or signum

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        # After Lightning installed its handlers (Trainer._run, before the loop starts): ours replace them.
        if trainer.received_sigterm:  # arrived while Lightning's handler was in place (sanity check, restore)
            self.received = self.received or signal.SIGTERM
        for signum in STOP_SIGNALS:
            self._previous[signum] = signal.signal(signum, self._record)

    # Put the previous handlers back as soon as training ends, however it ends (then Lightning puts back its
    # own originals): a handler that only records would make this process ignore SIGTERM from then on, and
    # so would every process it forks later (a pool of decoding workers could then never be terminated).
    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._restore()

    def on_exception(self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException) -> None:
        self._restore()

    def _restore(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous = {}

    def agree(self, trainer: pl.Trainer, due: bool = False) -> tuple[int, bool]:
        """(stop signal of any rank or 0, whether rank 0 says a checkpoint is due), the same on every rank."""
        local = torch.tensor([float(self.received), float(due and trainer.is_global_zero)])
        if trainer.world_size > 1:
            local = trainer.strategy.reduce(local.to(trainer.strategy.root_device), reduce_op="max").cpu()
        return int(local[0]), bool(local[1])

    def stop(self, trainer: pl.Trainer, signum: int, saved: Path | None) -> RunStopped:
        return RunStopped(signum, trainer.current_epoch, trainer.global_step, saved)

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, *args: Any) -> None:
        signum, _ = self.agree(trainer)
        if signum:
            raise self.stop(trainer, signum, None)


class LastCheckpoint(SignalStop, Checkpoint):
    """``dirpath/last.ckpt`` at every epoch end, every ``every_minutes`` within an epoch, and on a stop signal.

    ``dirpath`` None: the run folder's ``checkpoints/``, as rank 0's logger has it (broadcast to the others).
    """

    def __init__(self, dirpath: str | Path | None = None, every_minutes: float | None = DEFAULT_EVERY_MINUTES) -> None:
        super().__init__()
        self.dirpath = Path(dirpath) if dirpath is not None else None
        self.every_minutes = every_minutes
        self._last_save = time.monotonic()

    @property
    def path(self) -> Path:
        assert self.dirpath is not None, "LastCheckpoint.setup runs before any save"
        return self.dirpath / "last.ckpt"

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        if self.dirpath is None:
            self.dirpath = Path(trainer.log_dir or trainer.default_root_dir) / "checkpoints"
        # Rank 0 writes; every rank must agree on where (each logger may have guessed its own version).
        self.dirpath = Path(trainer.strategy.broadcast(str(self.dirpath)))

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        super().on_train_start(trainer, pl_module)
        self._last_save = time.monotonic()

    def _due(self) -> bool:
        return self.every_minutes is not None and time.monotonic() - self._last_save >= 60 * self.every_minutes

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, *args: Any) -> None:
        signum, due = self.agree(trainer, self._due())
        if signum or due:
            self.save(trainer, pl_module)
        if signum:
            raise self.stop(trainer, signum, self.path)

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        # In Lightning 2.x the epoch's validation has run by now: its metrics go into the checkpoint too.
        self.save(trainer, pl_module)

    def save(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.sanity_checking or trainer.fast_dev_run:
            return
        check_finite(trainer, pl_module)  # never replace the last good checkpoint with diverged weights
        # Metrics first: a run killed right after the write resumes with its metrics.csv complete.
        for logger in trainer.loggers:
            logger.save()
        trainer.save_checkpoint(self.path, weights_only=False)  # everything a resume needs, not the weights alone
        self._last_save = time.monotonic()


def report_stop(stopped: RunStopped) -> None:
    """The one line a stopped run prints (once: by global rank 0, or by a process that is not a rank)."""
    from lightning_fabric.utilities.rank_zero import rank_zero_only

    if getattr(rank_zero_only, "rank", 0) == 0:
        print(f"genzoo: {stopped.message()}", file=sys.stderr)
