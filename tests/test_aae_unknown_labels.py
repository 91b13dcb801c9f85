"""The supervised and the label-prior AAE need every image's label: images without one (-1: a loose file
beside the class subfolders, a CelebA image without attributes) are refused in one line that says how to
train on the labelled part (``--data.labelled_only true``), which then trains."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from helpers import TINY_RUN, cli_here, write_image

from genzoo.errors import GenzooError
from genzoo.models.aae import AAE

# label_prior pairs each of the 10 classes with a petal of the mixture prior
FLAGS = {
    "supervised": ["--model.supervised", "true"],
    "label_prior": ["--model.label_prior", "true", "--model.prior", "mixture", "--model.latent_dim", "2"],
}


def classes_and_loose_images(root: Path) -> Path:
    """10 class subfolders of 4 images each, and 6 images directly in root (no class: label -1)."""
    for i in range(40):
        write_image(root / f"class{i % 10}" / f"{i}.png", i, (32, 32))
    for i in range(40, 46):
        write_image(root / f"{i}.png", i, (32, 32))
    return root


@pytest.mark.slow  # decodes a folder, then trains through the CLI
@pytest.mark.parametrize("flag", FLAGS)
def test_unknown_labels_are_refused_then_the_labelled_part_trains(flag, tmp_path, capsys, monkeypatch) -> None:
    data = classes_and_loose_images(tmp_path / "images")
    runs = tmp_path / "runs"
    fit = ["fit", "--model", "aae", *FLAGS[flag], "--data", "folder", "--data.root", str(data)]
    fit += ["--data.labels", "subfolders", "--data.size", "32", "--data.batch_size", "8", *TINY_RUN]
    fit += ["--data.cache_dir", str(tmp_path / "cache"), "--trainer.default_root_dir", str(runs)]
    refused = cli_here(capsys, monkeypatch, *fit)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    (line,) = [line for line in refused.stderr.splitlines() if line.startswith("genzoo: error:")]
    assert f"--model.{flag} needs the label of every image" in line and "--data.labelled_only true" in line
    assert not list(runs.glob("*/version_*")), "the refused run left its folder behind"

    trained = cli_here(capsys, monkeypatch, *fit, "--data.labelled_only", "true")
    assert trained.returncode == 0, trained.stderr[-2000:]
    assert list(runs.glob("aae-folder/version_*/checkpoints/last.ckpt"))


def test_decoding_with_an_unknown_label_is_one_line() -> None:
    """Outside training (eval, the latent commands), a -1 among the labels is refused, not a crash in one_hot."""
    model = AAE(hidden_dims=[16], latent_disc_dims=[16], supervised=True).eval()
    x = torch.rand(3, 1, 28, 28)
    model.reconstruct(x, torch.tensor([1, 2, 3]))
    with pytest.raises(GenzooError, match="1 of the 3 images have none"):
        model.reconstruct(x, torch.tensor([1, -1, 3]))
