"""Comparison benchmarks: several models, one dataset, one budget, several seeds, one table.

For each (model, seed) the benchmark

1. trains through ``genzoo fit`` itself (a subprocess running ``genzoo.cli``), so the numbers are the
   ones a user gets, under the same budget: a number of epochs and/or a wall-clock limit per run
   (Lightning's ``max_time``), into ``<out>/runs/<model>/seed<seed>/``;
2. reads training speed from the run's metrics.csv (``throughput/*``, logged by ThroughputMonitor)
   and the fit's wall time;
3. evaluates the last checkpoint with ``genzoo.metrics.evaluation.Evaluator`` (one for the whole
   benchmark, so reference features are computed once);
4. writes ``<out>/records/<model>-seed<seed>.json`` atomically.

A record on disk means that pair is done: rerunning the same command resumes a half-finished benchmark
(a run whose training finished but whose evaluation did not is only evaluated). Changing the budget or
the evaluation settings for an existing results folder is refused, so a table never mixes protocols.
At the end, and from whatever records exist, it writes ``results.csv`` (one row per run),
``results.json`` (records, summary, protocol card), ``table.md`` (mean +- std over seeds) and plots:
``plots/metrics.png``, ``plots/samples.png``, ``plots/curves.png``.
"""

from __future__ import annotations

import csv
import json
import math
import os
import shutil
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from genzoo.atomic import write_json_atomic
from genzoo.errors import GenzooError
from genzoo.metrics.evaluation import EvalSettings, Evaluator
from genzoo.registry import DATAMODULES, MODELS, load_all
from genzoo.runs import LAST_CHECKPOINT, RESUME, RUN_VERSION_ENV

LOG_TAIL_LINES = 25


# The defaults are the CPU-sized MNIST suite (experiments/suites/mnist_cpu.yaml): two seeds; every run
# sees the same training images (4 epochs of the 55,000), so quality is compared at equal data whatever
# else the machine is doing, with a 100 s wall-clock cap so that `genzoo bench --models all --data mnist`
# finishes on a 2-core CPU in under half an hour (14 minutes measured on an idle machine; the slowest
# recipe, StyleALAE's, trains 3 or 4 of its 4 epochs within the cap). GPU suites override them.
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
    model_args: dict[str, dict[str, Any]] = field(default_factory=dict)  #: --model.* per model name
    trainer_args: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_TRAINER_ARGS))  #: --trainer.*
    recipe: str | None = "experiments/{data}/{model}.yaml"  #: per-model --config pattern, used where it exists
    eval: EvalSettings = field(default_factory=lambda: EvalSettings(**BENCH_EVAL_DEFAULTS))

    def protocol(self) -> dict[str, Any]:
        """The settings that must not change within one results folder (models and seeds may grow)."""
        spec = asdict(self)
        for key in ("models", "seeds"):
            spec.pop(key)
        spec["eval"].pop("device")  # the same protocol measured on another device is still the same protocol
        return spec


def needs_labels(model_cls: type) -> bool:
    """Whether a model class can only train on labelled data (the CVAE)."""
    return bool(getattr(model_cls, "needs_labels", False) or getattr(model_cls, "conditional", False))


def resolve_models(spec: BenchSpec) -> list[str]:
    """``all``: every registered model that can train on the data (conditional ones need labels)."""
    load_all()
    data_cls = DATAMODULES.get(spec.data)
    labelled = getattr(data_cls(**spec.data_args), "num_classes", 0) > 0
    names: list[str] = []
    for name in spec.models:
        if name == "all":
            names += [m for m in MODELS.names() if labelled or not needs_labels(MODELS.get(m))]
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


def fit_arguments(spec: BenchSpec, model: str, seed: int, root: Path) -> list[str]:
    """The ``genzoo fit`` arguments of one run."""
    args = ["fit"]
    if spec.recipe:
        recipe = Path(spec.recipe.format(data=spec.data, model=model))
        if recipe.is_file():
            args += ["--config", str(recipe)]
    args += ["--model", model, "--data", spec.data, "--seed_everything", str(seed)]
    args += [f"--data.{k}={cli_value(v)}" for k, v in spec.data_args.items()]
    args += [f"--model.{k}={cli_value(v)}" for k, v in spec.model_args.get(model, {}).items()]
    trainer = {"enable_progress_bar": False, "enable_model_summary": False, **spec.trainer_args}
    trainer["default_root_dir"] = str(root)
    trainer["max_epochs"] = spec.max_epochs if spec.max_epochs is not None else -1
    if spec.max_time_s is not None:
        trainer["max_time"] = format_max_time(spec.max_time_s)
    args += [f"--trainer.{k}={cli_value(v)}" for k, v in trainer.items()]
    return args + ["--test_after_fit=false"]


