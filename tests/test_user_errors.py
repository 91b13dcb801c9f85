"""Inputs a newcomer tries, run as a user runs them (a fresh ``genzoo`` process): each ends in one line,
``genzoo: error: ...``, exit code 2, no traceback, and the disk as it was apart from the run's named outputs.

The full disk is real, not mocked: the process gets a file-size limit (RLIMIT_FSIZE, with SIGXFSZ ignored),
so its writes past the limit fail with EFBIG exactly where a full disk fails them with ENOSPC, and torch's
checkpoint writer reports that as it reports a full disk.
"""

from __future__ import annotations

import errno
import resource
import signal
import subprocess
import sys

import pytest
import torch
from helpers import REPO, TINY_RUN, assert_one_line_error, make_anime_png, run_cli

from genzoo.atomic import failed_write


def files_under(root) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*")) if root.exists() else []


# ----- accelerators this machine does not have ------------------------------------------------------------
def accelerator_available(name: str) -> bool:
    from pytorch_lightning.accelerators import AcceleratorRegistry

    return AcceleratorRegistry[name]["accelerator"].is_available()


@pytest.mark.slow  # starts genzoo processes
@pytest.mark.parametrize("name", ["tpu", "mps"])
def test_missing_accelerator_is_refused_before_any_work(name, tmp_path) -> None:
    if accelerator_available(name):
        pytest.skip(f"this machine has a {name}")
    result = run_cli(
        "fit", "--model", "vae", "--trainer.accelerator", name, "--trainer.default_root_dir", str(tmp_path)
    )
    assert_one_line_error(result, f"--trainer.accelerator {name}: no {name.upper()} is available here", "use")
    assert files_under(tmp_path) == []


# ----- bench --out that cannot be a folder ----------------------------------------------------------------
@pytest.mark.slow  # starts genzoo processes
@pytest.mark.parametrize("under", ["", "sub"])
def test_bench_out_on_a_file_is_refused(under, tmp_path) -> None:
    existing = tmp_path / "notes.txt"
    existing.write_text("mine")
    out = existing / under if under else existing
    result = run_cli("bench", "--models", "ae", "--seeds", "0", "--max-epochs", "1", "--out", str(out))
    assert_one_line_error(result, f"--out {out}", "is a file")
    assert files_under(tmp_path) == ["notes.txt"] and existing.read_text() == "mine"


# ----- a checkpoint whose hyper-parameter has the wrong type ----------------------------------------------
def test_checkpoint_with_a_mistyped_hyper_parameter(trained_vae, tmp_path) -> None:
    checkpoint = torch.load(trained_vae, map_location="cpu", weights_only=True)
    checkpoint["hyper_parameters"]["latent_dim"] = "abc"
    bad = tmp_path / "bad.ckpt"
    torch.save(checkpoint, bad)
    out = tmp_path / "samples.png"
    result = run_cli("sample", "--ckpt", str(bad), "--num", "4", "--out", str(out))
    assert_one_line_error(result, f"--ckpt {bad}", "latent_dim", "abc")
    assert files_under(tmp_path) == ["bad.ckpt"]


# ----- data: a size the model cannot take, corrupt images -------------------------------------------------
def folder_flags(root, size: int = 32) -> list[str]:
    return ["--data", "folder", "--data.root", str(root / "data"), "--data.cache_dir", str(root / "cache"),
            "--data.size", str(size), "--trainer.default_root_dir", str(root / "runs")]  # fmt: skip


@pytest.mark.slow  # starts genzoo processes
def test_image_size_the_backbone_cannot_take_is_refused_before_decoding(tmp_path) -> None:
    make_anime_png(tmp_path, 20)
    result = run_cli("fit", "--model", "ae", "--model.backbone", "conv", *folder_flags(tmp_path, size=31))
    assert_one_line_error(result, "31x31", "--data.size 32")
    assert files_under(tmp_path / "cache") == [] and files_under(tmp_path / "runs") == []


@pytest.mark.slow  # starts genzoo processes
def test_corrupt_images_are_named_and_counted(tmp_path) -> None:
    make_anime_png(tmp_path, 40)
    broken = sorted((tmp_path / "data").glob("*.png"))[:7]
    for path in broken:
        path.write_bytes(b"not an image")
    result = run_cli("fit", "--model", "ae", *folder_flags(tmp_path))
    assert_one_line_error(result, "7 of 40 images cannot be decoded", "and 2 more", "--data.bad_images skip")
    assert sum(path.name in result.stderr for path in broken) == 5  # the first five by name
    assert not list((tmp_path / "cache").glob("*.npy")) and files_under(tmp_path / "runs") == []


# ----- a full disk while the checkpoint is written --------------------------------------------------------
def run_with_file_limit(limit: int, *args: str) -> subprocess.CompletedProcess:
    """``genzoo ARGS`` in a process whose files cannot grow past ``limit`` bytes (EFBIG, like ENOSPC)."""

    def limit_files() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails instead of killing
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return subprocess.run(
        [sys.executable, "-m", "genzoo.cli", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        preexec_fn=limit_files,
    )


@pytest.mark.slow  # starts genzoo processes
def test_full_disk_while_writing_a_checkpoint_keeps_the_last_one(tmp_path) -> None:
    fit = [
        "fit",
        "--model",
        "ae",
        "--model.hidden_dims",
        "[64]",
        *TINY_RUN,
        "--trainer.default_root_dir",
        str(tmp_path),
    ]
    assert run_cli(*fit).returncode == 0
    last = tmp_path / "ae-mnist/version_0/checkpoints/last.ckpt"
    before = last.read_bytes()
    # The second epoch's checkpoint is as large as the first: half its size does not fit.
    result = run_with_file_limit(len(before) // 2, *fit, "--ckpt_path", "last", "--trainer.max_epochs", "2")
    assert_one_line_error(result, f"could not write {last}", "the previous file is kept")
    assert last.read_bytes() == before
    assert not list(tmp_path.rglob(".tmp-*")), "the half-written checkpoint was left behind"


def test_full_disk_in_a_writer_of_lightnings_is_one_line(tmp_path) -> None:
    """metrics.csv and config.yaml are written by Lightning, without genzoo's atomic writer."""
    full = OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "metrics.csv"))
    message = f"could not write {tmp_path / 'metrics.csv'} (No space left on device); nothing was written"
    assert str(failed_write(full)) == message
    assert failed_write(OSError(errno.ENOENT, "No such file or directory", "x")) is None  # not a write that failed
    assert failed_write(RuntimeError("something else")) is None
