"""``genzoo export`` writes a checkpoint as a folder that is safe to share, in the Hugging Face
hub's layout (model.safetensors + config.json); every command that takes --ckpt takes that folder, and
``GenzooPretrained.from_pretrained`` reads it, from a local folder or a hub repository (served here from a
local folder: no network). A tampered folder is refused in one line.

``export`` runs as a real process; the other commands go through the CLI's entry point in this process
(``cli_here``): a process start would cost more than the check.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import run_cli
from face_data import cli_here
from test_robustness import handmade_checkpoint, one_line_error

pytest.importorskip("safetensors", reason="genzoo export needs the genzoo[hub] extra (in genzoo[dev])")
pytest.importorskip("huggingface_hub", reason="genzoo export needs the genzoo[hub] extra (in genzoo[dev])")

from genzoo.exported import CONFIG_NAME, RUN_CONFIG_NAME, WEIGHTS_NAME  # noqa: E402
from genzoo.models.loading import load_model  # noqa: E402

RUN_CONFIG = "data:\n  class_path: genzoo.datamodules.mnist.MNISTDataModule\n  init_args: {}\n"


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An AE's last.ckpt in a run folder whose config.yaml names its data (the bundled MNIST)."""
    run = tmp_path_factory.mktemp("run") / "ae-mnist" / "version_0"
    (run / "checkpoints").mkdir(parents=True)
    (run / "config.yaml").write_text(RUN_CONFIG)
    return handmade_checkpoint(run / "checkpoints" / "last.ckpt", "ae")


