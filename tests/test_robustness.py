"""What a new user meets first: outputs that cannot be clobbered, runs that resume, every bad value
refused with one line (exit code 2) before anything is written, divergence and full disks reported.

Error paths run through the CLI's entry point in this process (``cli_here``): a process start would cost
more than the check. Resume, Ctrl-C and SIGKILL run real ``genzoo`` processes.
"""

from __future__ import annotations

import csv
import errno
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import REPO, TINY_RUN, run_cli
from face_data import cli_here, make_anime_png
from tiny import tiny_kwargs

from genzoo.checkpoint_format import FORMAT_VERSION
from genzoo.registry import MODELS

QUIET = ["--trainer.enable_progress_bar", "false", "--trainer.enable_model_summary", "false"]


def one_line_error(result: subprocess.CompletedProcess, *fragments: str) -> str:
    """Exit code 2 and exactly one ``genzoo: error:`` line holding every fragment; returns the line."""
    assert result.returncode == 2, (result.returncode, result.stdout[-2000:], result.stderr[-3000:])
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("genzoo: error:")]
    assert len(lines) == 1, result.stderr[-3000:]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def handmade_checkpoint(path: Path, name: str, **kwargs) -> Path:
    """A checkpoint of a small untrained model ``name``, as genzoo writes them (no training needed)."""
    import pytorch_lightning as pl

    model = MODELS.get(name)(**{**tiny_kwargs(name), **kwargs})
    torch.save(
        {
            "state_dict": model.state_dict(),
            "hyper_parameters": dict(model.hparams),
            "genzoo_model": name,
            "format_version": FORMAT_VERSION,
            "pytorch-lightning_version": pl.__version__,
        },
        path,
    )
    return path


@pytest.mark.parametrize("version", [None, FORMAT_VERSION + 1])
def test_a_saved_model_of_another_format_is_refused_in_one_line(version, tmp_path, capsys, monkeypatch):
    """Checkpoints from before the format was versioned (none recorded: 0) and from another format are refused
    by every reader, naming the version: resume and the model loaders read the same entry."""
    from genzoo.errors import GenzooError
    from genzoo.models.loading import load_model

    path = handmade_checkpoint(tmp_path / "other.ckpt", "ae")
    checkpoint = torch.load(path, weights_only=True)
    checkpoint.pop("format_version") if version is None else checkpoint.update(format_version=version)
    torch.save(checkpoint, path)
    named = f"saved-model format {version or 0},"
    with pytest.raises(GenzooError, match=named):
        load_model(path)
    result = cli_here(capsys, monkeypatch, "sample", "--ckpt", str(path), "--out", str(tmp_path / "s.png"))
    one_line_error(result, named, f"reads format {FORMAT_VERSION} only")
    result = cli_here(capsys, monkeypatch, "fit", "--model", "ae", *TINY_RUN, "--ckpt_path", str(path),
                      "--trainer.default_root_dir", str(tmp_path / "runs"))  # fmt: skip
    one_line_error(result, named)
    assert not (tmp_path / "s.png").exists() and not (tmp_path / "runs").exists()


def ckpt_state(path: Path) -> tuple[int, int]:
    checkpoint = torch.load(path, map_location="cpu", weights_only=False)
    return checkpoint["epoch"], checkpoint["global_step"]


# ----- outputs that cannot be clobbered ------------------------------------------------------------------
@pytest.mark.parametrize("name", ["S.PNG", "S.NPZ", "s.Png"])
def test_upper_case_suffix_writes_the_real_file(name, trained_vae, tmp_path, capsys, monkeypatch):
    out = tmp_path / name
    out.write_bytes(b"an older output")
    result = cli_here(capsys, monkeypatch, "sample", "--ckpt", str(trained_vae), "--num", "4", "--out", str(out))
    assert result.returncode == 0, result.stderr
    if name.lower().endswith(".png"):
        assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    else:
        assert np.load(out)["images"].shape == (4, 1, 28, 28)
    assert sorted(p.name for p in tmp_path.iterdir()) == [name], "temporary files left behind"


