"""The default run is the recipe: `genzoo fit --model X` trains what `experiments/recipes/mnist/X.yaml` trains.

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
    # The recipe spells the defaults out: every argument of the model is in it.
    spelled = yaml.safe_load(recipe.read_text())["model"]["init_args"]
    arguments = set(inspect.signature(MODELS.get(name).__init__).parameters) - linked - {"self"}
    assert set(spelled) == arguments


def test_explicit_epochs_win(tmp_path: Path) -> None:
    _, _, max_epochs, _ = built(["--model", "vae", "--trainer.max_epochs", "3"], tmp_path)
    assert max_epochs == 3
    _, _, max_epochs, _ = built(["--model", "vae", "--trainer.max_steps", "7"], tmp_path)
    assert max_epochs is None  # bounded by steps, as asked
