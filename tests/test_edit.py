"""Attribute editing: edit specs, the latent direction, the strips, and `genzoo edit` on MNIST and CelebA runs."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from conftest import assert_one_line_error, run_cli
from face_data import cli_here, make_anime_png, make_celeba
from PIL import Image

from genzoo.datamodules.base import TensorImageDataset
from genzoo.datamodules.celeba import CELEBA_ATTRIBUTES
from genzoo.edit import Edit, parse_edit
from genzoo.errors import GenzooError
from genzoo.latent.explorer import LatentExplorer
from genzoo.models import AE
from genzoo.models.cvae import CVAE

DIGITS = [str(d) for d in range(10)]
ONE_THREAD = {"OMP_NUM_THREADS": "1"}


def test_parse_edit() -> None:
    names = list(CELEBA_ATTRIBUTES)
    smile = names.index("Smiling")
    assert parse_edit("Smiling", names, True) == Edit("Smiling: 0 -> 1", smile, 0, 1)
    assert parse_edit("smiling=0", names, True) == Edit("Smiling: 1 -> 0", smile, 1, 0)
    assert parse_edit("3:8", DIGITS, False) == Edit("3 -> 8", None, 3, 8)
    assert parse_edit("digit=3->8", DIGITS, False).target == 8
    for spec, names_, multi, fragment in [
        ("Smilng", names, True, "unknown attribute 'Smilng'"),
        ("Smiling=3", names, True, "0 or 1"),
        ("3", DIGITS, False, "FROM:TO"),
        ("3:3", DIGITS, False, "the same"),
        ("3:x", DIGITS, False, "unknown class 'x'"),
        ("Smiling", [], True, "no labels"),
    ]:
        with pytest.raises(GenzooError, match=fragment):
            parse_edit(spec, names_, multi)


def test_edit_masks_and_apply() -> None:
    multi = Edit("Smiling: 0 -> 1", 1, 0, 1)
    labels = torch.tensor([[0, 0], [1, 1], [-1, -1]])
    assert multi.has_source(labels).tolist() == [True, False, False]  # unlabelled rows are in no group
    assert multi.apply(labels[:1]).tolist() == [[0, 1]]
    single = Edit("3 -> 8", None, 3, 8)
    assert single.has_target(torch.tensor([8, 3, -1])).tolist() == [True, False, False]
    assert single.apply(torch.tensor([3, 3])).tolist() == [8, 8]


def explorer_over(model: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor) -> LatentExplorer:
    """An explorer whose data is these images, as its training split."""
    data = SimpleNamespace(
        image_shape=tuple(images.shape[1:]),
        class_names=[str(k) for k in range(int(labels.max()) + 1)],
        multi_label=False,
        splits={"train": TensorImageDataset(images, labels)},
        prepare_data=lambda: None,
        setup=lambda stage: None,
    )
    return LatentExplorer(model, lambda: data)


def test_direction_and_strips() -> None:
    torch.manual_seed(0)
    model = AE(latent_dim=3).eval()
    images = torch.randint(0, 256, (20, 1, 28, 28), dtype=torch.uint8)
    labels = torch.arange(20) % 4
    edit = parse_edit("1:2", ["0", "1", "2", "3"], False)
    explorer = explorer_over(model, images, labels)
    direction = explorer.edit_direction(edit)
    with torch.no_grad():
        codes = model.encode(images.float() / 255)
    difference = codes[labels == 2].mean(0) - codes[labels == 1].mean(0)
    assert torch.allclose(direction.step, difference, atol=1e-5)
    assert direction.group_sizes == (5, 5)
    # genzoo traverse --direction attr:1:2 walks the same direction
    assert torch.allclose(explorer.attribute_direction("1:2").step, direction.step)
    assert explorer.edit_direction(edit, max_images=2).group_sizes == (2, 2)
    x = images[labels == 1].float() / 255
    rows, how = explorer.edit(x, labels[labels == 1], edit, steps=4, strength=1.0)
    assert rows.shape == (len(x), 4, 1, 28, 28) and "from 5 vs 5 train images" in how
    assert torch.allclose(rows[:, 0], model.reconstruct(x), atol=1e-6)  # step 0: the plain reconstruction
    assert torch.allclose(rows[:, -1], model.decode(model.encode(x) + difference), atol=1e-5)
    # A conditional model edits by stepping its condition; the last step is the edited condition.
    cvae = CVAE(latent_dim=3, num_classes=4).eval()
    rows, how = LatentExplorer(cvae).edit(x, labels[labels == 1], edit, steps=3)
    z = cvae.encode(x, labels[labels == 1])
    assert how == "condition flipped" and rows.shape[1] == 3
    assert torch.allclose(rows[:, 0], cvae.decode(z, labels[labels == 1]), atol=1e-6)
    assert torch.allclose(rows[:, -1], cvae.decode(z, torch.full((len(x),), 2)), atol=1e-6)
    with pytest.raises(GenzooError, match="conditional model"):
        explorer.edit(x, labels[:5], edit, method="condition")


def test_data_of_another_shape_is_refused_by_one_check() -> None:
    """The explorer (every latent command, edit, the app), eval and fit/test --ckpt_path share one message."""
    from genzoo.checks import check_checkpoint_fits, check_data_fits

    explorer = LatentExplorer(AE(latent_dim=2), lambda: SimpleNamespace(image_shape=(3, 32, 32)))
    with pytest.raises(GenzooError, match=r"^the model was trained on \(1, 28, 28\) images but the data gives \(3, 32"):
        _ = explorer.data
    check_data_fits((1, 28, 28), [1, 28, 28])  # a shape read back from YAML is a list
    with pytest.raises(GenzooError, match=r"^r.ckpt was trained on \(1, 28, 28\) .*; pass the --data it was"):
        check_data_fits((1, 28, 28), (3, 32, 32), "r.ckpt", "pass the --data it was trained on")
    saved = {"state_dict": AE(image_shape=(3, 32, 32)).state_dict(), "hyper_parameters": {"image_shape": [3, 32, 32]}}
    with pytest.raises(GenzooError, match=r"it was trained on \(3, 32, 32\) images but the data gives \(1, 28, 28\)"):
        check_checkpoint_fits(saved, "r.ckpt", AE())


def png_grid(path: Path) -> tuple[int, int]:
    with Image.open(path) as im:
        return im.size


def test_edit_cli_mnist_class_change(
    trained_vae: Path, tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Any model with an encoder on MNIST, the data taken from the run's config: 3 -> 8 in 7 steps."""
    out = tmp_path / "three_to_eight.png"
    result = run_cli(
        "edit", "--ckpt", str(trained_vae), "--attr", "3:8", "--out", str(out), "--num", "4", env=ONE_THREAD
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "'3 -> 8' on 4 val images" in result.stdout and "latent direction" in result.stdout
    assert png_grid(out) == (2 + 8 * 30, 2 + 4 * 30)  # 8 columns (input + 7 steps) x 4 rows of 28+2 pixels
    bad = cli_here(capsys, monkeypatch, "edit", "--ckpt", str(trained_vae), "--attr", "Smiling", "--out", str(out))
    assert_one_line_error(bad, "FROM:TO")


@pytest.fixture(scope="module")
def celeba_cvae(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A CVAE trained through the CLI on a tiny CelebA layout (32x32); returns (data root, checkpoint)."""
    root = tmp_path_factory.mktemp("celeba_cvae")
    make_celeba(root / "data", n=30, labelled=12)
    result = run_cli(
        "fit", "--model", "cvae", "--data", "celeba", "--data.root", str(root / "data"), "--data.size", "32",
        "--data.batch_size", "4", "--data.cache_dir", str(root / "cache"), "--model.backbone", "conv",
        "--model.hidden_dims", "[16, 32]", "--trainer.max_epochs", "1", "--trainer.enable_progress_bar", "false",
        "--trainer.default_root_dir", str(root / "runs"), env=ONE_THREAD,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    # The CVAE needs labels: it saw the 12 labelled images only, and says so.
    log = result.stdout + result.stderr
    assert "training on 10 labelled images (labelled_only" in log, log[-3000:]
    (ckpt,) = (root / "runs").glob("cvae-celeba/version_0/checkpoints/*.ckpt")
    return root / "data", ckpt


@pytest.mark.slow  # starts genzoo processes
def test_edit_cli_celeba_cvae(
    celeba_cvae: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    def genzoo(*args: str):
        return cli_here(capsys, monkeypatch, *args)

    data, ckpt = celeba_cvae
    out = tmp_path / "smile.png"
    result = run_cli("edit", "--ckpt", str(ckpt), "--attr", "Smiling", "--out", str(out), env=ONE_THREAD)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "condition flipped" in result.stdout and "Smiling: 0 -> 1" in result.stdout
    latent = genzoo(
        "edit", "--ckpt", str(ckpt), "--attr", "Smiling=0", "--method", "latent", "--data", "celeba",
        "--data.root", str(data), "--data.size", "32", "--data.cache_dir", str(tmp_path / "c"), "--steps", "3",
        "--out", str(out),
    )  # fmt: skip
    assert latent.returncode == 0, latent.stderr[-2000:]
    assert "latent direction from" in latent.stdout
    assert png_grid(out)[0] == 2 + 4 * 34
    bad = genzoo("edit", "--ckpt", str(ckpt), "--attr", "Smilng", "--out", str(out))
    assert_one_line_error(bad, "unknown attribute 'Smilng'")
    bad = genzoo("edit", "--ckpt", str(ckpt), "--attr", "Smiling", "--data.size", "64", "--out", str(out))
    assert_one_line_error(bad, "trained on (3, 32, 32) images")


def test_cvae_on_unlabelled_data_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_anime_png(tmp_path / "anime", 12)
    data = ["--data", "anime", "--data.root", str(tmp_path / "anime"), "--data.cache_dir", str(tmp_path / "c")]
    result = cli_here(capsys, monkeypatch, "fit", "--model", "cvae", *data, "--trainer.default_root_dir", str(tmp_path))
    assert_one_line_error(result, "cvae needs labelled data")
