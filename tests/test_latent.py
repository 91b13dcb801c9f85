"""The latent toolkit: its operations, and `genzoo reconstruct|interpolate|traverse|explore` on a tiny
checkpoint of every registered model (each writes a non-blank picture), plus every bad-input path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import assert_one_line_error, run_cli
from face_data import cli_here
from PIL import Image

from genzoo.errors import GenzooError
from genzoo.latent import MODES, ops
from genzoo.latent.explorer import image_from_pil, read_image
from genzoo.models import AE
from genzoo.registry import MODELS

ONE_THREAD = {"OMP_NUM_THREADS": "1"}


pytestmark = pytest.mark.usefixtures("one_thread")


def assert_not_blank(images: np.ndarray) -> None:
    """uint8 images: real pictures, neither one flat colour nor all black-and-white saturation."""
    assert images.dtype == np.uint8 and images.ndim == 4
    assert images.max() > images.min()
    assert images.astype(np.float32).std() > 5, images.std()
    saturated = np.isin(images, (0, 255)).mean()
    assert saturated < 0.99, saturated


def assert_png_picture(path: Path) -> None:
    with Image.open(path) as im:
        pixels = np.asarray(im.convert("RGB"))
    assert min(pixels.shape[:2]) > 100
    assert pixels.std() > 10  # a figure with a title and images, not an empty canvas


# ----- operations ------------------------------------------------------------------------------------
def test_one_conversion_of_labels_to_condition_vectors() -> None:
    """Class indices become one-hot rows and attribute vectors pass as they are, in the models and the toolkit
    alike; one label (a class, or one attribute vector) is repeated for every image."""
    from types import SimpleNamespace

    from genzoo.models.aae import AAE
    from genzoo.models.cvae import CVAE
    from genzoo.nn.blocks import label_vectors

    y = torch.tensor([2, 0, 1])
    one_hot = torch.eye(3)[y]
    assert torch.equal(label_vectors(y, 3), one_hot) and label_vectors(y, 3, torch.float64).dtype == torch.float64
    attributes = torch.tensor([[1, 0, 1], [0, 1, 1]])
    assert torch.equal(label_vectors(attributes, 3), attributes.float())
    cvae = CVAE(latent_dim=2, num_classes=3).eval()
    assert torch.equal(cvae.condition(y), one_hot)
    aae = AAE(latent_dim=2, supervised=True, num_classes=3).eval()
    z = torch.randn(3, 2)
    assert torch.equal(aae.decode(z, y), aae.decode(z, one_hot))
    single = SimpleNamespace(conditional=True, multi_label=False, num_classes=3, device="cpu")
    assert torch.equal(ops.condition_vectors(single, y, 3), one_hot)
    assert torch.equal(ops.condition_vectors(single, torch.tensor(1), 2), torch.eye(3)[[1, 1]])
    multi = SimpleNamespace(conditional=True, multi_label=True, num_classes=3, device="cpu")
    assert torch.equal(ops.condition_vectors(multi, attributes[0], 2), attributes[[0, 0]].float())
    assert ops.condition_vectors(SimpleNamespace(conditional=False), y, 3) is None


def test_paths_lerp_and_slerp() -> None:
    a, b = torch.randn(3, 8), torch.randn(3, 8)
    for mode in MODES:
        z = ops.path(a, b, 5, mode)
        assert z.shape == (3, 5, 8)
        assert torch.allclose(z[:, 0], a, atol=1e-5) and torch.allclose(z[:, -1], b, atol=1e-5)
    # slerp between two vectors of one norm keeps it; the straight line dips below it in the middle
    a, b = a / a.norm(dim=1, keepdim=True), b / b.norm(dim=1, keepdim=True)
    assert torch.allclose(ops.path(a, b, 7, "slerp").norm(dim=2), torch.ones(3, 7), atol=1e-4)
    assert (ops.path(a, b, 7, "lerp")[:, 3].norm(dim=1) < 0.999).all()
    assert torch.allclose(ops.path(a, a, 3, "slerp"), a[:, None].expand(-1, 3, -1), atol=1e-5)  # parallel: a line
    with pytest.raises(GenzooError, match="at least 2 steps"):
        ops.path(a, b, 1)


def test_directions_and_traversal() -> None:
    torch.manual_seed(0)
    codes = torch.randn(500, 4) * torch.tensor([3.0, 1.0, 0.5, 0.1])
    mean, components, sd = ops.principal_directions(codes)
    assert torch.allclose(components @ components.T, torch.eye(4), atol=1e-4)
    assert abs(float(components[0, 0].abs()) - 1) < 0.05 and sd[0] > sd[1] > sd[2] > sd[3]
    assert ops.pca_direction(codes, 0).scale == pytest.approx(float(sd[0]))
    assert ops.dimension_direction(codes, 1).scale == pytest.approx(float(codes[:, 1].std()))
    for bad, fragment in [(lambda: ops.dimension_direction(codes, 4), "4 dimensions, 0 to 3"),
                          (lambda: ops.pca_direction(codes, 9), "pca:0 to pca:3")]:  # fmt: skip
        with pytest.raises(GenzooError, match=fragment):
            bad()
    direction = ops.mean_difference_direction("a", codes[:10] + 1, codes[:10])
    assert direction.scale == pytest.approx(2.0) and torch.allclose(direction.step, torch.ones(4))
    model = AE(latent_dim=4).eval()
    z0 = torch.randn(2, 4)
    images, z = ops.traverse(model, z0, direction, torch.tensor([0.0, 1.0]))
    assert images.shape == (2, 2, 1, 28, 28) and torch.allclose(z[:, 1], z0 + 1)
    assert torch.allclose(images[:, 0], model.decode(z0))  # offset 0 decodes the start code itself


def test_image_files_are_checked(tmp_path: Path) -> None:
    gray = Image.fromarray(np.arange(28 * 28, dtype=np.uint8).reshape(28, 28))
    gray.save(tmp_path / "ok.png")
    x = read_image(tmp_path / "ok.png", (1, 28, 28))
    assert x.shape == (1, 28, 28) and float(x.max()) <= 1
    assert torch.equal(image_from_pil(gray.convert("RGB"), (1, 28, 28), "g"), x)  # grey saved as RGB is grey
    assert image_from_pil(gray, (3, 28, 28), "g").shape == (3, 28, 28)
    (tmp_path / "notes.png").write_text("not an image")
    colour = Image.fromarray(np.random.default_rng(0).integers(0, 255, (28, 28, 3), dtype=np.uint8))
    for make, fragment in [
        (lambda: read_image(tmp_path / "notes.png", (1, 28, 28)), "notes.png is not an image"),
        (lambda: read_image(tmp_path / "missing.png", (1, 28, 28)), "does not exist"),
        (lambda: read_image(tmp_path / "ok.png", (1, 32, 32)), "28x28 pixels; this model takes 32x32"),
        (lambda: image_from_pil(colour, (1, 28, 28), "c"), "RGB image; this model takes grayscale"),
    ]:
        with pytest.raises(GenzooError, match=fragment):
            make()


# ----- every command on every registered model --------------------------------------------------------
COMMANDS = {
    "reconstruct": ["--num", "8"],
    "interpolate": ["--steps", "5", "--num", "2"],
    "interpolate_real": ["--from", "0,1", "--to", "2,3", "--steps", "4", "--mode", "slerp"],
    "interpolate_mirror": ["--mirror", "--num", "2", "--steps", "4"],
    "traverse_dim": ["--dim", "1", "--steps", "5", "--num", "2"],
    "traverse_pca": ["--direction", "pca:0", "--steps", "5", "--num", "2"],
    "traverse_attr": ["--direction", "attr:3:8", "--steps", "4", "--num", "2"],
    "explore": [],
}
NEEDS_ENCODER = {"reconstruct", "interpolate_real", "interpolate_mirror", "traverse_attr"}


@pytest.mark.parametrize("name", MODELS.names())
def test_every_command_on_every_model(
    name: str, tiny_checkpoints, tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    ckpt = str(tiny_checkpoints[name])
    has_encoder = MODELS.get(name).has_encoder
    for key, flags in COMMANDS.items():
        command = key.split("_")[0]
        out = tmp_path / f"{key}.npz"
        result = cli_here(capsys, monkeypatch, command, "--ckpt", ckpt, "--out", str(out), *flags)
        if key in NEEDS_ENCODER and not has_encoder:
            assert_one_line_error(result, "has no encoder, so it cannot")
            continue
        assert result.returncode == 0, (key, result.stderr[-2000:])
        with np.load(out) as saved:
            assert_not_blank(saved["images"])
            assert saved["codes"].shape[0] == saved["images"].shape[0]
    # One PNG per model as well (the same picture, drawn): interpolation between samples works for all.
    png = tmp_path / "samples.PNG"  # suffixes are matched in any case
    result = cli_here(capsys, monkeypatch, "interpolate", "--ckpt", ckpt, "--out", str(png), "--steps", "6")
    assert result.returncode == 0, result.stderr[-2000:]
    assert_png_picture(png)


def test_two_d_model_plane_and_scatter(tiny_checkpoints, tmp_path: Path, capsys, monkeypatch) -> None:
    ckpt = str(tiny_checkpoints["aae_2d"])
    out = tmp_path / "plane.npz"
    assert cli_here(capsys, monkeypatch, "explore", "--ckpt", ckpt, "--out", str(out)).returncode == 0
    with np.load(out) as saved:
        assert saved["images"].shape == (400, 1, 28, 28) and saved["codes"].shape == (400, 2)
        assert saved["test_codes"].shape[1] == 2 and len(saved["test_labels"]) == len(saved["test_codes"])
        assert_not_blank(saved["images"])
    result = cli_here(capsys, monkeypatch, "explore", "--ckpt", ckpt, "--out", str(tmp_path / "p.png"),
                      "--projection", "pca")  # fmt: skip
    assert result.returncode == 0 and "top two principal components" in result.stdout


@pytest.mark.slow  # starts genzoo processes
def test_commands_as_a_user_runs_them(tiny_checkpoints, tmp_path: Path) -> None:
    """Real processes, PNG outputs: one command per model family, and a failure without a traceback."""
    runs = [
        ("reconstruct", "aegan", []),
        ("interpolate", "alae", ["--from", "3", "--to", "5"]),
        ("traverse", "cvae", ["--direction", "pca:1"]),
        ("explore", "aae_2d", []),
    ]
    for command, model, flags in runs:
        out = tmp_path / f"{command}.png"
        result = run_cli(command, "--ckpt", str(tiny_checkpoints[model]), "--out", str(out), *flags, env=ONE_THREAD)
        assert result.returncode == 0, (command, result.stderr[-2000:])
        assert f"to {out}" in result.stdout
        assert_png_picture(out)
    bad = run_cli("interpolate", "--ckpt", str(tiny_checkpoints["vae"]), "--out", str(tmp_path / "x.png"),
                  "--steps", "1", env=ONE_THREAD)  # fmt: skip
    assert_one_line_error(bad, "--steps 1")
    assert not (tmp_path / "x.png").exists()


def test_bad_input_is_one_line(tiny_checkpoints, tmp_path: Path, capsys, monkeypatch) -> None:
    vae, gan = str(tiny_checkpoints["vae"]), str(tiny_checkpoints["gan"])
    out = str(tmp_path / "o.png")
    (tmp_path / "notes.png").write_text("hello")
    cases = [
        (["traverse", "--ckpt", vae, "--direction", "ica:2"], "unknown direction 'ica:2'"),
        (["traverse", "--ckpt", vae, "--dim", "16"], "--dim 16: the codes have 16 dimensions"),
        (["traverse", "--ckpt", vae, "--direction", "pca:99"], "principal components"),
        (["traverse", "--ckpt", vae, "--direction", "attr:Smiling"], "unknown class 'Smiling'"),
        (["traverse", "--ckpt", vae, "--dim", "0", "--range", "3,-3"], "LOW must be below HIGH"),
        (["traverse", "--ckpt", vae], "one of the arguments --dim --direction is required"),
        (["interpolate", "--ckpt", vae, "--steps", "1"], "--steps 1"),
        (["interpolate", "--ckpt", vae, "--from", str(tmp_path / "notes.png"), "--to", "1"], "is not an image"),
        (["interpolate", "--ckpt", vae, "--from", "1"], "give both ends"),
        (["interpolate", "--ckpt", vae, "--from", "99999", "--to", "1"], "test index 99999 is out of range"),
        (["interpolate", "--ckpt", vae, "--mode", "cubic"], "invalid choice: 'cubic'"),
        (["explore", "--ckpt", vae, "--projection", "none"], "needs 2-D codes but VAE has 16-D codes"),
        (["reconstruct", "--ckpt", gan], "GAN has no encoder, so it cannot reconstruct"),
        (["reconstruct", "--ckpt", vae, "--out", str(tmp_path / "o.jpg")], "use .png or .npz"),
        (["reconstruct", "--ckpt", str(tmp_path / "none.ckpt")], "does not exist"),
        (["reconstruct", "--ckpt", vae, "--cond", "digit=3"], "not a conditional model"),
        (["reconstruct", "--ckpt", str(tiny_checkpoints["cvae"]), "--images", str(tmp_path / "notes.png")],
         "is not an image"),
    ]  # fmt: skip
    for argv, fragment in cases:
        if "--out" not in argv:
            argv = [*argv, "--out", out]
        assert_one_line_error(cli_here(capsys, monkeypatch, *argv), fragment)
    assert not list(tmp_path.glob("o.*")) and not list(tmp_path.glob(".tmp-*"))


# ----- the training callback ---------------------------------------------------------------------------
@pytest.mark.slow  # three epochs of training with pictures
@pytest.mark.parametrize("name", ["vae", "gan"])
def test_callback_sends_pictures_to_the_run_folder_and_logger(name: str, tmp_path: Path) -> None:
    import warnings

    import pytorch_lightning as pl
    from pytorch_lightning.loggers import TensorBoardLogger
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tiny import tiny_kwargs

    from genzoo.datamodules.mnist import MNISTDataModule
    from genzoo.latent.callback import PICTURES, LatentPictures

    model = MODELS.get(name)(**tiny_kwargs(name))
    callback = LatentPictures(every_n_epochs=2, pictures=list(PICTURES), num_inputs=64)
    logger = TensorBoardLogger(tmp_path, name="run", version=0, default_hp_metric=False)
    trainer = pl.Trainer(
        max_epochs=3, limit_train_batches=2, limit_val_batches=1, logger=logger, callbacks=[callback],
        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer.fit(model, datamodule=MNISTDataModule(batch_size=64))
    assert [c for c in trainer.callbacks if isinstance(c, LatentPictures)] == [callback]  # the user's one, alone
    written = {p.name for p in (tmp_path / "run" / "version_0" / "images").glob("*.png")}
    expected = {"samples", "latent_interpolate", "latent_traverse", "latent_explore"}
    expected |= {"reconstructions", "latent_mirror"} if name == "vae" else set()
    expected.add("interpolations")  # the model's own figures (samples, reconstructions, interpolations)
    assert written == {f"epoch{e:03d}_{n}.png" for e in (0, 2) for n in expected}, written
    events = EventAccumulator(str(tmp_path / "run" / "version_0")).Reload()
    assert {f"images/{n}" for n in expected} <= set(events.Tags()["images"])
    assert [e.step for e in events.Images("images/latent_explore")] == [trainer.global_step // 3, trainer.global_step]


def test_callback_from_the_command_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from conftest import TINY_RUN

    from genzoo.cli import configure
    from genzoo.latent.callback import LatentPictures

    cli = configure([
        "--model", "ae", *TINY_RUN, "--trainer.default_root_dir", str(tmp_path),
        "--trainer.callbacks+=genzoo.latent.callback.LatentPictures", "--trainer.callbacks.every_n_epochs=3",
        "--trainer.callbacks.pictures=[figures,explore]",
    ])  # fmt: skip
    (callback,) = [c for c in cli.trainer.callbacks if isinstance(c, LatentPictures)]
    assert callback.every_n_epochs == 3 and callback.pictures == ["figures", "explore"]


def test_app_command_errors(tiny_checkpoints, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    """`genzoo app` without gradio says how to get it; a bad port is one line (the page is tests/test_app.py)."""
    import sys

    ckpt = str(tiny_checkpoints["vae"])
    assert_one_line_error(cli_here(capsys, monkeypatch, "app", "--ckpt", ckpt, "--port", "99999"), "port number")
    monkeypatch.setitem(sys.modules, "gradio", None)  # as if the genzoo[app] extra were not installed
    assert_one_line_error(cli_here(capsys, monkeypatch, "app", "--ckpt", ckpt), "pip install 'genzoo[app]'")
