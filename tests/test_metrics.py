"""Metrics: each is checked against a case whose answer is known, then end to end on checkpoints."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from unittest import mock

import pytest
import pytorch_lightning as pl
import torch
from helpers import assert_one_line_error, build_model, cli_here, handmade_checkpoint

from genzoo.checkpoint_format import FORMAT_VERSION
from genzoo.cli import main
from genzoo.metrics.coverage import mode_coverage
from genzoo.metrics.evaluation import EvalSettings, Evaluator
from genzoo.metrics.features import (
    MNIST_CLASSIFIER_WEIGHTS,
    ExtractorUnavailable,
    build_extractor,
    extract,
    file_sha256,
)
from genzoo.metrics.precision_recall import precision_recall
from genzoo.metrics.probe import linear_probe
from genzoo.metrics.sample_quality import fid_kid, frechet_distance
from genzoo.registry import MODELS

TINY = EvalSettings(
    num_samples=200, reference_size=400, probe_train_size=400, kid_subsets=10, kid_subset_size=100, batch_size=200
)


# ----- each metric on a case with a known answer --------------------------------------------------
def test_fid_matches_closed_form_for_gaussians() -> None:
    g = torch.Generator().manual_seed(0)
    real = torch.randn(20_000, 4, generator=g)
    shifted = torch.randn(20_000, 4, generator=g) + torch.tensor([2.0, 0, 0, 0])
    # Equal covariances: FID = ||mu1 - mu2||^2 = 4.
    assert frechet_distance(real, shifted) == pytest.approx(4.0, abs=0.15)
    assert frechet_distance(real, real) == pytest.approx(0.0, abs=1e-6)


def test_kid_is_zero_for_one_distribution_and_positive_for_two() -> None:
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(600, 8, generator=g), torch.randn(600, 8, generator=g)
    same = fid_kid(a, b, kid_subsets=20, kid_subset_size=300)
    apart = fid_kid(a, b + 1.0, kid_subsets=20, kid_subset_size=300)
    assert abs(same["kid_mean"]) < 0.05 < apart["kid_mean"]
    assert same == fid_kid(a, b, kid_subsets=20, kid_subset_size=300)  # seeded subsets: reproducible


def test_precision_recall_separates_realism_from_coverage() -> None:
    g = torch.Generator().manual_seed(0)
    real = torch.randn(1500, 8, generator=g)
    same = precision_recall(real, torch.randn(1500, 8, generator=g))
    collapsed = precision_recall(real, 0.1 * torch.randn(1500, 8, generator=g))  # realistic, no variety
    far = precision_recall(real, torch.randn(1500, 8, generator=g) + 10)
    assert same["precision"] > 0.6 and same["recall"] > 0.6
    assert collapsed["precision"] > 0.95 and collapsed["recall"] < 0.2
    assert far["precision"] == 0.0 and far["recall"] == 0.0


def test_mode_coverage_entropy_and_label_accuracy() -> None:
    balanced = torch.nn.functional.one_hot(torch.arange(1000) % 10, 10).float() * 10
    collapsed = torch.nn.functional.one_hot(torch.zeros(1000, dtype=torch.long), 10).float() * 10
    result = mode_coverage(balanced, real_logits=balanced, requested=torch.arange(1000) % 10)
    assert result["entropy"] == pytest.approx(1.0)
    assert sum(result["histogram"]) == pytest.approx(1.0)
    assert result["label_accuracy"] == 1.0 and result["mean_confidence"] > 0.99
    assert mode_coverage(collapsed)["entropy"] == pytest.approx(0.0)


def test_linear_probe_reads_linear_labels_and_ignores_unannotated() -> None:
    g = torch.Generator().manual_seed(0)
    labels = torch.randint(0, 5, (2000,), generator=g)
    codes = torch.nn.functional.one_hot(labels, 5).float() + 0.3 * torch.randn(2000, 5, generator=g)
    result = linear_probe(codes[:1000], labels[:1000], codes[1000:], labels[1000:])
    assert result["accuracy"] > 0.95
    attributes = (codes[:, :3] > 0.5).long()
    attributes[::7, 1] = -1  # unannotated entries must not count
    multi = linear_probe(codes[:1000], attributes[:1000], codes[1000:], attributes[1000:])
    assert multi["accuracy"] > 0.95
    noise = linear_probe(
        torch.randn(1000, 5, generator=g), labels[:1000], torch.randn(1000, 5, generator=g), labels[1000:]
    )
    assert noise["accuracy"] < 0.35  # chance is 0.2


# ----- the MNIST domain extractor: accurate, and FID with it discriminates ------------------------
@pytest.fixture(scope="module")
def mnist():
    from genzoo.datamodules.mnist import MNISTDataModule

    data = MNISTDataModule()
    data.setup()
    return data


@pytest.mark.slow  # classifies 20,000 digits and compares them
def test_mnist_classifier_accuracy_and_fid_discriminates(mnist) -> None:
    extractor = build_extractor("mnist_classifier")
    test = mnist.splits["test"]
    test_features, test_logits = extract(extractor, test.images)
    accuracy = (test_logits.argmax(1) == test.labels).float().mean().item()
    assert accuracy >= 0.99, f"the MNIST extractor classifies the test split at {accuracy:.4f}"
    recorded = json.loads(MNIST_CLASSIFIER_WEIGHTS.with_suffix(".json").read_text())
    assert recorded["sha256"] == file_sha256(MNIST_CLASSIFIER_WEIGHTS) == extractor.checksum
    assert recorded["test_accuracy"] == pytest.approx(accuracy, abs=1e-4)

    real_features, _ = extract(extractor, mnist.splits["train"].images[:10_000])
    noise = torch.rand(2000, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    noise_features, _ = extract(extractor, noise)
    fid_real = frechet_distance(test_features, real_features)
    fid_noise = frechet_distance(test_features, noise_features)
    # Real images score near 0 and noise orders of magnitude higher (docs/metrics.md has the values).
    assert fid_real < 2.0, f"FID of 10,000 real training images against the test split is {fid_real:.3f}"
    assert fid_noise > 500 * max(fid_real, 0.01), f"FID of noise {fid_noise:.1f} vs real {fid_real:.3f}"
    pr_real = precision_recall(test_features[:5000], real_features[:5000])
    pr_noise = precision_recall(test_features[:5000], noise_features)
    assert pr_real["precision"] > 0.7 and pr_real["recall"] > 0.7
    assert pr_noise["precision"] < 0.05


# ----- Inception: used when weights are present, reported unavailable (never fatal) when not -------
def random_inception_weights(path: Path) -> Path:
    """A weights file in torch-fidelity's layout with random values: tests the local-file path offline."""
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    with (
        mock.patch.object(FeatureExtractorInceptionV3, "load_state_dict", lambda *a, **k: None),
        mock.patch("torch.load", return_value={}),
    ):
        net = FeatureExtractorInceptionV3("inception-v3-compat", ["2048"], feature_extractor_weights_path="unused")
    torch.save(net.state_dict(), path)
    return path


