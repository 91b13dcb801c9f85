"""Test-only callbacks for tests/test_ddp.py: record what each DDP rank did, then replay it in one process.

``ParamDigest`` rides along a real ``genzoo fit`` run under DDP (``--trainer.callbacks+=ddp_probe.ParamDigest``
with ``PYTHONPATH=tests``). Each rank writes ``rank<R>.pt`` holding: the model's name and hyper-parameters;
its parameters when training starts; for every batch, the batch itself and the CPU random state just before
``training_step`` (so every random draw of the step can be repeated); for every optimizer step, the
gradient it applied (after DDP's all-reduce); and its parameters when training ends. Gradients are read in
Lightning's ``on_before_optimizer_step`` hook, which runs after the backward pass and before the step in
both manual optimization (the adversarial models) and automatic optimization, where the backward pass runs
inside ``optimizer.step(closure)`` (so a torch step pre-hook would see no gradients yet).

``Replay`` re-runs one rank's batches in a single process without DDP, from the same starting parameters
and random states. At every optimizer step it records the gradient of this rank's batch alone, then puts
in its place the gradient that DDP applied, so the replay follows the DDP run's trajectory exactly and
every phase's local gradient is measured at the parameters DDP had. The test then checks that each
applied gradient is the average of the two ranks' local gradients.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch

from genzoo.registry import MODELS


def param_snapshot(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {name: p.detach().clone() for name, p in module.named_parameters()}


def grads_of(optimizer: torch.optim.Optimizer, names: dict[torch.nn.Parameter, str]) -> dict[str, torch.Tensor]:
    """The current gradients of an optimizer's parameters that have one, by parameter name."""
    return {
        names[p]: p.grad.detach().clone()
        for group in optimizer.param_groups
        for p in group["params"]
        if p.grad is not None
    }


class ParamDigest(pl.Callback):
    """Record one DDP rank's start, batches, random states, applied gradients and end (see module doc)."""

    def __init__(self, out_dir: str) -> None:
        self.out_dir = Path(out_dir)
        self.record: dict[str, Any] = {}
        self.names: dict[torch.nn.Parameter, str] = {}

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.names = {p: n for n, p in pl_module.named_parameters()}
        self.record = {
            "rank": trainer.global_rank,
            "world_size": trainer.world_size,
            "strategy": type(trainer.strategy).__name__,
            "find_unused_parameters": getattr(trainer.strategy, "_ddp_kwargs", {}).get("find_unused_parameters"),
            "start_method": getattr(trainer.strategy, "_start_method", None),
            "model": MODELS.name_of(pl_module),
            "hparams": dict(pl_module.hparams),
            "init": param_snapshot(pl_module),
            "batches": [],
            "rng": [],
            "updates": [],
        }

    def on_before_optimizer_step(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, optimizer: torch.optim.Optimizer
    ) -> None:
        index = trainer.optimizers.index(optimizer)
        self.record["updates"].append({"optimizer": index, "grads": grads_of(optimizer, self.names)})

    def on_train_batch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch: Any, batch_idx: int):
        self.record["rng"].append(torch.get_rng_state())
        self.record["batches"].append(tuple(t.detach().cpu().clone() for t in batch))

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.record["final"] = param_snapshot(pl_module)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        torch.save(self.record, self.out_dir / f"rank{trainer.global_rank}.pt")


class Replay(pl.Callback):
    """Re-run one rank's recorded steps in one process; collect the local gradient of every update."""

    def __init__(self, record: dict[str, Any]) -> None:
        self.record = record
        self.local: list[dict[str, Any]] = []
        self.names: dict[torch.nn.Parameter, str] = {}

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        pl_module.load_state_dict(self.record["init"], strict=False)  # parameters only; buffers as built
        self.names = {p: n for n, p in pl_module.named_parameters()}

    def on_before_optimizer_step(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, optimizer: torch.optim.Optimizer
    ) -> None:
        index = trainer.optimizers.index(optimizer)
        k = len(self.local)
        self.local.append({"optimizer": index, "grads": grads_of(optimizer, self.names)})
        applied = self.record["updates"][k]
        assert applied["optimizer"] == index, (
            f"update {k}: DDP stepped optimizer {applied['optimizer']}, replay {index}"
        )
        by_name = {n: p for p, n in self.names.items()}
        for group in optimizer.param_groups:
            for p in group["params"]:
                p.grad = applied["grads"][self.names[p]].clone() if self.names[p] in applied["grads"] else None
        assert set(applied["grads"]) <= set(by_name)

    def on_train_batch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch: Any, batch_idx: int):
        torch.set_rng_state(self.record["rng"][batch_idx])


def replay(record: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, torch.Tensor]]:
    """Replay a rank's record in this process: (local gradients of every update, final parameters)."""
    hparams = {k: v for k, v in record["hparams"].items() if not k.startswith("_")}  # LightningCLI adds _class_path
    model = MODELS.get(record["model"])(**hparams)
    probe = Replay(record)
    batches = record["batches"]
    trainer = pl.Trainer(
        accelerator="cpu", devices=1, max_epochs=1, limit_val_batches=0, logger=False,
        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False, callbacks=[probe],
    )  # fmt: skip
    loader = torch.utils.data.DataLoader(batches, batch_size=None)  # each item is already a whole batch
    trainer.fit(model, train_dataloaders=loader)
    return probe.local, param_snapshot(model)
