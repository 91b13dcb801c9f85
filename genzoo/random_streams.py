"""``RandomStreams``: each rank's random streams, set apart at the start and continued on resume.

``seed_everything`` gives every DDP rank the same seed (so does the CLI: workers inherit rank 0's). The
parameters are broadcast from rank 0 anyway, but the noise is not: without an offset every rank would draw
the same z, and a GAN's 2 x B codes per step would hold only B distinct ones. So a fresh run offsets each
rank's torch seed by its rank.

Lightning keeps epoch, step, optimizers and schedulers in a checkpoint; the random streams (the noise) are
this callback's state, so a resumed run draws what the uninterrupted one would have drawn, and is not
offset again. Every rank draws its own noise, and rank 0 alone writes the file: the state holds all ranks'
streams, gathered when the checkpoint is built (a collective: Lightning builds it on every rank).
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pytorch_lightning as pl
import torch


def rng_states() -> dict[str, Any]:
    """The state of every random stream a run draws from: Python, numpy, torch (CPU and CUDA)."""
    # Tensors and plain Python values only: Lightning resumes with torch.load(weights_only=True).
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    states: dict[str, Any] = {"python": random.getstate(), "torch": torch.get_rng_state()}
    states["numpy"] = (kind, torch.from_numpy(keys.astype(np.int64)), int(pos), int(has_gauss), float(cached))
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def restore_rng_states(states: dict[str, Any]) -> None:
    random.setstate(states["python"])
    kind, keys, pos, has_gauss, cached = states["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(states["torch"].cpu())
    if "cuda" in states and torch.cuda.is_available() and len(states["cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(states["cuda"])


def gather_objects(value: Any) -> list[Any]:
    """Every rank's ``value``, in rank order, on every rank (a collective)."""
    import torch.distributed as dist

    gathered: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(gathered, value)
    return gathered


class RandomStreams(pl.Callback):
    """Offsets each DDP rank's seed in a fresh run; saves and restores every rank's streams in checkpoints."""

    def __init__(self) -> None:
        self._restored = False
        self._trainer: pl.Trainer | None = None

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        self._trainer = trainer  # state_dict is called without one, and needs the world size

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.world_size > 1 and not self._restored:
            torch.manual_seed((torch.initial_seed() + trainer.global_rank) % 2**63)

    def state_dict(self) -> dict[str, Any]:
        states = rng_states()
        if self._trainer is not None and self._trainer.world_size > 1:
            return {"ranks": gather_objects(states)}
        return {"ranks": [states]}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        # Continue this rank's streams where the checkpoint left them, if it holds one per rank as this run has.
        saved = state_dict.get("ranks") or []
        trainer = self._trainer
        rank, world = (trainer.global_rank, trainer.world_size) if trainer is not None else (0, 1)
        if len(saved) == world:
            restore_rng_states(saved[rank])
            self._restored = True
