"""DDP correctness on CPU for every model in the registry, multi-optimizer (``multi_phase = True``) or not.

Each model is trained by the real CLI with ``--trainer.accelerator cpu --trainer.devices 2
--trainer.strategy ddp`` (two gloo processes) for a few batches, with the test-only ``ddp_probe.ParamDigest``
callback recording both ranks (see tests/ddp_probe.py). The test then asserts that:

- both ranks start and end with bit-identical parameters in every network, and every network trained;
- every optimizer step applied the same gradient on both ranks, and that gradient is the average of the
  gradients of the two ranks' own batches, each computed in this process without DDP (``ddp_probe.replay``
  re-runs each rank's batches with the same random draws). The losses are batch means, so this average is
  the gradient of the loss on both batches together;
- the two ranks really saw different data and drew different noise (so the checks above are not vacuous).

The runs are launched all at once (each pair of processes spends most of its time importing torch and
Lightning, which overlaps well) and checked one model at a time.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import REPO
from ddp_probe import replay
from tiny import tiny_cli_args

from genzoo.registry import MODELS

MODEL_NAMES = MODELS.names()
BATCHES = 3  # batches per rank; every phase of every batch is checked
TIMEOUT = 420


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def ddp_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[subprocess.CompletedProcess, Path]]:
    """Run every model under 2-process DDP through the CLI, concurrently; name -> (result, probe dir)."""
    launched = {}  # narrow nets (tiny_cli_args): the checks need every phase of a model, not a good one
    for name in MODEL_NAMES:
        root = tmp_path_factory.mktemp(f"ddp_{name}")
        command = [
            sys.executable, "-m", "genzoo.cli", "fit", "--model", name, *tiny_cli_args(name),
            "--trainer.accelerator", "cpu", "--trainer.devices", "2", "--trainer.strategy", "ddp",
            "--trainer.max_epochs", "1", "--trainer.limit_train_batches", str(BATCHES),
            "--trainer.limit_val_batches", "0", "--trainer.enable_checkpointing", "false",
            "--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false",
            "--test_after_fit", "false", "--data.batch_size", "16", "--seed_everything", "0",
            "--trainer.default_root_dir", str(root),
            "--trainer.callbacks+=ddp_probe.ParamDigest", "--trainer.callbacks.out_dir", str(root / "probe"),
        ]  # fmt: skip
        env = {**os.environ, "PYTHONPATH": str(REPO / "tests"), "MASTER_PORT": str(free_port())}
        for key in ("GENZOO_RUN_VERSION", "LOCAL_RANK", "WORLD_SIZE", "NODE_RANK"):
            env.pop(key, None)
        proc = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, start_new_session=True)  # fmt: skip
        launched[name] = (proc, command, root)
    results = {}
    for name, (proc, command, root) in launched.items():
        try:
            out, err = proc.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # the run and the DDP worker it started
            out, err = proc.communicate()
        results[name] = (subprocess.CompletedProcess(command, proc.returncode, out, err), root / "probe")
    return results


def networks(params: dict[str, torch.Tensor]) -> set[str]:
    return {name.split(".")[0] for name in params}


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_ddp_ranks_identical_and_gradients_averaged(name, ddp_runs):
    result, probe = ddp_runs[name]
    assert result.returncode == 0, f"{name} failed under DDP:\n{result.stderr[-4000:]}"
    rank0, rank1 = (torch.load(probe / f"rank{r}.pt", weights_only=False) for r in (0, 1))

    # For multi-phase models the CLI turned `--trainer.strategy ddp` into DDP that tolerates parameters
    # unused in a phase; single-optimizer models keep plain DDP (no per-step search for unused ones).
    multi_phase = MODELS.get(name).multi_phase
    assert rank0["world_size"] == 2 and rank0["strategy"] == "DDPStrategy"
    assert bool(rank0["find_unused_parameters"]) is multi_phase

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
