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


#: what each way of starting a multi-node run must set on every node, and how a user would name it
LAUNCHERS = {
    "torchrun": ("TORCHELASTIC_RUN_ID",),
    "Slurm (srun)": ("SLURM_NTASKS",),
}
LIGHTNING_NODE_VARIABLES = ("MASTER_ADDR", "MASTER_PORT", "NODE_RANK")


def check_multi_node_environment(num_nodes: int | None) -> None:
    """Refuse at once a multi-node run whose node would wait out the rendezvous timeout (30 minutes).

    torchrun and srun describe the whole job to each process; without them Lightning's own environment
    needs the rank-0 node's address and a port, and this node's rank, on every node.
    """
    import os

    from genzoo.errors import GenzooError

    if not num_nodes or num_nodes <= 1:
        return
    if any(all(os.environ.get(v) for v in needs) for needs in LAUNCHERS.values()):
        return
    missing = [v for v in LIGHTNING_NODE_VARIABLES if not os.environ.get(v)]
    if missing:
        raise GenzooError(
            f"--trainer.num_nodes {num_nodes}: this node does not know the others ({', '.join(missing)} not set); "
            "start every node with MASTER_ADDR (the rank-0 node), MASTER_PORT and its own NODE_RANK, "
            "or launch with torchrun or srun (docs/cluster.md)"
        )