def test_inception_unavailable_reasons(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))  # an empty cache
    monkeypatch.delenv("GENZOO_INCEPTION_WEIGHTS", raising=False)
    with pytest.raises(ExtractorUnavailable, match="downloading is off"):
        build_extractor("inception", download=False)
    with pytest.raises(ExtractorUnavailable, match="does not exist"):
        build_extractor("inception", weights=str(tmp_path / "nope.pth"))
    (tmp_path / "bad.pth").write_text("not weights")
    with pytest.raises(ExtractorUnavailable, match="cannot be loaded"):
        build_extractor("inception", weights=str(tmp_path / "bad.pth"))
    with mock.patch.dict(sys.modules, {"torch_fidelity.feature_extractor_inceptionv3": None}):
        with pytest.raises(ExtractorUnavailable, match="torch-fidelity is not installed"):
            build_extractor("inception")


@pytest.mark.slow  # builds Inception v3 and runs it on the CPU
def test_inception_runs_from_a_local_weights_file(tmp_path, monkeypatch) -> None:
    weights = random_inception_weights(tmp_path / "inception.pth")
    monkeypatch.setenv("GENZOO_INCEPTION_WEIGHTS", str(weights))  # the environment variable route
    extractor = build_extractor("inception", download=False)
    features, logits = extract(extractor, torch.rand(3, 1, 28, 28))  # grayscale is expanded to RGB
    assert features.shape == (3, 2048) and logits is None
    assert extractor.describe()["sha256"] == file_sha256(weights)