def read_metrics_csv(path: Path) -> list[dict[str, float]]:
    """Rows of a CSVLogger metrics.csv, empty cells dropped, values as floats."""
    if not path.is_file():
        return []
    with open(path, newline="") as f:
        return [{k: float(v) for k, v in row.items() if v not in ("", None)} for row in csv.DictReader(f)]


def training_summary(rows: list[dict[str, float]]) -> dict[str, float | None]:
    """Images/s over all epochs (total images / total training seconds), epochs and images seen."""
    epochs = [r for r in rows if "throughput/images_per_s" in r]
    seconds = sum(r["throughput/train_seconds"] for r in epochs)
    images = sum(r["throughput/images_per_s"] * r["throughput/train_seconds"] for r in epochs)
    val = [r["val/recon_mse"] for r in rows if "val/recon_mse" in r]
    return {
        "images_per_s": images / seconds if seconds > 0 else None,
        "train_seconds": seconds,
        "images_seen": round(images),
        "epochs": len(epochs),
        "val_recon_mse": val[-1] if val else None,
    }


class Benchmark:
    """Runs a BenchSpec into a results folder; see the module docstring."""

    def __init__(self, spec: BenchSpec, out: Path, log: Callable[[str], None] | None = None) -> None:
        self.spec = spec
        self.out = Path(out)
        self.log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
        self.models = resolve_models(spec)
        self._evaluator: Evaluator | None = None

    # ----- folders ---------------------------------------------------------------------------
    def run_root(self, model: str, seed: int) -> Path:
        return self.out / "runs" / model / f"seed{seed}"

    def record_path(self, model: str, seed: int) -> Path:
        return self.out / "records" / f"{model}-seed{seed}.json"

    def check_protocol(self) -> None:
        """Refuse to resume a folder that was started with other settings; record them on a fresh one."""
        path = self.out / "bench.json"
        protocol = json.loads(json.dumps(self.spec.protocol()))  # JSON round trip: tuples -> lists
        if path.is_file():
            existing = json.loads(path.read_text())
            if existing != protocol:
                changed = sorted(k for k in protocol if existing.get(k) != protocol.get(k))
                raise GenzooError(
                    f"{self.out} holds a benchmark with other settings ({', '.join(changed)} differ); "
                    "use a new --out folder or delete that one"
                )
        else:
            write_json_atomic(protocol, path)

    # ----- one (model, seed) -------------------------------------------------------------------
    def train(self, model: str, seed: int) -> dict[str, Any]:
        """Train one run through ``genzoo fit``; returns its training record.

        A run that was interrupted (its folder has a last.ckpt but no train.json) continues from that
        checkpoint with ``--ckpt_path last``: same epochs, same time budget (Lightning's timer is in the
        checkpoint), so it ends where the uninterrupted run would have. Without a checkpoint it starts again.
        """
        root = self.run_root(model, seed)
        resume = any(root.glob(f"*/version_*/checkpoints/{LAST_CHECKPOINT}"))
        if not resume:
            shutil.rmtree(root, ignore_errors=True)
            root.mkdir(parents=True)
        else:
            self.log(f"[{model} seed {seed}] resuming the interrupted run from its last.ckpt")
        command = [sys.executable, "-m", "genzoo.cli", *fit_arguments(self.spec, model, seed, root)]
        env = {k: v for k, v in os.environ.items() if k != RUN_VERSION_ENV}
        start = time.perf_counter()
        with open(root / "fit.log", "a" if resume else "w") as log:
            resume_flags = ["--ckpt_path", RESUME] if resume else []
            code = subprocess.run(command + resume_flags, stdout=log, stderr=subprocess.STDOUT, env=env).returncode
        wall = time.perf_counter() - start
        if code != 0:
            tail = (root / "fit.log").read_text(errors="replace").splitlines()[-LOG_TAIL_LINES:]
            raise RuntimeError(f"genzoo fit exited with code {code}:\n" + "\n".join(tail))
        checkpoints = sorted(root.glob("*/version_*/checkpoints/*.ckpt"), key=lambda p: p.stat().st_mtime)
        if not checkpoints:
            raise RuntimeError(f"genzoo fit wrote no checkpoint under {root}")
        run_dir = checkpoints[-1].parent.parent
        record = {
            "checkpoint": str(checkpoints[-1].relative_to(self.out)),
            "run_dir": str(run_dir.relative_to(self.out)),
            "fit_wall_s": wall,
            **training_summary(read_metrics_csv(run_dir / "metrics.csv")),
            "command": ["genzoo", *command[3:]],
        }
        write_json_atomic(record, root / "train.json")
        return record

    def evaluate(self, model: str, seed: int, train: dict[str, Any]) -> dict[str, Any]:
        if self._evaluator is None:
            self._evaluator = Evaluator(self.spec.eval)
        run_dir = self.out / train["run_dir"]
        start = time.perf_counter()
        result = self._evaluator.evaluate(
            self.out / train["checkpoint"], self.spec.data, self.spec.data_args.get("root"), run_dir / "samples.png"
        )
        result["seconds"]["total"] = round(time.perf_counter() - start, 2)
        return result

    def run_one(self, model: str, seed: int) -> bool:
        """Train (unless already trained) and evaluate one pair; True when it succeeded."""
        train_json = self.run_root(model, seed) / "train.json"
        failed = self.record_path(model, seed).with_suffix(".failed.json")
        try:
            if train_json.is_file():
                train = json.loads(train_json.read_text())
                self.log(f"[{model} seed {seed}] trained before; evaluating")
            else:
                self.log(f"[{model} seed {seed}] training")
                train = self.train(model, seed)
                self.log(
                    f"[{model} seed {seed}] trained {train['epochs']} epoch(s) in {train['fit_wall_s']:.0f} s "
                    f"({train['images_per_s'] or 0:.0f} images/s); evaluating"
                )
            result = self.evaluate(model, seed, train)
        except GenzooError:
            raise  # a problem with the user's input stops the whole benchmark
        except Exception as err:  # one model's failure must not lose the others' results: record, report
            detail = str(err) if isinstance(err, RuntimeError) else traceback.format_exc()
            write_json_atomic({"model": model, "seed": seed, "error": detail}, failed)
            self.log(f"[{model} seed {seed}] FAILED: {detail.strip().splitlines()[-1]} (see {failed})")
            return False
        write_json_atomic({"model": model, "seed": seed, "train": train, "eval": result}, self.record_path(model, seed))
        failed.unlink(missing_ok=True)
        return True

    # ----- the whole benchmark -----------------------------------------------------------------
    def run(self) -> list[str]:
        """Run every missing pair, then write the reports; returns the pairs that failed."""
        self.out.mkdir(parents=True, exist_ok=True)
        self.check_protocol()
        failures = []
        start = time.perf_counter()
        # Seeds outer, models inner: on a shared machine a slow patch then hits one seed of several models,
        # not every seed of one model.
        for seed in self.spec.seeds:
            for model in self.models:
                if self.record_path(model, seed).is_file():
                    self.log(f"[{model} seed {seed}] done before; skipping")
                    continue
                if not self.run_one(model, seed):
                    failures.append(f"{model}/seed{seed}")
        self.log(f"benchmark runs took {time.perf_counter() - start:.0f} s; writing reports")
        from genzoo.bench_report import write_reports

        write_reports(self)
        return failures

    def records(self) -> list[dict[str, Any]]:
        """The records of this benchmark's models and seeds that exist on disk."""
        found = []
        for model in self.models:
            for seed in self.spec.seeds:
                path = self.record_path(model, seed)
                if path.is_file():
                    found.append(json.loads(path.read_text()))
        return found


def mean_std(values: list[float]) -> tuple[float, float] | None:
    """Mean and sample standard deviation (0 for a single value); None for no values."""
    values = [v for v in values if v is not None and math.isfinite(v)]
    if not values:
        return None
    mean = sum(values) / len(values)
    var = sum((v - mean) ** 2 for v in values) / (len(values) - 1) if len(values) > 1 else 0.0
    return mean, math.sqrt(var)