@pytest.fixture(scope="module")
def exported(checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("export") / "genzoo-ae"  # a new folder: export makes it
    result = run_cli("export", "--ckpt", str(checkpoint), "--out", str(out), env={"OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"to {out}" in result.stdout
    return out


def test_export_writes_the_hub_layout(exported: Path, checkpoint: Path) -> None:
    from safetensors.torch import load_file

    assert sorted(p.name for p in exported.iterdir()) == ["README.md", CONFIG_NAME, RUN_CONFIG_NAME, WEIGHTS_NAME]
    config = json.loads((exported / CONFIG_NAME).read_text())
    saved = torch.load(checkpoint, weights_only=True)
    assert config["genzoo_model"] == "ae"
    assert config["hyper_parameters"]["latent_dim"] == saved["hyper_parameters"]["latent_dim"]
    weights = load_file(exported / WEIGHTS_NAME)
    assert weights.keys() == saved["state_dict"].keys()
    assert all(torch.equal(weights[k], saved["state_dict"][k]) for k in weights)
    assert (exported / RUN_CONFIG_NAME).read_text() == RUN_CONFIG  # the data it was trained on travels with it
    assert "library_name: genzoo" in (exported / "README.md").read_text()


def test_sample_from_the_folder_is_sample_from_the_checkpoint(exported, checkpoint, tmp_path, capsys, monkeypatch):
    images = {}
    for name, ckpt in (("ckpt", checkpoint), ("folder", exported), ("weights", exported / WEIGHTS_NAME)):
        out = tmp_path / f"{name}.npz"
        result = cli_here(capsys, monkeypatch, "sample", "--ckpt", str(ckpt), "--num", "8", "--seed", "3",
                          "--out", str(out))  # fmt: skip
        assert result.returncode == 0, result.stderr
        images[name] = np.load(out)["images"]
    assert np.array_equal(images["folder"], images["ckpt"]) and np.array_equal(images["weights"], images["ckpt"])


def test_eval_and_reconstruct_take_the_folder(exported, tmp_path, capsys, monkeypatch, one_thread) -> None:
    """Both find the data the model was trained on in the folder's config.yaml, as in a run folder."""
    out = tmp_path / "eval.json"
    argv = ["eval", "--ckpt", str(exported), "--metrics", "reconstruction", "--reference-size", "64"]
    result = cli_here(capsys, monkeypatch, *argv, "--device", "cpu", "--out", str(out))
    assert result.returncode == 0, result.stderr
    measured = json.loads(out.read_text())
    assert measured["model"] == "ae" and measured["data"] == "mnist"
    assert measured["reconstruction"]["num_images"] == 64
    result = cli_here(capsys, monkeypatch, "reconstruct", "--ckpt", str(exported), "--out", str(tmp_path / "r.png"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "r.png").read_bytes()[:4] == b"\x89PNG"


def rewrite_config(folder: Path, change) -> None:
    config = json.loads((folder / CONFIG_NAME).read_text())
    change(config)
    (folder / CONFIG_NAME).write_text(json.dumps(config))


TAMPERED = {
    "config.json no JSON": (lambda f: (f / CONFIG_NAME).write_text("{not json"), "config.json cannot be read"),
    "config.json a list": (lambda f: (f / CONFIG_NAME).write_text("[1, 2]"), "config.json is not a JSON object"),
    "no config.json": (lambda f: (f / CONFIG_NAME).unlink(), "no config.json in"),
    "no weights": (lambda f: (f / WEIGHTS_NAME).unlink(), "no model.safetensors in"),
    "cut weights": (
        lambda f: (f / WEIGHTS_NAME).write_bytes((f / WEIGHTS_NAME).read_bytes()[:5000]),
        "model.safetensors cannot be read",
    ),
    "other shapes": (
        lambda f: rewrite_config(f, lambda c: c["hyper_parameters"].update(latent_dim=8)),
        "its weights do not fit its own hyper-parameters",
    ),
    "unknown model": (lambda f: rewrite_config(f, lambda c: c.update(genzoo_model="nope")), "unknown model 'nope'"),
    "unknown argument": (
        lambda f: rewrite_config(f, lambda c: c["hyper_parameters"].update(depth=3)),
        "AE takes no hyper-parameter 'depth'",
    ),
    "wrong type": (
        lambda f: rewrite_config(f, lambda c: c["hyper_parameters"].update(latent_dim="many")),
        "hyper-parameter latent_dim many: not a whole number; allowed: a whole number >= 1",
    ),
    "out of range": (
        lambda f: rewrite_config(f, lambda c: c["hyper_parameters"].update(latent_dim=-3)),
        "hyper-parameter latent_dim -3: out of range",
    ),
}


@pytest.mark.parametrize("case", TAMPERED)
def test_a_tampered_folder_is_one_line(case, exported, tmp_path, capsys, monkeypatch) -> None:
    folder = tmp_path / "tampered"
    shutil.copytree(exported, folder)
    tamper, fragment = TAMPERED[case]
    tamper(folder)
    out = tmp_path / "s.png"
    one_line_error(cli_here(capsys, monkeypatch, "sample", "--ckpt", str(folder), "--out", str(out)), fragment)
    assert not out.exists()


def test_from_pretrained_reads_a_folder_and_a_hub_repository(exported, checkpoint, tmp_path, monkeypatch) -> None:
    from huggingface_hub.errors import EntryNotFoundError

    import genzoo.hub
    from genzoo.hub import GenzooPretrained

    expected = load_model(checkpoint).state_dict()

    def same(model) -> bool:
        state = model.state_dict()
        return state.keys() == expected.keys() and all(torch.equal(state[k], expected[k]) for k in state)

    assert same(GenzooPretrained.from_pretrained(exported).model)

    snapshot = tmp_path / "cache" / "models--someone--genzoo-ae" / "snapshots" / "0123"
    asked = []

    def hub_download(repo_id: str, filename: str, **options) -> str:  # the hub, served from the folder
        asked.append((repo_id, filename))
        if not (exported / filename).is_file():
            raise EntryNotFoundError(f"{filename} not in {repo_id}")
        snapshot.mkdir(parents=True, exist_ok=True)
        return shutil.copy(exported / filename, snapshot / filename)

    monkeypatch.setattr("huggingface_hub.hub_mixin.hf_hub_download", hub_download)
    monkeypatch.setattr(genzoo.hub, "hf_hub_download", hub_download)
    assert same(GenzooPretrained.from_pretrained("someone/genzoo-ae").model)
    assert {name for _, name in asked} == {CONFIG_NAME, WEIGHTS_NAME, RUN_CONFIG_NAME}

    again = tmp_path / "saved"  # save_pretrained (what push_to_hub uploads) writes the same layout
    GenzooPretrained(load_model(exported)).save_pretrained(again)
    assert same(load_model(again))


def test_export_refusals_leave_the_disk_as_it_was(checkpoint, exported, tmp_path, capsys, monkeypatch) -> None:
    from safetensors.torch import load_file

    def export(ckpt: Path, out: Path):
        return cli_here(capsys, monkeypatch, "export", "--ckpt", str(ckpt), "--out", str(out))

    a_file = tmp_path / "file"
    a_file.write_text("keep")
    one_line_error(export(checkpoint, a_file), "is not a folder")
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / CONFIG_NAME).write_text('{"model_type": "bert"}')
    one_line_error(export(checkpoint, foreign), "holds the config.json of something else; export into a new folder")
    one_line_error(export(tmp_path / "missing.ckpt", tmp_path / "new"), "does not exist")
    one_line_error(export(checkpoint, tmp_path / "typo" / "exports" / "ae"), "does not exist; create it first")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "foreign"]
    assert export(checkpoint, tmp_path / "exports" / "ae").returncode == 0  # one missing level is made
    assert [p.name for p in foreign.iterdir()] == [CONFIG_NAME]

    monkeypatch.setattr("genzoo.commands.export.find_spec", lambda name: None)
    one_line_error(export(checkpoint, tmp_path / "new"), "needs safetensors and huggingface_hub: pip install")
    monkeypatch.undo()

    again = tmp_path / "again"  # an earlier export is replaced; the model card someone wrote is kept
    shutil.copytree(exported, again)
    (again / "README.md").write_text("my card")
    (again / WEIGHTS_NAME).write_bytes(b"stale")
    assert export(checkpoint, again).returncode == 0
    assert (again / "README.md").read_text() == "my card"
    replaced, first = load_file(again / WEIGHTS_NAME), load_file(exported / WEIGHTS_NAME)  # (metadata order varies)
    assert replaced.keys() == first.keys() and all(torch.equal(replaced[k], first[k]) for k in first)
    assert not [p for p in again.iterdir() if p.name.startswith(".tmp")]
