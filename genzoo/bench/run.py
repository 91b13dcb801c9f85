"""Running a benchmark: train each (model, seed) through ``genzoo fit``, evaluate it, keep its record."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from genzoo.atomic import write_json_atomic
from genzoo.bench.report import write_reports
from genzoo.bench.spec import BenchSpec, fit_arguments, resolve_models
from genzoo.errors import GenzooError
from genzoo.metrics.evaluation import Evaluator
from genzoo.runs import LAST_CHECKPOINT, RESUME, data_from_run, read_metrics_csv

LOG_TAIL_LINES = 25


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
        start = time.perf_counter()
        with open(root / "fit.log", "a" if resume else "w") as log:
            resume_flags = ["--ckpt_path", RESUME] if resume else []
            code = subprocess.run(command + resume_flags, stdout=log, stderr=subprocess.STDOUT).returncode
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
        checkpoint = self.out / train["checkpoint"]
        # The data as the run trained on it (its config.yaml holds the recipe's size and crop, which the
        # dataset's defaults need not match); the suite's name and root only if the run recorded none.
        data, root = (None, None) if data_from_run(checkpoint) else (self.spec.data, self.spec.data_args.get("root"))
        start = time.perf_counter()
        result = self._evaluator.evaluate(checkpoint, data, root, run_dir / "samples.png")
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
