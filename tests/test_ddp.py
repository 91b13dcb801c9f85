"""DDP correctness on CPU for every model in the registry, multi-optimizer (``multi_phase = True``) or not,
however the user spells the request for DDP.

Each model is trained by the real CLI with ``--trainer.accelerator cpu --trainer.devices 2`` (two gloo
processes; no strategy, so Lightning chooses DDP itself, the way most users ask) for a few batches; the other
spellings each train one more model: ``ddp``, ``ddp_spawn`` and a ``DDPStrategy(find_unused_parameters=False)``
in a YAML config a multi-phase one (its phases leave parameters unused, which that setting forbids),
``ddp_find_unused_parameters_true`` a single-phase one (which must keep what was asked for). Each run has
the test-only ``ddp_probe.ParamDigest`` callback recording both ranks (see tests/ddp_probe.py).
The test then asserts that:

- both ranks start and end with bit-identical parameters in every network, and every network trained;
- every optimizer step applied the same gradient on both ranks, and that gradient is the average of the
  gradients of the two ranks' own batches, each computed in this process without DDP (``ddp_probe.replay``
  re-runs each rank's batches with the same random draws). The losses are batch means, so this average is
  the gradient of the loss on both batches together;
- the two ranks really saw different data and drew different noise (so the checks above are not vacuous).

The runs are launched a few at a time (each pair of processes spends most of its time importing torch and
Lightning, which overlaps well) and checked one case at a time.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
import torch
from ddp_probe import replay
from helpers import clean_env, free_port, run_all, tiny_cli_args

from genzoo.registry import MODELS

MODEL_NAMES = MODELS.names()
#: (model, spelling): every model with the default request, each other spelling with two kinds of model
SPELLINGS = {
    "ddp": ["--trainer.strategy", "ddp"],
    "ddp_spawn": ["--trainer.strategy", "ddp_spawn"],
    "ddp_find_unused_parameters_true": ["--trainer.strategy", "ddp_find_unused_parameters_true"],
    "yaml": [],  # a config file naming DDPStrategy (find_unused_parameters left at its default, False)
}
CASES = [(name, "default") for name in MODEL_NAMES] + [
    ("aae", "ddp"),
    ("gan", "ddp_spawn"),
    ("aegan", "yaml"),
    ("vae", "ddp_find_unused_parameters_true"),
]
STRATEGY_YAML = """trainer:
  strategy:
    class_path: pytorch_lightning.strategies.DDPStrategy
    init_args:
      find_unused_parameters: false