# ----- evaluation of every registered model ------------------------------------------------------
def untrained_checkpoint(name: str, path: Path) -> Path:
    """A checkpoint of an untrained model on MNIST, in the layout Lightning writes."""
    torch.manual_seed(0)
    model = build_model(name, width=None)
    checkpoint = {
        "state_dict": model.state_dict(),
        "hyper_parameters": dict(model.hparams),
        "genzoo_model": name,
        "format_version": FORMAT_VERSION,
        "pytorch-lightning_version": pl.__version__,
    }
    torch.save(checkpoint, path)
    return path


@pytest.fixture(scope="module")
def evaluator() -> Evaluator:
    return Evaluator(TINY)


def finite(x: float) -> bool:
    return isinstance(x, float) and math.isfinite(x)


@pytest.mark.slow  # a full evaluation of every model
@pytest.mark.parametrize("name", MODELS.names())
def test_evaluate_every_model(name, tmp_path, evaluator) -> None:
    result = evaluator.evaluate(untrained_checkpoint(name, tmp_path / f"{name}.ckpt"), data="mnist")
    model_cls = MODELS.get(name)
    assert result["model"] == name and result["data"] == "mnist"
    recon = result["reconstruction"]
    if model_cls.has_encoder:
        assert all(finite(recon[k]) for k in ("mse", "psnr", "ssim")) and recon["num_images"] == 400
        # A random encoder's codes still carry the digit: the probe reads it far above chance (0.1). A probe
        # whose labels are out of step with its codes stays near chance.
        probe = result["linear_probe"]
        assert probe["num_train"] == probe["num_test"] == 400 and probe["accuracy"] > 0.25, probe
    else:
        assert "skipped" in recon and "skipped" in result["linear_probe"]
    quality = result["sample_quality"]["mnist_classifier"]
    assert all(finite(quality[k]) for k in ("fid", "kid_mean", "precision", "recall"))
    assert quality["fid"] > 0
    assert sum(result["coverage"]["histogram"]) == pytest.approx(1.0, abs=1e-3)
    card = result["protocol"]
    assert card["num_samples"] == 200 and card["reference_split"] == "test" and card["reference_size"] == 400
    assert card["extractors"][0]["sha256"] == file_sha256(MNIST_CLASSIFIER_WEIGHTS)
    assert {"torch", "torchmetrics", "genzoo"} <= set(card["versions"])


@pytest.mark.slow  # a full evaluation
def test_missing_inception_does_not_fail_an_evaluation(tmp_path, monkeypatch, evaluator) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    monkeypatch.delenv("GENZOO_INCEPTION_WEIGHTS", raising=False)
    settings = EvalSettings(**{**TINY.__dict__, "extractors": ["mnist_classifier", "inception"], "download": False})
    result = Evaluator(settings).evaluate(untrained_checkpoint("vae", tmp_path / "vae.ckpt"), data="mnist")
    assert "fid" in result["sample_quality"]["mnist_classifier"]
    assert "downloading is off" in result["sample_quality"]["inception"]["unavailable"]
    assert "unavailable" in result["protocol"]["extractors"][1]


