"""The face extractor: its shipped weights, its features, and when evaluation chooses it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import SHARED_DATA, TINY_RUN, make_anime_png, run_cli
from PIL import Image, ImageFilter

from genzoo.metrics.evaluation import EvalSettings, Evaluator
from genzoo.metrics.features import (
    EXTRACTORS,
    FACE_FEATURES_WEIGHTS,
    FaceFeatures,
    build_extractor,
    extract,
    file_sha256,
)
from genzoo.metrics.sample_quality import frechet_distance
from genzoo.registry import DATAMODULES

ANIME_IMAGES = SHARED_DATA / "anime_sample" / "images"


@pytest.fixture
def no_inception(tmp_path, monkeypatch) -> None:
    """Inception's weights are nowhere to be found, whatever this machine has cached."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    monkeypatch.delenv("GENZOO_INCEPTION_WEIGHTS", raising=False)


def test_shipped_weights_load_and_match_their_record() -> None:
    extractor = build_extractor("face_features")
    record = json.loads(FACE_FEATURES_WEIGHTS.with_suffix(".json").read_text())
    assert isinstance(extractor, FaceFeatures) and not extractor.training
    assert record["sha256"] == file_sha256(FACE_FEATURES_WEIGHTS) == extractor.checksum
    card = extractor.describe()
    assert card["num_features"] == 128 and card["trained_by"] == "experiments/train_face_features.py"
    # The record's held-out figures are what the card carries: attributes beat the majority guess.
    assert card["held_out"]["attribute_accuracy"] > card["held_out"]["attribute_majority_baseline"]


@pytest.mark.parametrize("shape", [(3, 64, 64), (3, 32, 32), (3, 128, 128), (1, 64, 64)])
def test_features_are_finite_and_128_wide_for_face_shaped_batches(shape) -> None:
    extractor = build_extractor("face_features")
    images = torch.randint(0, 256, (5, *shape), dtype=torch.uint8)
    features, logits = extract(extractor, images, batch_size=2)
    assert features.shape == (5, 128) and torch.isfinite(features).all() and logits is None
    # Each image's features depend on that image alone (evaluation mode: no batch statistics).
    alone, _ = extract(extractor, images[:1])
    assert torch.allclose(alone, features[:1], atol=1e-5)


@pytest.mark.parametrize("data", ["anime", "celeba"])
def test_faces_without_inception_are_measured_by_the_face_extractor(data, no_inception) -> None:
    evaluator = Evaluator(EvalSettings(download=False))
    chosen = evaluator.choose_extractors(data)
    assert [name for name, _ in chosen] == ["inception", "face_features"]
    assert "inception is unavailable here" in chosen[1][1]
    card = evaluator.extractor_card(*chosen[0])
    assert card["name"] == "inception" and "downloading is off" in card["unavailable"]
    assert evaluator.extractor_card(*chosen[1])["sha256"] == file_sha256(FACE_FEATURES_WEIGHTS)


def test_inception_stays_the_choice_when_it_can_run(monkeypatch) -> None:
    evaluator = Evaluator(EvalSettings(download=False))
    monkeypatch.setitem(evaluator._extractors, "inception", build_extractor("face_features"))  # stands in: it runs
    assert evaluator.extractor_names("anime") == evaluator.extractor_names("celeba") == ["inception"]


def test_other_data_and_explicit_choices_are_left_alone(no_inception) -> None:
    evaluator = Evaluator(EvalSettings(download=False))
    assert evaluator.extractor_names("mnist") == ["mnist_classifier"]
    assert evaluator.extractor_names("folder") == ["inception"]  # any images: no face network unless asked for
    asked = Evaluator(EvalSettings(download=False, extractors=["face_features"]))
    assert asked.choose_extractors("folder") == [("face_features", "asked for (--extractors)")]


def load_faces(files: list[Path], blur: float = 0.0) -> torch.Tensor:
    images = []
    for f in files:
        image = Image.open(f).convert("RGB").resize((32, 32), Image.BICUBIC)
        if blur:
            image = image.filter(ImageFilter.GaussianBlur(blur))
        images.append(np.asarray(image))
    return torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).contiguous()


@pytest.mark.skipif(not ANIME_IMAGES.is_dir(), reason="../shared/data/anime_sample is not present")
def test_fid_with_face_features_tells_real_from_blurred_and_noisy_faces() -> None:
    files = sorted(ANIME_IMAGES.glob("*.jpg"))[:1200]
    extractor = build_extractor("face_features")
    first, second = load_faces(files[:600]), load_faces(files[600:])
    blurred = load_faces(files[600:], blur=1.0)
    noise = torch.randn(second.shape, generator=torch.Generator().manual_seed(0)) * 0.1
    noisy = ((second / 255 + noise).clamp(0, 1) * 255).round().to(torch.uint8)
    reference = extract(extractor, first)[0]
    real, soft, grainy = (frechet_distance(reference, extract(extractor, x)[0]) for x in (second, blurred, noisy))
    assert real * 2 < soft and real * 2 < grainy, (real, soft, grainy)


@pytest.mark.slow  # trains and evaluates through genzoo processes
def test_eval_prints_a_face_fid_offline(tmp_path) -> None:
    data = make_anime_png(tmp_path / "anime", n=40)
    runs = tmp_path / "runs"
    fit = run_cli(
        "fit", "--model", "gan", "--data", "anime", "--data.root", str(data), "--data.size", "32",
        "--data.batch_size", "8", "--data.cache_dir", str(tmp_path / "cache"),
        "--trainer.default_root_dir", str(runs), "--test_after_fit", "false", *TINY_RUN,
    )  # fmt: skip
    assert fit.returncode == 0, fit.stderr[-2000:]
    checkpoint = next(runs.glob("gan-anime/version_0/checkpoints/*.ckpt"))
    env = {"TORCH_HOME": str(tmp_path / "torch-home"), "GENZOO_INCEPTION_WEIGHTS": ""}
    # The training split as reference: the tiny set's test split has too few images for k-NN precision/recall.
    done = run_cli(
        "eval", "--ckpt", str(checkpoint), "--num-samples", "64", "--split", "train", "--no-download", env=env
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    assert result["data"] == "anime"
    fid = result["sample_quality"]["face_features"]["fid"]
    assert isinstance(fid, float) and fid > 0
    assert "unavailable" in result["sample_quality"]["inception"]
    used = result["protocol"]["extractors"][1]
    assert used["name"] == "face_features" and "inception is unavailable" in used["chosen"]


def test_every_fallback_extractor_is_registered() -> None:
    fallbacks = {name: DATAMODULES.get(name).fallback_extractor for name in DATAMODULES.names()}
    assert fallbacks["anime"] == fallbacks["celeba"] == "face_features" and fallbacks["mnist"] is None
    assert all(f in EXTRACTORS for f in fallbacks.values() if f)
