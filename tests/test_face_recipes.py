"""Every face recipe in experiments/recipes/{celeba,anime}/ trains a step on a tiny dataset in its real
layout, at the recipe's size (64x64; 32x32 for the anime CPU recipes of GAN, AEGAN and ALAE), through the
CLI entry point (in-process, to keep the test quick)."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest
from helpers import make_anime_jpg, make_celeba

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
    for model in ("ae", "vae", "aae", "gan", "aegan", "alae", "wae"):
        assert {f"celeba/{model}", f"anime/{model}"} <= names
    assert "celeba/cvae" in names  # anime has no labels, so no conditional recipe


def test_anime_cpu_gan_and_aegan_are_the_controlled_comparison() -> None:
    """anime/gan.yaml has exactly AEGAN's G, Dx and optimizer settings, data and seed (docs/models/aegan.md);
    anime/aegan_style.yaml is AEGAN's recipe with only the generator changed."""
    import yaml

    from genzoo.runs import import_class

    def effective(recipe: dict) -> dict:
        """The model's arguments: its class defaults, then what the recipe changes."""
        params = inspect.signature(import_class(recipe["model"]["class_path"]).__init__).parameters
        defaults = {k: p.default for k, p in params.items() if p.default is not inspect.Parameter.empty}
        return {
            **{k: list(v) if isinstance(v, tuple) else v for k, v in defaults.items()},
            **recipe["model"]["init_args"],
        }

    gan, aegan, style = (yaml.safe_load((RECIPE_ROOT / "anime" / f"{m}.yaml").read_text())
                         for m in ("gan", "aegan", "aegan_style"))  # fmt: skip
    assert gan["data"] == aegan["data"] and gan["data"]["init_args"]["size"] == 32
    assert gan.get("seed_everything") == aegan.get("seed_everything")
    shared = effective(gan)
    assert shared.items() <= effective(aegan).items()
    # The tuned GAN of the five-seed comparison is the same GAN with only R1 switched on.
    tuned = yaml.safe_load((RECIPE_ROOT / "anime" / "gan_tuned.yaml").read_text())
    assert tuned["data"] == gan["data"] and tuned["trainer"] == gan["trainer"]
    assert {k for k, v in effective(tuned).items() if shared.get(k) != v} == {"r1_gamma"}
    # anime/aegan_style.yaml is anime/aegan.yaml around the style generator, and nothing else
    changed = {k: v for k, v in effective(style).items() if effective(aegan).get(k) != v}
    assert changed == {"generator": "style"}
    assert {k: v for k, v in style.items() if k != "model"} == {k: v for k, v in aegan.items() if k != "model"}


@pytest.mark.slow  # builds and trains every face recipe's networks
@pytest.mark.parametrize("recipe", RECIPES, ids=[f"{p.parent.name}/{p.stem}" for p in RECIPES])
def test_face_recipe_trains(
    recipe: Path, face_roots: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dataset = recipe.parent.name
    code = main([
        "fit", "--config", str(recipe), "--data.root", str(face_roots[dataset]),
        "--data.cache_dir", str(face_roots["cache"]), "--data.batch_size", "2", "--trainer.fast_dev_run", "1",
        "--trainer.accelerator", "cpu", "--trainer.default_root_dir", str(tmp_path),
    ])  # fmt: skip
    assert code == 0


GPU_RECIPES = sorted(RECIPE_ROOT.glob("*/*_gpu.yaml"))


@pytest.mark.slow  # GPU-sized networks run on the CPU
@pytest.mark.parametrize("recipe", GPU_RECIPES, ids=[f"{p.parent.name}/{p.stem}" for p in GPU_RECIPES])
def test_gpu_recipe_runs_its_code_path_on_cpu(
    recipe: Path, face_roots: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A GPU recipe trains one batch on the CPU with the GPU suites' bf16-mixed precision: the same networks,
    losses and precision handling that a GPU run uses, so a recipe that cannot run is found without a GPU."""
    dataset = recipe.parent.name
    data = [] if dataset == "mnist" else ["--data.root", str(face_roots[dataset]), "--data.cache_dir",
                                          str(face_roots["cache"])]  # fmt: skip
    code = main([
        "fit", "--config", str(recipe), *data, "--data.batch_size", "2", "--trainer.fast_dev_run", "1",
        "--trainer.accelerator", "cpu", "--trainer.precision", "bf16-mixed",
        "--trainer.default_root_dir", str(tmp_path),
    ])  # fmt: skip
    assert code == 0


GPU_SUITES = sorted((RECIPE_ROOT.parent / "suites").glob("*_gpu.yaml"))


@pytest.mark.slow  # builds every model of every GPU suite
@pytest.mark.parametrize("suite", GPU_SUITES, ids=[p.stem for p in GPU_SUITES])
def test_gpu_suite_runs_of_every_model_build_on_cpu(
    suite: Path, face_roots: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every (model, seed 0) run a GPU suite would start parses and builds, with the suite's recipes, model
    arguments and precision, the accelerator switched to the CPU (``genzoo.cli.configure`` builds, no training)."""
    from genzoo.bench.spec import BenchSpec, fit_arguments, resolve_models
    from genzoo.cli import configure
    from genzoo.commands.bench import load_suite

    settings = load_suite(suite)
    data_args = {} if settings["data"] == "mnist" else {"root": str(face_roots[settings["data"]]),
                                                        "cache_dir": str(face_roots["cache"])}  # fmt: skip
    trainer_args = {**settings.get("trainer_args", {}), "accelerator": "cpu", "devices": 1}
    spec = BenchSpec(data=settings["data"], models=["all"], seeds=[0], max_epochs=1, data_args=data_args,
                     model_args=settings.get("model_args", {}), trainer_args=trainer_args)  # fmt: skip
    for model in resolve_models(spec):
        args = fit_arguments(spec, model, 0, tmp_path / model)
        cli = configure(args[1:])
        assert cli.model.hparams.get("backbone", "conv") == "conv", f"{suite.stem}: {model} is not on conv"
