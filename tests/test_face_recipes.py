"""Every face recipe in experiments/recipes/{celeba,anime}/ trains a step on a tiny dataset in its real
layout, at 64x64, through the CLI entry point (in-process, to keep the test quick)."""

from __future__ import annotations

from pathlib import Path

import pytest
from face_data import make_anime_jpg, make_celeba

from genzoo.cli import main

RECIPE_ROOT = Path(__file__).resolve().parents[1] / "experiments" / "recipes"
# The GPU-sized recipes (*_gpu.yaml) are smoke-tested with the other GPU recipes.
RECIPES = sorted(p for data in ("celeba", "anime") for p in (RECIPE_ROOT / data).glob("*.yaml") if "_gpu" not in p.stem)


@pytest.fixture(scope="module")
def face_roots(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("faces")
    make_celeba(root / "celeba", n=20, labelled=12)
    make_anime_jpg(root / "anime", n=20)
    return {"celeba": root / "celeba", "anime": root / "anime", "cache": root / "cache"}


def test_recipes_cover_every_face_model() -> None:
    names = {f"{p.parent.name}/{p.stem}" for p in RECIPES}
    for model in ("ae", "vae", "aae", "gan", "aegan", "alae"):
        assert {f"celeba/{model}", f"anime/{model}"} <= names
    assert "celeba/cvae" in names  # anime has no labels, so no conditional recipe


@pytest.mark.parametrize("recipe", RECIPES, ids=[f"{p.parent.name}/{p.stem}" for p in RECIPES])
def test_face_recipe_trains(
    recipe: Path, face_roots: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GENZOO_RUN_VERSION", raising=False)
    dataset = recipe.parent.name
    code = main([
        "fit", "--config", str(recipe), "--data.root", str(face_roots[dataset]),
        "--data.cache_dir", str(face_roots["cache"]), "--data.batch_size", "2", "--trainer.fast_dev_run", "1",
        "--trainer.accelerator", "cpu", "--trainer.default_root_dir", str(tmp_path),
    ])  # fmt: skip
    assert code == 0
