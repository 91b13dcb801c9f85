"""A scheduler's signals, mid-epoch checkpoints and one run per folder, in one process (genzoo.checkpointing).

Each run is a real ``genzoo fit`` of a small GAN (two optimizers, moving averages: every piece of state a
resume must restore) for 2 epochs of 6 batches. A test-only callback (``signal_probe.SendSignal``) sends the
signal from inside the run at a chosen batch, so the stop lands mid-epoch every time.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from helpers import REPO, clean_env, run_cli

RUN = [
    "fit", "--model", "gan", "--model.hidden_dims", "[32]", "--model.latent_dim", "8",
    "--trainer.max_epochs", "2", "--trainer.limit_train_batches", "6", "--trainer.limit_val_batches", "1",
    "--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false",
    "--test_after_fit", "false", "--data.batch_size", "32", "--checkpoint_every_minutes", "0",
]  # fmt: skip
STOP_AT = 8  # the 9th batch: the 3rd of the second epoch


def send_signal(at_batch: int, name: str = "SIGTERM") -> list[str]:
    return [
        "--trainer.callbacks+=signal_probe.SendSignal", f"--trainer.callbacks.at_batch={at_batch}",
        f"--trainer.callbacks.signal_name={name}",
    ]  # fmt: skip


def fit(root: Path, *extra: str) -> subprocess.CompletedProcess:
    return run_cli(*RUN, "--trainer.default_root_dir", str(root), *extra, env=clean_env(), timeout=300)


def last_checkpoint(root: Path) -> dict:
    (path,) = root.glob("gan-mnist/version_*/checkpoints/last.ckpt")
    return torch.load(path, map_location="cpu", weights_only=True)


def assert_same_state(a: dict, b: dict) -> None:
    assert a["global_step"] == b["global_step"] and a["epoch"] == b["epoch"]
    assert a["state_dict"].keys() == b["state_dict"].keys()
    for key, value in a["state_dict"].items():
        assert torch.equal(value, b["state_dict"][key]), f"{key} differs from the uninterrupted run"
    for opt_a, opt_b in zip(a["optimizer_states"], b["optimizer_states"]):
        for index, state in opt_a["state"].items():
            for name, value in state.items():
                assert torch.equal(value, opt_b["state"][index][name]), f"optimizer state {index}.{name} differs"


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("whole")
    result = fit(root)
    assert result.returncode == 0, result.stderr[-3000:]
    return last_checkpoint(root)


def test_sigterm_mid_epoch_checkpoints_exits_143_and_resumes_to_identical_weights(tmp_path, uninterrupted):
    stopped = fit(tmp_path, *send_signal(STOP_AT))
    assert stopped.returncode == 143, stopped.stderr[-3000:]
    lines = [line for line in stopped.stderr.splitlines() if line.startswith("genzoo:")]
    assert lines == ["genzoo: stopped by SIGTERM at epoch 1, step 18; continue with --ckpt_path last"]
    assert "Traceback" not in stopped.stderr
    at_stop = last_checkpoint(tmp_path)
    assert at_stop["global_step"] == 2 * (STOP_AT + 1)  # mid-epoch: two optimizer steps per batch
    assert at_stop["MNISTDataModule"] == {"epoch": 1, "batches": 3}

    resumed = fit(tmp_path, "--ckpt_path", "last")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert len(list(tmp_path.glob("gan-mnist/version_*"))) == 1, "the resumed run must continue in its folder"
    assert_same_state(uninterrupted, last_checkpoint(tmp_path))
    # metrics.csv continues: one row per epoch's end, none written twice
    rows = (tmp_path / "gan-mnist" / "version_0" / "metrics.csv").read_text().splitlines()[1:]
    epochs = [row.split(",")[0] for row in rows if row.split(",")[0]]
    assert len(epochs) == len(set(map(tuple, (r.split(",") for r in rows)))), rows


def test_sigusr1_stops_with_its_own_code(tmp_path):
    stopped = fit(tmp_path, *send_signal(2, "SIGUSR1"))
    assert stopped.returncode == 128 + signal.SIGUSR1, stopped.stderr[-3000:]
    assert "genzoo: stopped by SIGUSR1 at epoch 0, step 6; continue with --ckpt_path last" in stopped.stderr
    assert last_checkpoint(tmp_path)["global_step"] == 6


def test_sigterm_without_checkpointing_still_stops_non_zero(tmp_path):
    stopped = fit(tmp_path, *send_signal(2), "--trainer.enable_checkpointing", "false")
    assert stopped.returncode == 143, stopped.stderr[-3000:]
    assert "genzoo: stopped by SIGTERM at epoch 0, step 6; checkpointing was off, nothing saved" in stopped.stderr


def test_a_kill_loses_only_the_minutes_since_the_last_timed_checkpoint(tmp_path, uninterrupted):
    # A checkpoint every 0.0001 minutes is one after every batch; SIGKILL cannot be caught at all.
    killed = fit(tmp_path, *send_signal(STOP_AT, "SIGKILL"), "--checkpoint_every_minutes", "0.0001")
    assert killed.returncode == -signal.SIGKILL
    at_kill = last_checkpoint(tmp_path)
    assert at_kill["MNISTDataModule"] == {"epoch": 1, "batches": 2}  # the batch before the kill's
    resumed = fit(tmp_path, "--ckpt_path", "last")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert_same_state(uninterrupted, last_checkpoint(tmp_path))


def test_one_run_per_folder_and_no_stuck_lock(tmp_path):
    first = fit(tmp_path, *send_signal(2))  # a last.ckpt to resume from
    assert first.returncode == 143
    env = clean_env()
    holder = subprocess.Popen(
        [sys.executable, "-m", "genzoo.cli", *RUN, "--trainer.default_root_dir", str(tmp_path), "--ckpt_path", "last",
         "--trainer.limit_train_batches", "5000"],  # a long epoch, killed in its middle
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        lock = tmp_path / "gan-mnist" / "version_0" / ".lock"
        deadline = time.monotonic() + 120
        while f"process {holder.pid}" not in (lock.read_text() if lock.exists() else ""):
            assert holder.poll() is None and time.monotonic() < deadline, holder.communicate()[1][-3000:]
            time.sleep(0.2)
        second = fit(tmp_path, "--ckpt_path", "last")
        assert second.returncode == 2, second.stderr[-3000:]
        assert "Traceback" not in second.stderr
        (line,) = [line for line in second.stderr.splitlines() if line.startswith("genzoo: error:")]
        assert "is in use by process" in line and str(holder.pid) in line, line
    finally:
        holder.kill()  # SIGKILL: no chance to clean up; the kernel drops the lock with the process
        holder.communicate()
    again = fit(tmp_path, "--ckpt_path", "last")
    assert again.returncode == 0, again.stderr[-3000:]


def test_signal_handlers_are_put_back_after_training(tmp_path):
    """In a Python session (a notebook, a test) that trains in-process, SIGTERM must work again afterwards,
    whether the run finished or was stopped: a handler left behind would make the session, and every process
    it forks later (a pool of decoding workers), ignore SIGTERM."""
    from genzoo.cli.main import main

    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGUSR1)
    args = [a for a in RUN if a not in ("--trainer.max_epochs", "2")] + ["--trainer.max_epochs", "1"]
    assert main([*args, "--trainer.default_root_dir", str(tmp_path / "a")]) == 0
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGUSR1)) == before
    with pytest.raises(SystemExit) as stopped:
        main([*args, "--trainer.default_root_dir", str(tmp_path / "b"), *send_signal(1)])
    assert stopped.value.code == 143
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGUSR1)) == before
