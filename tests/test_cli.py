"""The CLI as a user runs it: fit, run folders, recipes, loggers, sample, list, and every error path."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from helpers import REPO, TINY_RUN, assert_one_line_error, run_cli

from genzoo.cli import main, rewrite_arguments


@pytest.mark.slow  # starts genzoo processes
def test_list_shows_registries():
    result = run_cli("list")
    assert result.returncode == 0, result.stderr
    for name in ("models:", "ae", "vae", "backbones:", "mlp", "conv", "datasets:", "mnist"):
        assert name in result.stdout


@pytest.mark.slow  # starts genzoo processes
def test_fit_defaults_to_mnist_and_fills_a_run_folder(tmp_path):
    result = run_cli("fit", "--model", "ae", *TINY_RUN, "--trainer.default_root_dir", str(tmp_path))
    assert result.returncode == 0, result.stderr[-3000:]
    run = tmp_path / "ae-mnist" / "version_0"
    assert (run / "config.yaml").is_file()
    assert "genzoo.datamodules.mnist.MNISTDataModule" in (run / "config.yaml").read_text()
    assert list((run / "checkpoints").glob("*.ckpt"))
    assert (run / "images" / "epoch000_samples.png").is_file()
    assert (run / "images" / "epoch000_reconstructions.png").is_file()
    metrics = list(csv.DictReader((run / "metrics.csv").open()))
    assert any(row.get("val/recon_mse") for row in metrics)
    assert any(row.get("throughput/images_per_s") for row in metrics)
    # The test split is evaluated after fit and printed.
    line = next(line for line in result.stdout.splitlines() if line.startswith("test metrics:"))
    assert 0 < json.loads(line.split(":", 1)[1])["test/recon_mse"] < 1
    # A second run gets its own folder.
    again = run_cli("fit", "--model", "ae", *TINY_RUN, "--test_after_fit", "false",
                    "--trainer.default_root_dir", str(tmp_path))  # fmt: skip
    assert again.returncode == 0, again.stderr[-3000:]
    assert (tmp_path / "ae-mnist" / "version_1" / "config.yaml").is_file()


@pytest.mark.slow  # starts genzoo processes
def test_recipe_with_overrides_and_tensorboard_logger(tmp_path):
    result = run_cli(
        "fit", "--config", str(REPO / "experiments/recipes/mnist/vae.yaml"), *TINY_RUN,
        "--model.latent_dim", "4", "--model.backbone", "conv", "--data.batch_size", "32",
        "--trainer.logger", "tensorboard", "--trainer.default_root_dir", str(tmp_path), "--test_after_fit", "false",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    run = tmp_path / "vae-mnist" / "version_0"
    config = (run / "config.yaml").read_text()
    assert "latent_dim: 4" in config and "backbone: conv" in config and "batch_size: 32" in config
    assert list(run.glob("events.out.tfevents.*"))
    assert "class_path: pytorch_lightning.loggers.TensorBoardLogger" in config  # the logger it really used
    assert (run / "metrics.csv").is_file() and (run / "checkpoints" / "last.ckpt").is_file()
    # Rerunning the saved config logs to TensorBoard again, into the next run folder.
    again = run_cli("fit", "--config", str(run / "config.yaml"), "--trainer.max_epochs", "1")
    assert again.returncode == 0, again.stderr[-3000:]
    assert list((tmp_path / "vae-mnist" / "version_1").glob("events.out.tfevents.*"))


@pytest.mark.slow  # starts genzoo processes
def test_wandb_logger_runs_offline_without_an_account(tmp_path):
    env = {"WANDB_MODE": "", "HOME": str(tmp_path)}  # no account, no netrc
    result = run_cli("fit", "--model", "ae", *TINY_RUN, "--trainer.logger", "wandb", "--test_after_fit", "false",
                     "--trainer.default_root_dir", str(tmp_path), env={k: v for k, v in env.items() if v})  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    run = tmp_path / "ae-mnist" / "version_0"
    assert list(run.rglob("offline-run-*"))
    # Everything in the run folder as with any logger: checkpoint, config (naming wandb), metrics.
    assert [p.relative_to(run).as_posix() for p in run.rglob("*.ckpt")] == ["checkpoints/last.ckpt"]
    assert "pytorch_lightning.loggers.WandbLogger" in (run / "config.yaml").read_text()
    assert (run / "metrics.csv").is_file()


def test_sample_png_and_npz(trained_vae, tmp_path):
    png, npz = tmp_path / "grid.png", tmp_path / "out" / "samples.npz"
    assert run_cli("sample", "--ckpt", str(trained_vae), "--num", "9", "--out", str(png)).returncode == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    result = run_cli("sample", "--ckpt", str(trained_vae), "--num", "5", "--out", str(npz), "--seed", "3")
    assert result.returncode == 0, result.stderr
    images = np.load(npz)["images"]
    assert images.shape == (5, 1, 28, 28) and images.dtype == np.uint8
    assert not list(npz.parent.glob(".tmp-*")), "temporary files left behind"


def test_rewrite_arguments_resolves_aliases():
    args, logger = rewrite_arguments(["fit", "--model=vae", "--data", "mnist", "--trainer.logger", "TensorBoard"])
    assert args == ["fit", "--model", "genzoo.models.vae.VAE", "--data", "genzoo.datamodules.mnist.MNISTDataModule"]
    assert logger == "tensorboard"
    args, _ = rewrite_arguments(["fit", "--model", "VAE"])
    assert args[1:3] == ["--data", "genzoo.datamodules.mnist.MNISTDataModule"]


# ---- error paths: one line, exit code 2, no traceback ----------------------------------------------


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["fit", "--model", "nope"], ["unknown model 'nope'", "vae"]),
        (["fit", "--model", "vae", "--data", "nope"], ["unknown dataset 'nope'", "mnist"]),
        (["fit", "--model", "vae", "--model.backbone", "nope"], ["unknown backbone 'nope'", "mlp"]),
        (["fit", "--model", "vae", "--model.latent_dim", "abc"], ["latent_dim", "abc"]),
        (["fit", "--model", "vae", "--trainer.no_such_flag", "1"], ["no_such_flag"]),
        (["frobnicate"], ["unknown command 'frobnicate'"]),
        (["sample", "--ckpt", "missing.ckpt", "--num", "4", "--out", "x.png"], ["missing.ckpt", "does not exist"]),
        (["sample", "--ckpt", "missing.ckpt", "--num", "0", "--out", "x.png"], ["--num", "at least 1"]),
        (["sample", "--ckpt", "missing.ckpt", "--num", "4", "--out", "x.jpg"], ["'.jpg'", ".png or .npz"]),
    ],
)
def test_bad_input_in_process(args, fragments, capsys):
    assert main(args) == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("genzoo: error:")]
    assert len(lines) == 1, err
    for fragment in fragments:
        assert fragment in lines[0]


@pytest.mark.slow  # starts genzoo processes
def test_unknown_model_from_a_real_shell():
    assert_one_line_error(run_cli("fit", "--model", "vea"), "unknown model 'vea'")


@pytest.mark.slow  # starts genzoo processes
def test_unreadable_checkpoint(tmp_path):
    bogus = tmp_path / "bogus.ckpt"
    bogus.write_text("not a checkpoint")
    out = tmp_path / "keep.png"
    out.write_bytes(b"precious")
    assert_one_line_error(run_cli("sample", "--ckpt", str(bogus), "--out", str(out)), "cannot be read")
    assert out.read_bytes() == b"precious", "an existing output was touched by a failed run"


@pytest.mark.slow  # starts genzoo processes
@pytest.mark.parametrize(("model", "threshold"), [("ae", 0.02), ("vae", 0.03)])
def test_one_epoch_of_the_defaults_reaches_the_promised_test_mse(model, threshold, tmp_path):
    """`genzoo fit --model ae|vae --data mnist --trainer.max_epochs 1` with every other setting at its
    default (full epoch, full test split): the printed test MSE is below what the README states."""
    result = run_cli(
        "fit", "--model", model, "--data", "mnist", "--trainer.max_epochs", "1",
        "--trainer.enable_progress_bar", "false", "--trainer.default_root_dir", str(tmp_path),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    line = next(line for line in result.stdout.splitlines() if line.startswith("test metrics:"))
    mse = json.loads(line.split(":", 1)[1])["test/recon_mse"]
    assert mse < threshold, f"{model}: test MSE {mse:.4f} after one epoch, promised below {threshold}"
