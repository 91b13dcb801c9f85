"""The default run is the recipe: `genzoo fit --model X` trains what `experiments/recipes/mnist/X.yaml` trains,
and every recipe states only what it changes from the class defaults.

Both are built through the CLI (without training) and compared object by object: the model's
hyper-parameters, the data's arguments, the epochs, the seed. The Python API (``MODELS.get(X)()``)
must get the same hyper-parameters, and no default run may fall back to Lightning's 1000 epochs.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest
import yaml

from genzoo.cli import configure
from genzoo.registry import MODELS
from genzoo.runs import import_class

RECIPES = Path(__file__).resolve().parents[1] / "experiments" / "recipes" / "mnist"
MAX_DEFAULT_EPOCHS = 60  # a bound on accidents, not a tuned value: the 5-minute CPU budget allows no more


def plain(values: dict) -> dict:
    """Hyper-parameters with tuples as lists: the CLI hands lists where Python defaults are tuples."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()}


def built(argv: list[str], root: Path) -> tuple[dict, dict, int | None, int]:
    cli = configure([*argv, "--trainer.default_root_dir", str(root)])
    data = dict(cli.config["data"]["init_args"])
    return dict(cli.model.hparams), data, cli.trainer.max_epochs, cli.config["seed_everything"]


@pytest.mark.parametrize("name", MODELS.names())
def test_default_run_is_the_recipe(name: str, tmp_path: Path) -> None:
    recipe = RECIPES / f"{name}.yaml"
    assert recipe.is_file(), f"every model has its MNIST recipe: {recipe} is missing"
    default = built(["--model", name], tmp_path)
    from_recipe = built(["--config", str(recipe)], tmp_path)
    assert default == from_recipe
    model_hparams, _, max_epochs, _ = default
    assert max_epochs == MODELS.get(name).default_max_epochs
    assert 1 <= max_epochs <= MAX_DEFAULT_EPOCHS
    linked = {"image_shape", "num_classes", "class_names", "multi_label"}  # set from the data by the CLI
    python_api = plain(MODELS.get(name)().hparams)
    shared = (set(python_api) & set(model_hparams)) - linked
    assert {k: python_api[k] for k in shared} == plain({k: model_hparams[k] for k in shared})


def class_defaults(class_path: str) -> dict:
    cls = import_class(class_path)
    return {
        k: plain({k: p.default})[k]
        for k, p in inspect.signature(cls.__init__).parameters.items()
        if p.default is not inspect.Parameter.empty
    }


@pytest.mark.parametrize("recipe", sorted(RECIPES.parent.rglob("*.yaml")), ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_a_recipe_states_only_what_it_changes(recipe: Path) -> None:
    """Each default lives in one place, the class: a recipe that repeated one would silently pin it."""
    config = yaml.safe_load(recipe.read_text())
    for section in ("model", "data"):
        defaults = class_defaults(config[section]["class_path"])
        stated = config[section].get("init_args") or {}
        repeated = sorted(k for k, v in stated.items() if k in defaults and plain({k: defaults[k]})[k] == v)
        assert not repeated, f"{recipe.name} repeats {section} defaults: {repeated}"
    epochs = (config.get("trainer") or {}).get("max_epochs")
    assert epochs != import_class(config["model"]["class_path"]).default_max_epochs
    assert "seed_everything" not in config or config["seed_everything"] != 0


def test_explicit_epochs_win(tmp_path: Path) -> None:
    _, _, max_epochs, _ = built(["--model", "vae", "--trainer.max_epochs", "3"], tmp_path)
    assert max_epochs == 3
    _, _, max_epochs, _ = built(["--model", "vae", "--trainer.max_steps", "7"], tmp_path)
    assert max_epochs is None  # bounded by steps, as asked
