"""Seconds per training epoch of each MNIST recipe, run as a user runs it (`genzoo fit --config RECIPE`).

Every recipe in experiments/recipes/mnist/ (or the ones named) trains for one epoch, without validation, test or
checkpoints, in this one process. A callback times the training epoch twice:

- wall: the clock on the wall, what a user waits for; on a machine shared with other jobs it grows with
  their load (the 1-minute load average is printed next to it);
- cpu: the CPU time this process spent. With ``--threads 1`` it is what the wall time would be on an idle
  machine with one core to spare, whatever else is running; with more threads it is their sum.

The issue's budget is 60 s per epoch for the default MNIST recipe of every model on a 2-core CPU.

    python experiments/bench_epoch_time.py                       # every MNIST recipe, a full epoch each
    python experiments/bench_epoch_time.py --threads 1 --batches 100 experiments/recipes/mnist/aae.yaml
    python experiments/bench_epoch_time.py --out results/bench_epoch_time.json --budget 60

``--batches N`` times N batches only and scales the result to a full epoch (quick, and noisier).
Exit status 1 when some recipe is over ``--budget`` by the measure chosen with ``--judge``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import pytorch_lightning as pl
import torch

REPO = Path(__file__).resolve().parents[1]


class EpochTimer(pl.Callback):
    """Wall and CPU seconds of the first training epoch, from its start to its last training batch."""

    last: dict[str, float] = {}  # class attribute: the CLI builds the instance, the script reads it back

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.images, self.batches = 0, 0
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.images += len(batch[0])
        self.batches += 1
        # Stop the clocks after every batch: whatever runs after the last one (validation, hooks) is not counted.
        EpochTimer.last = {
            "wall_s": time.perf_counter() - self.wall,
            "cpu_s": time.process_time() - self.cpu,
            "images": self.images,
            "batches": self.batches,
            "batches_per_epoch": len(trainer.datamodule.train_dataloader()),  # a full epoch, whatever the limit
        }


def time_recipe(recipe: Path, batches: int | None) -> dict[str, float]:
    from genzoo.cli import main as genzoo_main

    EpochTimer.last = {}
    with tempfile.TemporaryDirectory() as root:
        args = [
            "fit", "--config", str(recipe), "--trainer.max_epochs", "1", "--trainer.limit_val_batches", "0",
            "--trainer.num_sanity_val_steps", "0", "--test_after_fit", "false", "--trainer.logger", "false",
            "--trainer.enable_checkpointing", "false", "--trainer.enable_progress_bar", "false",
            "--trainer.enable_model_summary", "false", "--trainer.default_root_dir", root,
            f"--trainer.callbacks+={EpochTimer.__module__}.EpochTimer",
        ]  # fmt: skip
        if batches:
            args += ["--trainer.limit_train_batches", str(batches)]
        load_before = os.getloadavg()[0]
        if genzoo_main(args) != 0 or not EpochTimer.last:
            raise SystemExit(f"genzoo fit --config {recipe} failed")
    t = dict(EpochTimer.last)
    scale = t["batches_per_epoch"] / t["batches"]  # > 1 only with --batches
    return {
        "wall_s_per_epoch": t["wall_s"] * scale,
        "cpu_s_per_epoch": t["cpu_s"] * scale,
        "images_per_s": t["images"] / t["wall_s"],
        "batches_timed": t["batches"],
        "load_avg_1min": round((load_before + os.getloadavg()[0]) / 2, 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "recipes", nargs="*", type=Path, help="YAML recipes (default: experiments/recipes/mnist/*.yaml)"
    )
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--batches", type=int, default=None, help="time this many batches, scale to an epoch")
    parser.add_argument("--budget", type=float, default=60.0, help="seconds per epoch allowed (default 60)")
    parser.add_argument("--judge", choices=["wall", "cpu"], default="wall", help="which time the budget applies to")
    parser.add_argument("--out", type=Path, default=None, help="also write the results as JSON")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    recipes = args.recipes or sorted((REPO / "experiments" / "recipes" / "mnist").glob("*.yaml"))
    results = {}
    for recipe in recipes:
        results[recipe.stem] = time_recipe(recipe, args.batches)
        r = results[recipe.stem]
        print(
            f"{recipe.stem:<12} wall {r['wall_s_per_epoch']:6.1f} s/epoch   cpu {r['cpu_s_per_epoch']:6.1f} s/epoch   "
            f"{r['images_per_s']:7.0f} images/s   load {r['load_avg_1min']:.1f}",
            flush=True,
        )
    over = [name for name, r in results.items() if r[f"{args.judge}_s_per_epoch"] > args.budget]
    summary = {
        "threads": torch.get_num_threads(),
        "cpus": os.cpu_count(),
        "batches": args.batches,
        "budget_s": args.budget,
        "judge": args.judge,
        "over_budget": over,
        "results": {
            k: {m: round(v, 2) if isinstance(v, float) else v for m, v in r.items()} for k, r in results.items()
        },
    }
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(summary, indent=2))
    verdict = f"over the {args.budget:g} s budget ({args.judge}): {', '.join(over)}" if over else "all within budget"
    print(f"{torch.get_num_threads()} thread(s); {verdict}")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
