"""The divergence stop: a run whose loss became NaN or infinite stops with one line and keeps its last good
checkpoint.

The model notes, at every training step and on the device (no host sync), whether each logged loss term is
finite (``note_finite``, called by ``GenerativeModule.log_train``). ``DivergenceStop`` reads the notes at
every logging step, before validation and at each epoch's end, and ``LastCheckpoint`` reads them before it
writes, so NaN weights never replace the last good checkpoint.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch

from genzoo.errors import GenzooError
from genzoo.registry import MODELS

#: where a module keeps its notes: logged loss terms -> whether each was finite at every step since the check
NOTES = "_finite_notes"


def note_finite(module: Any, values: dict[str, torch.Tensor]) -> None:
    """Note on ``module`` whether each loss term in ``values`` is finite, without reading it on the host."""
    finite = torch.isfinite(torch.stack([v.detach().float() for v in values.values()]))
    notes = module.__dict__.setdefault(NOTES, {})
    # Notes per set of logged terms: a step that logs other terms (an R1 step every few batches) keeps its
    # own note, instead of wiping the notes of the usual steps since the last check.
    names = tuple(values)
    seen = notes.get(names)
    notes[names] = finite if seen is None else seen & finite


def check_finite(trainer: Any, module: Any) -> None:
    """Stop the run with one line if a loss term of ``module`` has been NaN or infinite since the last check."""
    notes = module.__dict__.get(NOTES, {})
    bad = [(names, finite) for names, finite in notes.items() if not bool(finite.all())]
    if not bad:
        return
    names, finite = bad[0]
    term = names[int((~finite).nonzero()[0])]
    callback = trainer.checkpoint_callback
    last = Path(callback.dirpath) / "last.ckpt" if callback is not None and callback.dirpath else None
    kept = f"the last good checkpoint {last} is kept" if last and last.is_file() else "no checkpoint was written"
    raise GenzooError(
        f"{MODELS.name_of(module) or type(module).__name__} diverged: loss term '{term}' became non-finite "
        f"by step {trainer.global_step}; {kept}; lower --model.lr or check the data"
    )


class DivergenceStop(pl.Callback):
    """Reads the model's notes at every logging step, before validation and at the end of each epoch."""

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any,
                           batch_idx: int) -> None:  # fmt: skip
        if batch_idx % max(1, trainer.log_every_n_steps) == 0:
            check_finite(trainer, pl_module)

    # Checkpoints are written after validation (or at the end of the epoch when there is none): check first.
    def on_validation_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not trainer.sanity_checking:
            check_finite(trainer, pl_module)

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        check_finite(trainer, pl_module)
