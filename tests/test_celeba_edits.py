"""The measurement functions of experiments/celeba_edits.py on tiny tensors with known answers."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import pytest
import torch
from helpers import make_celeba

SCRIPT = Path(__file__).resolve().parents[1] / "experiments" / "celeba_edits.py"


@pytest.fixture(scope="module")
def edits():
    spec = importlib.util.spec_from_file_location("celeba_edits", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["celeba_edits"] = module
    spec.loader.exec_module(module)
    return module


def test_read_share_and_binomial_error(edits) -> None:
    logits = torch.tensor([2.0, -1.0, 0.5, -3.0])
    assert edits.read_share(logits, torch.tensor([1, 0, 1, 0])) == 1.0
    assert edits.read_share(logits, torch.tensor([1, 1, 1, 1])) == 0.5
    assert edits.binomial_se(0.5, 100) == pytest.approx(0.05)
    assert math.isnan(edits.binomial_se(0.5, 0))


def test_feature_distances_and_derangement(edits) -> None:
    a = torch.tensor([[0.0, 0.0], [1.0, 1.0]])
    b = torch.tensor([[3.0, 4.0], [1.0, 1.0]])
    assert edits.feature_distances(a, b).tolist() == [5.0, 0.0]
    for n in (2, 3, 17):
        other = edits.derangement(n, torch.Generator().manual_seed(n))
        assert sorted(other.tolist()) == list(range(n)) and (other != torch.arange(n)).all()


def test_measure_edits_on_a_known_case(edits) -> None:
    """Four faces, Smiling 0 0 1 1: the edit flips the classifier's Smiling reading on three of them, the
    reconstruction keeps every reading, and the features move by known amounts."""
    labels = torch.tensor([[0, 0, 1], [0, 0, 0], [1, 0, 1], [1, 1, 0]])
    reads = (labels * 2 - 1).float()  # logits that read each face's own values
    smiled = reads.clone()
    smiled[:3, 0] = -smiled[:3, 0]  # the Smiling edit lands on faces 0, 1, 2 only
    logits = {"original": reads, "reconstruction": reads, "Smiling": smiled, "Eyeglasses": reads, "Male": reads}
    original = torch.tensor([[0.0, 0.0], [0.0, 3.0], [4.0, 0.0], [4.0, 3.0]])  # neighbours 3 apart
    moved = {"reconstruction": [1.0, 0.0], "Smiling": [0.0, 2.0], "Eyeglasses": [0.0, 0.0], "Male": [0.0, 0.0]}
    features = {"original": original, **{k: original + torch.tensor(v) for k, v in moved.items()}}
    other = torch.tensor([1, 0, 3, 2])
    result = edits.measure_edits(logits, features, labels, other)

    smile = result["Smiling"]
    assert smile["add"]["n"] == 2 and smile["add"]["edited_read_as_target"] == 1.0
    assert smile["remove"]["edited_read_as_target"] == 0.5
    assert smile["both"]["edited_read_as_target"] == 0.75
    assert smile["both"]["edited_se"] == pytest.approx(math.sqrt(0.75 * 0.25 / 4), abs=1e-4)
    assert smile["both"]["reconstruction_read_as_target"] == 0.0  # the control: unedited faces read unchanged
    assert smile["both"]["other_attributes_read_unchanged"] == 1.0
    assert smile["identity"]["edited_to_original"]["mean"] == 2.0
    assert smile["identity"]["edited_to_reconstruction"]["mean"] == pytest.approx(math.sqrt(5), abs=1e-4)
    assert result["Eyeglasses"]["add"]["n"] == 3 and result["Eyeglasses"]["both"]["edited_read_as_target"] == 0.0
    scale = result["identity_scale"]
    assert scale["reconstruction_to_original"]["mean"] == 1.0
    assert scale["other_face_to_original"]["mean"] == 3.0  # each face's partner is 3 away


def test_flip_edit_and_strip_with_a_tiny_cvae(edits) -> None:
    """A tiny untrained CVAE: the edits change exactly one condition and come back as 8-bit images."""
    from genzoo.models.cvae import CVAE

    model = CVAE(
        image_shape=(3, 32, 32), latent_dim=4, backbone="conv", hidden_dims=[8], num_classes=40, multi_label=True
    )
    labels = torch.randint(0, 2, (3, 40))
    assert (edits.flipped(labels, 5) != labels).sum(1).tolist() == [1, 1, 1]
    images = torch.randint(0, 256, (3, 3, 32, 32), dtype=torch.uint8)
    faces = {"original": images, **edits.edit_faces(model, images, labels)}
    assert set(faces) == {"original", "reconstruction", *edits.EDITED}
    assert all(v.dtype == torch.uint8 and v.shape == images.shape for v in faces.values())
    strip = edits.strip_image(faces, [0, 2], scale=2)
    assert strip.shape == (2 * (2 + len(edits.EDITED)), 3, 64, 64)


def test_holdout_root_hides_the_held_out_attributes(edits, tmp_path: Path) -> None:
    base = make_celeba(tmp_path / "src", n=30, labelled=12)
    held = edits.heldout_names(base, 4, seed=0)
    assert held == edits.heldout_names(base, 4, seed=0) and len(set(held)) == 4
    root = edits.write_holdout_root(base, tmp_path / "root", held)
    text = (root / "list_attr_celeba.txt").read_text().splitlines()
    assert text[0] == "8" and not any(line.split()[0] in held for line in text[2:])
    assert (root / "img_align_celeba").is_dir() and (root / "list_eval_partition.txt").is_file()