# ----- genzoo eval as a user runs it ---------------------------------------------------------------
@pytest.fixture(scope="module")
def trained_checkpoint(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("runs")
    command = [sys.executable, "-m", "genzoo.cli", "fit", "--model", "ae", "--data", "mnist"]
    command += ["--trainer.max_epochs=1", "--trainer.limit_train_batches=20", "--trainer.limit_val_batches=2"]
    command += ["--trainer.enable_progress_bar=false", f"--trainer.default_root_dir={root}", "--test_after_fit=false"]
    subprocess.run(command, check=True, capture_output=True, timeout=300)
    return next(root.glob("ae-mnist/version_0/checkpoints/*.ckpt"))


@pytest.mark.slow  # starts genzoo processes
def test_eval_cli_on_a_trained_checkpoint(trained_checkpoint) -> None:
    command = [sys.executable, "-m", "genzoo.cli", "eval", "--ckpt", str(trained_checkpoint), "--num-samples", "300"]
    command += ["--reference-size", "500", "--probe-train-size", "500", "--seed", "3"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)
    written = json.loads(trained_checkpoint.with_suffix(".eval.json").read_text())
    assert printed == written
    assert printed["data"] == "mnist" and printed["model"] == "ae"  # data read from the run's config.yaml
    assert printed["protocol"]["seed"] == 3 and printed["protocol"]["num_samples"] == 300
    assert printed["reconstruction"]["mse"] < 0.1  # trained a little: far better than an untrained AE
    assert printed["linear_probe"]["accuracy"] > 0.5


@pytest.mark.parametrize(
    "args, message",
    [
        (["--ckpt", "no/such.ckpt"], "does not exist"),
        (["--ckpt", "{ckpt}", "--num-samples", "0"], "must be at least 1"),
        (["--ckpt", "{ckpt}", "--extractors", "nope"], "unknown feature extractor 'nope'"),
        (["--ckpt", "{ckpt}", "--metrics", "fid"], "unknown group(s) fid"),
        (["--ckpt", "{ckpt}", "--data", "nope"], "unknown dataset 'nope'"),
        (["--ckpt", "{ckpt}", "--split", "dev"], "invalid choice"),
        (["--ckpt", "{not_ckpt}"], "cannot be read"),
        (["--bogus"], "unrecognized arguments"),
    ],
)
def test_eval_errors_are_one_line_with_exit_code_2(args, message, tmp_path, capsys) -> None:
    not_ckpt = tmp_path / "notes.ckpt"
    not_ckpt.write_text("hello")
    ckpt = untrained_checkpoint("ae", tmp_path / "ae.ckpt")
    argv = ["eval", *[a.format(ckpt=ckpt, not_ckpt=not_ckpt) for a in args]]
    if "--ckpt" not in argv:
        argv += ["--ckpt", str(ckpt)]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1, err


@pytest.mark.slow  # starts genzoo processes
def test_eval_error_from_a_subprocess_has_no_traceback(tmp_path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "genzoo.cli", "eval", "--ckpt", str(tmp_path / "missing.ckpt")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().startswith("genzoo: error: checkpoint") and len(done.stderr.strip().splitlines()) == 1


def test_too_few_images_for_precision_and_recall_is_one_line(tmp_path, capsys, monkeypatch) -> None:
    """k-NN radii need more than k points on each side: three samples (k = 3) are refused before any work."""
    ckpt = handmade_checkpoint(tmp_path / "ae.ckpt", "ae")
    result = cli_here(capsys, monkeypatch, "eval", "--ckpt", str(ckpt), "--data", "mnist", "--num-samples", "3",
                      "--out", str(tmp_path / "eval.json"))  # fmt: skip
    assert_one_line_error(result, "precision and recall need more than 3 images", "3 samples")
    assert not (tmp_path / "eval.json").exists()