def test_edit_upper_case_png(trained_vae, tmp_path, capsys, monkeypatch):
    out = tmp_path / "E.PNG"
    out.write_bytes(b"an older strip")
    args = ["edit", "--ckpt", str(trained_vae), "--attr", "3:8", "--num", "2", "--steps", "3", "--max-images", "50"]
    result = cli_here(capsys, monkeypatch, *args, "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["E.PNG"]


@pytest.mark.parametrize(
    ("out", "fragment"),
    [
        ("/proc/x.png", "cannot write in /proc"),
        ("README.md/x.png", "is not a folder"),
        ("docs", "is a folder"),
        ("/nonexistent/dir/x.png", "does not exist; create it first"),
    ],
)
def test_unwritable_outputs_are_refused_before_any_work(out, fragment, capsys, monkeypatch):
    monkeypatch.chdir(REPO)
    before = (REPO / "README.md").read_bytes()
    # The checkpoint does not exist: the output is checked first, so that is not what is reported.
    result = cli_here(capsys, monkeypatch, "sample", "--ckpt", "missing.ckpt", "--out", out)
    one_line_error(result, "--out", fragment)
    result = cli_here(capsys, monkeypatch, "eval", "--ckpt", str(REPO / "README.md"), "--out", out)
    one_line_error(result, "--out", fragment)
    assert (REPO / "README.md").read_bytes() == before
    assert not Path("/nonexistent").exists()


def test_a_billion_samples_are_refused_with_the_size(trained_vae, tmp_path, capsys, monkeypatch):
    out = tmp_path / "many.npz"
    result = cli_here(
        capsys, monkeypatch, "sample", "--ckpt", str(trained_vae), "--num", "1000000000", "--out", str(out)
    )
    one_line_error(result, "--num 1000000000", "730.2 GiB", "use --num")
    assert not out.exists()


def test_edit_on_a_gan_says_why(tmp_path, capsys, monkeypatch):
    ckpt = handmade_checkpoint(tmp_path / "gan.ckpt", "gan")
    result = cli_here(
        capsys, monkeypatch, "edit", "--ckpt", str(ckpt), "--attr", "3:8", "--out", str(tmp_path / "e.png")
    )
    one_line_error(result, "needs a model that encodes images", "gan")


def test_predict_is_not_a_command(capsys, monkeypatch):
    one_line_error(cli_here(capsys, monkeypatch, "predict", "--model", "vae"), "unknown command 'predict'")


def test_fit_help_shows_the_models_own_arguments(capsys, monkeypatch):
    result = cli_here(capsys, monkeypatch, "fit", "--model", "vae", "--help")
    assert result.returncode == 0
    assert "--model.beta" in result.stdout and "--trainer.max_epochs" in result.stdout


# ----- value checks: one place, one line, nothing written ---------------------------------------------------
BAD_VALUES = [
    (["--model.latent_dim", "0"], "--model.latent_dim 0"),
    (["--model.latent_dim", "-4"], "--model.latent_dim -4"),
    (["--model.hidden_dims", "[-3]"], "--model.hidden_dims [-3]"),
    (["--model.lr", "-1"], "--model.lr -1"),
    (["--model.lr", "0"], "--model.lr 0"),
    (["--model.beta", "-1"], "--model.beta -1"),
    (["--data.batch_size", "0"], "--data.batch_size 0"),
    (["--data.batch_size", "-5"], "--data.batch_size -5"),
    (["--data.num_workers", "-1"], "--data.num_workers -1"),
    (["--trainer.devices", "0"], "--trainer.devices 0"),
    (["--trainer.max_epochs", "-2"], "--trainer.max_epochs -2"),
    (["--trainer.max_epochs", "0"], "--trainer.max_epochs 0"),
    (["--trainer.max_epochs", "-1"], "trains forever"),
]
if not torch.cuda.is_available():
    BAD_VALUES.append((["--trainer.accelerator", "gpu"], "no GPU is available"))


@pytest.mark.parametrize(("flags", "fragment"), BAD_VALUES, ids=[" ".join(f) for f, _ in BAD_VALUES])
def test_bad_values_are_one_line_and_write_nothing(flags, fragment, tmp_path, capsys, monkeypatch):
    result = cli_here(capsys, monkeypatch, "fit", "--model", "vae", *flags, "--trainer.default_root_dir", str(tmp_path))
    line = one_line_error(result, fragment)
    assert "allowed" in line or "forever" in line or "GPU" in line
    assert list(tmp_path.iterdir()) == []


def test_ranges_also_apply_to_a_recipe(tmp_path, capsys, monkeypatch):
    recipe = tmp_path / "r.yaml"
    recipe.write_text("model:\n  class_path: genzoo.models.vae.VAE\n  init_args:\n    latent_dim: 0\n")
    result = cli_here(capsys, monkeypatch, "fit", "--config", str(recipe), "--trainer.default_root_dir", str(tmp_path))
    one_line_error(result, "--model.latent_dim 0", "a whole number >= 1")


def folder_data(root: Path, n: int, size: int = 32) -> list[str]:
    make_anime_png(root, n)
    return ["--data", "folder", "--data.root", str(root / "data"), "--data.cache_dir", str(root / "cache"),
            "--data.size", str(size)]  # fmt: skip


def test_data_smaller_than_a_batch_is_refused_and_leaves_no_run_folder(tmp_path, capsys, monkeypatch):
    flags = folder_data(tmp_path / "faces", 6)
    runs = tmp_path / "runs"
    result = cli_here(
        capsys, monkeypatch, "fit", "--model", "ae", *flags, *TINY_RUN, "--trainer.default_root_dir", str(runs)
    )
    one_line_error(result, "fewer than one batch", "--data.batch_size 128")
    assert not list(runs.glob("*/version_*")), "a failed run left its folder behind"


def test_folder_of_non_images_with_skip(tmp_path, capsys, monkeypatch):
    junk = tmp_path / "junk"
    junk.mkdir()
    for i in range(5):
        (junk / f"{i}.png").write_text("not an image")
    flags = ["--data", "folder", "--data.root", str(junk), "--data.cache_dir", str(tmp_path / "cache")]
    result = cli_here(capsys, monkeypatch, "fit", "--model", "ae", *flags, "--data.bad_images", "skip", *TINY_RUN,
                      "--trainer.default_root_dir", str(tmp_path / "runs"))  # fmt: skip
    one_line_error(result)
    assert not list((tmp_path / "runs").glob("*/version_*"))


def test_odd_size_with_conv_asks_for_an_even_size(tmp_path, capsys, monkeypatch):
    flags = folder_data(tmp_path / "faces", 4, size=31)
    result = cli_here(capsys, monkeypatch, "fit", "--model", "ae", "--model.backbone", "conv", *flags,
                      "--trainer.default_root_dir", str(tmp_path / "runs"))  # fmt: skip
    one_line_error(result, "even image size", "--data.size 32")


# ----- checkpoints given to fit and test ------------------------------------------------------------------
def test_checkpoint_problems_in_fit_and_test(trained_vae, tmp_path, capsys, monkeypatch):
    runs = tmp_path / "runs"
    truncated = tmp_path / "truncated.ckpt"
    truncated.write_bytes(trained_vae.read_bytes()[:5000])
    base = [*TINY_RUN, "--trainer.default_root_dir", str(runs)]
    for command in ("fit", "test"):
        result = cli_here(
            capsys, monkeypatch, command, "--model", "vae", "--ckpt_path", str(tmp_path / "no.ckpt"), *base
        )
        one_line_error(result, "no.ckpt does not exist")
        result = cli_here(capsys, monkeypatch, command, "--model", "vae", "--ckpt_path", str(truncated), *base)
        one_line_error(result, "cannot be read")
    result = cli_here(capsys, monkeypatch, "fit", "--model", "aae", "--ckpt_path", str(trained_vae), *base)
    one_line_error(result, "holds a vae model, not a aae")
    assert not list(runs.glob("*/version_*"))


def test_mnist_checkpoint_with_other_data_is_refused(trained_vae, tmp_path, capsys, monkeypatch):
    before = trained_vae.read_bytes()
    flags = folder_data(tmp_path / "faces", 8)
    for command in ("test", "fit"):
        result = cli_here(capsys, monkeypatch, command, "--model", "vae", *flags, "--ckpt_path", str(trained_vae),
                          *TINY_RUN, "--trainer.default_root_dir", str(tmp_path / "runs"))  # fmt: skip
        one_line_error(result, "trained on (1, 28, 28) images", "(3, 32, 32)")
    assert trained_vae.read_bytes() == before


# ----- resume, Ctrl-C, SIGKILL -----------------------------------------------------------------------------
RESUMABLE = ["fit", "--model", "ae", "--model.hidden_dims", "[32]", "--data.batch_size", "32", *QUIET,
             "--trainer.limit_train_batches", "30", "--trainer.limit_val_batches", "1", "--test_after_fit", "false",
             "--trainer.max_epochs", "3"]  # fmt: skip


def start_fit(root: Path, *extra: str, restore_sigint: bool = False) -> subprocess.Popen:
    import os

    env = dict(os.environ)
    default_sigint = (lambda: signal.signal(signal.SIGINT, signal.SIG_DFL)) if restore_sigint else None
    return subprocess.Popen(
        [sys.executable, "-m", "genzoo.cli", *RESUMABLE, "--trainer.default_root_dir", str(root), *extra],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=default_sigint,
    )  # fmt: skip


def wait_for(path: Path, process: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not path.is_file():
        assert process.poll() is None, process.communicate()[1][-3000:]
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.02)


@pytest.mark.slow  # starts genzoo processes
def test_sigkill_then_resume_ends_where_an_uninterrupted_run_ends(tmp_path):
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    full = start_fit(whole)
    victim = start_fit(killed)
    last = killed / "ae-mnist" / "version_0" / "checkpoints" / "last.ckpt"
    wait_for(last, victim)
    victim.send_signal(signal.SIGKILL)  # after its first epoch: in the middle of the run
    victim.wait()
    assert full.wait(timeout=300) == 0, full.stderr.read()[-3000:]
    epoch_killed, _ = ckpt_state(last)
    assert epoch_killed < 2, "the run finished before it could be killed"

    resumed = run_cli(*RESUMABLE, "--trainer.default_root_dir", str(killed), "--ckpt_path", "last")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "resuming" in resumed.stderr
    assert [p.name for p in (killed / "ae-mnist").iterdir()] == ["version_0"], "resumed in a new folder"
    assert ckpt_state(last) == ckpt_state(whole / "ae-mnist" / "version_0" / "checkpoints" / "last.ckpt")
    with open(killed / "ae-mnist" / "version_0" / "metrics.csv") as f:
        epochs = {int(row["epoch"]) for row in csv.DictReader(f)}
    assert {epoch_killed, 2} <= epochs, f"metrics.csv lost epochs: {sorted(epochs)}"
    a = torch.load(last, weights_only=False)["state_dict"]
    b = torch.load(whole / "ae-mnist" / "version_0" / "checkpoints" / "last.ckpt", weights_only=False)["state_dict"]
    # Optimizer, step counters and random streams were restored: the very same weights, bit for bit.
    assert all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.slow  # starts genzoo processes
def test_ctrl_c_says_interrupted_and_exits_130(tmp_path):
    # 50 epochs, so that the interrupt lands mid-run however late a loaded machine delivers it. The child
    # gets SIGINT's default handling back: a shell that starts a suite in the background (`make test &`)
    # passes SIGINT on as ignored, and Python then never raises KeyboardInterrupt.
    process = start_fit(tmp_path, "--trainer.max_epochs", "50", restore_sigint=True)
    wait_for(tmp_path / "ae-mnist" / "version_0" / "checkpoints" / "last.ckpt", process)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err[-3000:]
    assert err.strip().splitlines()[-1] == "genzoo: interrupted"
    assert (tmp_path / "ae-mnist" / "version_0" / "checkpoints" / "last.ckpt").is_file()


@pytest.mark.slow  # a CLI training run with checkpoints
def test_resume_last_with_nothing_to_resume_starts_a_new_run(tmp_path, capsys, monkeypatch):
    args = ["fit", "--model", "ae", "--model.hidden_dims", "[16]", *TINY_RUN, "--test_after_fit", "false"]
    result = cli_here(capsys, monkeypatch, *args, "--trainer.default_root_dir", str(tmp_path), "--ckpt_path", "last")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "starting a new run" in result.stderr
    assert (tmp_path / "ae-mnist" / "version_0" / "checkpoints" / "last.ckpt").is_file()


# ----- divergence and full disks ---------------------------------------------------------------------------
def fit_ae_two_epochs(root: Path) -> list[str]:
    return ["fit", "--model", "ae", "--model.hidden_dims", "[16]", *TINY_RUN[2:], "--trainer.max_epochs", "3",
            "--test_after_fit", "false", "--trainer.default_root_dir", str(root)]  # fmt: skip


@pytest.mark.slow  # a CLI training run with checkpoints
def test_divergence_stops_with_one_line_and_keeps_the_good_checkpoint(tmp_path, capsys, monkeypatch):
    from genzoo.models.ae import AE

    original = AE.training_step

    def diverging_step(self, batch, batch_idx):
        if self.global_step >= 7:  # epoch 1 of 5-batch epochs: the weights blow up
            with torch.no_grad():
                for p in self.parameters():
                    p.fill_(float("nan"))
        return original(self, batch, batch_idx)

    monkeypatch.setattr(AE, "training_step", diverging_step)
    result = cli_here(capsys, monkeypatch, *fit_ae_two_epochs(tmp_path))
    one_line_error(result, "ae diverged", "loss term 'loss'", "step", "last good checkpoint")
    last = tmp_path / "ae-mnist" / "version_0" / "checkpoints" / "last.ckpt"
    assert ckpt_state(last) == (0, 5)
    state = torch.load(last, weights_only=False)["state_dict"]
    assert all(torch.isfinite(v).all() for v in state.values())


@pytest.mark.slow  # a CLI training run with checkpoints
def test_disk_full_while_writing_a_checkpoint_keeps_the_previous_one(tmp_path, capsys, monkeypatch):
    saves = []
    real_save = torch.save

    def filling_save(obj, f, *args, **kwargs):
        saves.append(f)
        if len(saves) > 1:
            Path(f).write_bytes(b"half a checkp")
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_save(obj, f, *args, **kwargs)

    monkeypatch.setattr(torch, "save", filling_save)
    result = cli_here(capsys, monkeypatch, *fit_ae_two_epochs(tmp_path))
    line = one_line_error(result, "last.ckpt", "No space left on device", "the previous file is kept")
    assert "could not write" in line
    folder = tmp_path / "ae-mnist" / "version_0" / "checkpoints"
    assert ckpt_state(folder / "last.ckpt") == (0, 5)
    assert [p.name for p in folder.iterdir()] == ["last.ckpt"]


def test_disk_full_while_writing_the_decode_cache(tmp_path, capsys, monkeypatch):
    import genzoo.datamodules.cache as cache

    flags = folder_data(tmp_path / "faces", 6)
    before = {p: p.read_bytes() for p in (tmp_path / "faces").rglob("*") if p.is_file()}
    real_open_memmap = np.lib.format.open_memmap

    def full_disk(*args, **kwargs):
        real_open_memmap(*args, **kwargs)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(cache.np.lib.format, "open_memmap", full_disk)
    result = cli_here(capsys, monkeypatch, "fit", "--model", "ae", *flags, *TINY_RUN,
                      "--trainer.default_root_dir", str(tmp_path / "runs"))  # fmt: skip
    one_line_error(result, "could not write", ".npy", "No space left on device")
    after = {p: p.read_bytes() for p in (tmp_path / "faces").rglob("*") if p.is_file()}
    assert after == before, "a failed cache write left or changed files"


def test_cli_reference_lists_every_command():
    from genzoo.commands import COMMANDS

    reference = (REPO / "docs" / "cli.md").read_text()
    missing = [c for c in COMMANDS.names() if f"genzoo {c}" not in reference and f"| `{c}`" not in reference]
    assert not missing, f"docs/cli.md does not document: {missing}"


def test_divergence_noted_before_other_terms_were_logged_is_not_forgotten():
    """A step that logs another set of terms (R1 every few batches) must not wipe the notes of earlier steps."""
    from types import SimpleNamespace

    from tiny import build_model

    from genzoo.divergence import DivergenceStop
    from genzoo.errors import GenzooError

    model = build_model("ae")
    trainer = SimpleNamespace(log_every_n_steps=100, checkpoint_callback=None, global_step=3)
    model._trainer = trainer
    stop = DivergenceStop()
    nan, one = torch.tensor(float("nan")), torch.tensor(1.0)
    model.log_train(1, loss=nan, kl=one)
    stop.on_train_batch_end(trainer, model, None, None, 1)  # no check on this batch (not a logging step)
    model.log_train(2, loss=one, kl=one, r1=one)
    stop.on_train_batch_end(trainer, model, None, None, 2)
    model.log_train(3, loss=one, kl=one)
    with pytest.raises(GenzooError, match="loss term 'loss' became non-finite"):
        stop.on_train_epoch_end(trainer, model)