"""
BATCHES = 3  # batches per rank; every phase of every batch is checked
TIMEOUT = 300
PARALLEL = 6  # runs at a time (12 to 18 processes): enough to overlap their start-up, bounded memory


@pytest.fixture(scope="module")
def ddp_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], tuple[Any, Path]]:
    """Run every case under 2-process DDP through the CLI, a few at a time; case -> (result, probe dir)."""
    jobs, probes = {}, {}  # narrow nets (tiny_cli_args): the checks need every phase of a model, not a good one
    for name, spelling in CASES:
        root = tmp_path_factory.mktemp(f"ddp_{name}_{spelling}")
        strategy = SPELLINGS.get(spelling, [])
        if spelling == "yaml":
            (root / "strategy.yaml").write_text(STRATEGY_YAML)
            strategy = ["--config", str(root / "strategy.yaml")]
        command = [
            sys.executable, "-m", "genzoo.cli", "fit", *strategy, "--model", name, *tiny_cli_args(name),
            "--trainer.accelerator", "cpu", "--trainer.devices", "2",
            "--trainer.max_epochs", "1", "--trainer.limit_train_batches", str(BATCHES),
            "--trainer.limit_val_batches", "0", "--trainer.enable_checkpointing", "false",
            "--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false",
            "--test_after_fit", "false", "--data.batch_size", "16", "--seed_everything", "0",
            "--trainer.default_root_dir", str(root),
            "--trainer.callbacks+=ddp_probe.ParamDigest", "--trainer.callbacks.out_dir", str(root / "probe"),
        ]  # fmt: skip
        jobs[name, spelling] = (command, clean_env(MASTER_PORT=str(free_port())))
        probes[name, spelling] = root / "probe"
    results = run_all(jobs, parallel=PARALLEL, timeout=TIMEOUT)
    return {case: (results[case], probes[case]) for case in jobs}


def networks(params: dict[str, torch.Tensor]) -> set[str]:
    return {name.split(".")[0] for name in params}


@pytest.mark.parametrize(("name", "spelling"), CASES)
def test_ddp_ranks_identical_and_gradients_averaged(name, spelling, ddp_runs):
    result, probe = ddp_runs[name, spelling]
    assert result.returncode == 0, f"{name} failed under DDP ({spelling}):\n{result.stderr[-4000:]}"
    rank0, rank1 = (torch.load(probe / f"rank{r}.pt", weights_only=False) for r in (0, 1))

    # Multi-phase models get DDP that tolerates parameters unused in a phase, whatever was asked for;
    # single-optimizer models keep what the user asked for (by default no per-step search for unused ones).
    multi_phase = MODELS.get(name).multi_phase
    assert rank0["world_size"] == 2 and rank0["strategy"] in ("DDPStrategy",)
    asked_for_search = spelling == "ddp_find_unused_parameters_true"
    assert bool(rank0["find_unused_parameters"]) is (multi_phase or asked_for_search)
    assert rank0["start_method"] == ("spawn" if spelling == "ddp_spawn" else "popen")

    # Different data and different noise on the two ranks.
    assert not torch.equal(rank0["batches"][0][0], rank1["batches"][0][0]), "both ranks got the same batch"
    assert not torch.equal(rank0["rng"][0], rank1["rng"][0]), "both ranks draw the same random numbers"

    # Same start, and bit-identical parameters in every network after training; every network trained.
    for key in ("init", "final"):
        assert rank0[key].keys() == rank1[key].keys()
        for pname, value in rank0[key].items():
            assert torch.equal(value, rank1[key][pname]), f"{name}: ranks differ in {pname} ({key})"
    moved = {pname.split(".")[0] for pname, v in rank0["final"].items() if not torch.equal(v, rank0["init"][pname])}
    assert moved == networks(rank0["final"]), f"{name}: networks that never changed: {networks(rank0['final']) - moved}"

    # Every update: the same gradient on both ranks, equal to the mean of the two ranks' local gradients.
    local0, final0 = replay(rank0)
    local1, final1 = replay(rank1)
    updates = rank0["updates"]
    steps_per_batch = 2 if multi_phase else 1  # at least: every multi-phase model has two optimizers
    assert len(updates) == len(rank1["updates"]) == len(local0) == len(local1) >= steps_per_batch * BATCHES
    for k, (applied, applied1, mine, theirs) in enumerate(zip(updates, rank1["updates"], local0, local1)):
        assert applied["grads"].keys() == applied1["grads"].keys() == mine["grads"].keys() == theirs["grads"].keys()
        assert applied["grads"], f"{name}: update {k} applied no gradient"
        differ = False
        for pname, grad in applied["grads"].items():
            assert torch.equal(grad, applied1["grads"][pname]), f"{name}: update {k}, ranks applied different {pname}"
            g0, g1 = mine["grads"][pname], theirs["grads"][pname]
            tol = 1e-5 * float(torch.max(g0.abs().max(), g1.abs().max())) + 1e-12
            torch.testing.assert_close(grad, (g0 + g1) / 2, rtol=1e-4, atol=tol,
                                       msg=lambda m, k=k, p=pname: f"{name}: update {k}, {p}: {m}")  # fmt: skip
            differ = differ or not torch.allclose(g0, g1, rtol=1e-3, atol=tol)
        assert differ, f"{name}: update {k}: both ranks had the same local gradient, the average proves nothing"

    # Following the applied gradients, the one-process replays land where DDP did.
    for replayed in (final0, final1):
        for pname, value in rank0["final"].items():
            torch.testing.assert_close(replayed[pname], value, rtol=1e-5, atol=1e-6)
