"""What a benchmark runs: the settings (``BenchSpec``) and the ``genzoo fit`` arguments of each run."""

from __future__ import annotations

import inspect
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from genzoo.metrics.evaluation import EvalSettings
from genzoo.registry import DATAMODULES, MODELS

# The defaults are the CPU-sized MNIST suite (experiments/suites/mnist_cpu.yaml): two seeds; every run
# sees the same training images (a fixed number of epochs), so quality is compared at equal data whatever
# else the machine is doing, with a wall-clock cap so that `genzoo bench --models all --data mnist` stays
# short on a CPU (docs/benchmarks.md has the timings). GPU suites override them.
DEFAULT_TRAINER_ARGS = {"num_sanity_val_steps": 0, "limit_val_batches": 8}

BENCH_EVAL_DEFAULTS = {"num_samples": 5000, "probe_train_size": 10_000, "kid_subsets": 50}


@dataclass
class BenchSpec:
    """One benchmark: what to train, on what, for how long, and how to evaluate it."""

    data: str = "mnist"
    models: list[str] = field(default_factory=lambda: ["all"])
    seeds: list[int] = field(default_factory=lambda: [0, 1])
    max_epochs: int | None = 4  #: epochs per run (None: bounded by max_time only)
    max_time_s: int | None = 100  #: wall-clock limit per run, in seconds (Lightning's max_time)
    data_args: dict[str, Any] = field(default_factory=dict)  #: --data.* for every run
    #: --model.* per model name; the entry ``all`` goes to every model that accepts its arguments
    model_args: dict[str, dict[str, Any]] = field(default_factory=dict)
    trainer_args: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_TRAINER_ARGS))  #: --trainer.*
    #: per-model --config pattern, used where it exists; a list of patterns: the first that exists (GPU suites
    #: put ``{model}_gpu.yaml`` before ``{model}.yaml``)
    recipe: str | list[str] | None = "experiments/recipes/{data}/{model}.yaml"
    eval: EvalSettings = field(default_factory=lambda: EvalSettings(**BENCH_EVAL_DEFAULTS))

    def protocol(self) -> dict[str, Any]:
        """The settings that must not change within one results folder (models and seeds may grow)."""
        spec = asdict(self)
        for key in ("models", "seeds"):
            spec.pop(key)
        spec["eval"].pop("device")  # the same protocol measured on another device is still the same protocol
        return spec


def resolve_models(spec: BenchSpec) -> list[str]:
    """``all``: every registered model that can train on the data (``needs_labels`` ones need labels)."""
    data_cls = DATAMODULES.get(spec.data)
    labelled = getattr(data_cls(**spec.data_args), "num_classes", 0) > 0
    names: list[str] = []
    for name in spec.models:
        if name == "all":
            names += [m for m in MODELS.names() if labelled or not MODELS.get(m).needs_labels]
        else:
            MODELS.get(name)  # an unknown name fails here, listing the known ones
            names.append(name)
    return list(dict.fromkeys(names))  # keep order, drop repeats


def format_max_time(seconds: int) -> str:
    """Seconds -> Lightning's "DD:HH:MM:SS"."""
    days, rest = divmod(int(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    return f"{days:02d}:{hours:02d}:{rest // 60:02d}:{rest % 60:02d}"


def cli_value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def model_arguments(spec: BenchSpec, model: str) -> dict[str, Any]:
    """``--model.*`` of one run: the suite's ``all`` entry (where the model takes that argument), then its own."""
    accepted = inspect.signature(MODELS.get(model).__init__).parameters
    shared = {k: v for k, v in spec.model_args.get("all", {}).items() if k in accepted}
    return {**shared, **spec.model_args.get(model, {})}


def recipe_patterns(spec: BenchSpec) -> list[str]:
    """The suite's recipe patterns, in the order they are tried."""
    if not spec.recipe:
        return []
    return [spec.recipe] if isinstance(spec.recipe, str) else list(spec.recipe)


#: the checkout genzoo runs from, whose experiments/recipes/ a relative recipe pattern also names
CHECKOUT = Path(__file__).resolve().parents[2]


def recipe_of(spec: BenchSpec, model: str) -> Path | None:
    """The recipe a run of ``model`` starts from: the first of the patterns that names a file (None: none).

    A relative pattern is looked up in the working folder, then in the checkout, so that a benchmark
    started from another folder trains the same recipes as one started from the checkout."""
    for pattern in recipe_patterns(spec):
        recipe = Path(pattern.format(data=spec.data, model=model))
        for candidate in (recipe, CHECKOUT / recipe) if not recipe.is_absolute() else (recipe,):
            if candidate.is_file():
                return candidate
    return None


def fit_arguments(spec: BenchSpec, model: str, seed: int, root: Path) -> list[str]:
    """The ``genzoo fit`` arguments of one run."""
    args = ["fit"]
    recipe = recipe_of(spec, model)
    if recipe is not None:
        args += ["--config", str(recipe)]
    args += ["--model", model, "--data", spec.data, "--seed_everything", str(seed)]
    args += [f"--data.{k}={cli_value(v)}" for k, v in spec.data_args.items()]
    args += [f"--model.{k}={cli_value(v)}" for k, v in model_arguments(spec, model).items()]
    trainer = {"enable_progress_bar": False, "enable_model_summary": False, **spec.trainer_args}
    trainer["default_root_dir"] = str(root)
    trainer["max_epochs"] = spec.max_epochs if spec.max_epochs is not None else -1
    if spec.max_time_s is not None:
        trainer["max_time"] = format_max_time(spec.max_time_s)
    args += [f"--trainer.{k}={cli_value(v)}" for k, v in trainer.items()]
    return args + ["--test_after_fit=false"]
