"""Training beyond one process: what DDP needs from a model, whatever spelling of the strategy started it.

Lightning wraps the whole LightningModule in one ``DistributedDataParallel``. DDP expects every parameter
that requires a gradient to receive one in every backward pass, unless it is told to look for unused ones
(``find_unused_parameters``), which costs a graph traversal per backward. A multi-phase model (several
optimizers stepped in one ``training_step``) freezes the networks a phase does not train, so some of its
parameters go without a gradient in every phase: it needs the search; a single-optimizer model does not.

The model declares which it is (``multi_phase``), and ``prepare_strategy`` applies that to whatever DDP
strategy the run has: ``--trainer.devices N`` with Lightning's default choice, ``ddp``, ``ddp_spawn``, a
``DDPStrategy(...)`` in a config, ``--trainer.num_nodes``, torchrun or Slurm. It runs in the model's
``setup`` hook, which every process calls before the strategy wraps the model.
"""

from __future__ import annotations

from typing import Any

from pytorch_lightning.strategies import DDPStrategy


def prepare_strategy(strategy: Any, multi_phase: bool) -> None:
    """Make a DDP ``strategy`` tolerate the parameters a multi-phase model leaves unused in each phase."""
    if not (multi_phase and isinstance(strategy, DDPStrategy)):
        return
    # DDPStrategy keeps the keyword arguments for DistributedDataParallel here and reads them only when it
    # wraps the model (after ``setup``); it has no public setter.
    strategy._ddp_kwargs["find_unused_parameters"] = True
