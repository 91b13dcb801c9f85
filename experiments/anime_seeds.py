"""The AEGAN article's experiment on its own kind of data: GAN, AEGAN and the tuned GAN on anime faces, five seeds.

The same G and Dx (experiments/recipes/anime/{gan,aegan,gan_tuned}.yaml, 32x32), each run a user's
``genzoo fit`` in a fresh process with only ``--seed_everything`` changed and a checkpoint kept after every
epoch. Each run is then measured as ``genzoo eval`` does on faces without Inception (the shipped
``face_features`` extractor, the held-out test split, FID / precision / recall):

- **at equal steps**: every model after AEGAN's 3 epochs (840 batches of 64);
- **at equal CPU time**: each GAN at the epoch whose cumulative training CPU seconds (``throughput/cpu_seconds``
  of its metrics.csv) come closest to the same seed's AEGAN after its 3 epochs. The GANs train for more epochs
  than AEGAN for this (an AEGAN batch costs about twice a GAN batch: E and Dz come on top of G and Dx).

One JSON line per (run, epoch) measured is appended to ``--out`` and the markdown tables are rewritten after each
run, so partial results are kept and a rerun skips what is done. Seeds go one at a time (all models of seed 0,
then seed 1, ...). Run it with one thread per process, as the issue asks:

    OMP_NUM_THREADS=1 python experiments/anime_seeds.py --data-root ../shared/data/anime_sample \\
        --cache-dir /tmp/anime-cache --root /tmp/anime-seeds --out experiments/anime_seeds.jsonl \\
        --table /tmp/anime-seeds/table.md
    python experiments/anime_seeds.py --out experiments/anime_seeds.jsonl --table T.md --table-only
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from quality_curve import CHECKPOINT_EVERY_EPOCH, measured, seconds_by_epoch
from seeds_table import children_cpu_seconds, measured_already, read_rows, seeds_parser, spread

ROOT = Path(__file__).resolve().parents[1]
RECIPES_DIR = ROOT / "experiments" / "recipes" / "anime"
EQUAL_STEPS_EPOCH = 3  # AEGAN's epochs here
BATCHES_PER_EPOCH = 280  # 17,949 training faces in batches of 64, the last partial one dropped
RECIPES = {  # name -> (genzoo fit arguments, epochs trained)
    "aegan": (["--config", str(RECIPES_DIR / "aegan.yaml")], EQUAL_STEPS_EPOCH),
    # An AEGAN batch costs about 2.1x a GAN batch and 1.4x a GAN-with-R1 batch (docs/models/aegan.md), so
    # these epochs reach AEGAN's CPU time; the epoch measured "at equal CPU" is chosen from the logged seconds.
    "gan": (["--config", str(RECIPES_DIR / "gan.yaml")], 2 * EQUAL_STEPS_EPOCH),
    "gan_tuned": (["--config", str(RECIPES_DIR / "gan_tuned.yaml")], EQUAL_STEPS_EPOCH + 1),
}
METRICS = (("fid", "FID", 1), ("precision", "precision", 3), ("recall", "recall", 3))


def train(name: str, seed: int, args: argparse.Namespace) -> Path:
    """One run in a fresh process, a checkpoint per epoch; returns its run folder.

    A run folder that already holds the last epoch's checkpoint (an earlier invocation trained it but stopped
    before measuring) is measured as it is, not trained again.
    """
    recipe, epochs = RECIPES[name]
    run_root = args.root / f"{name}-seed{seed}"
    done = [p.parents[1] for p in run_root.glob(f"*/version_*/checkpoints/epoch={epochs - 1}.ckpt")]
    if done:
        return max(done, key=lambda p: p.stat().st_mtime)
    run_root.mkdir(parents=True, exist_ok=True)
    every_epoch = run_root / "checkpoint_every_epoch.yaml"
    every_epoch.write_text(CHECKPOINT_EVERY_EPOCH)
    argv = [sys.executable, "-m", "genzoo.cli", "fit", *recipe, "--config", str(every_epoch)]
    argv += ["--data.root", str(args.data_root), "--data.cache_dir", str(args.cache_dir)]
    argv += ["--trainer.max_epochs", str(epochs), "--seed_everything", str(seed)]
    argv += ["--trainer.default_root_dir", str(run_root), "--test_after_fit", "false"]
    cpu, start = children_cpu_seconds(), time.perf_counter()
    with open(run_root / "fit.log", "w") as log:
        subprocess.run(argv, check=True, stdout=log, stderr=subprocess.STDOUT)
    wall, cpu = time.perf_counter() - start, children_cpu_seconds() - cpu
    print(f"  trained in {wall:.0f} s wall, {cpu:.0f} s CPU", flush=True)
    runs = [p for p in run_root.glob("*/version_*") if (p / "metrics.csv").exists()]
    return max(runs, key=lambda p: p.stat().st_mtime)


def epochs_to_measure(name: str, cpu: dict[int, float], aegan_cpu: float | None) -> dict[int, list[str]]:
    """0-based epoch -> why it is measured ("steps", "cpu").

    Without the same seed's AEGAN measured yet (runs in parallel), a GAN is measured at its last epoch, which
    its epochs were chosen to make about AEGAN's CPU time; the table shows each run's CPU seconds either way.
    """
    chosen: dict[int, list[str]] = {EQUAL_STEPS_EPOCH - 1: ["steps"]}
    if name != "aegan":
        closest = max(cpu) if aegan_cpu is None else min(cpu, key=lambda e: abs(cpu[e] - aegan_cpu))
        chosen.setdefault(closest, []).append("cpu")
    return chosen


def table(rows: list[dict], at: str) -> str:
    """Markdown, one line per model: mean +- sample std over the seeds measured ``at`` ("steps" or "cpu")."""
    head = ["model", "seeds", "epochs", "batches", "training CPU s", *(label for _, label, _ in METRICS)]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for name in RECIPES:
        mine = sorted((r for r in rows if r["model"] == name and at in r["at"]), key=lambda r: r["seed"])
        if name == "aegan":  # AEGAN is the reference point of both comparisons
            mine = sorted((r for r in rows if r["model"] == name), key=lambda r: r["seed"])
        if not mine:
            continue
        epochs = sorted({r["epoch"] for r in mine})
        shown_epochs = str(epochs[0]) if len(epochs) == 1 else f"{epochs[0]}-{epochs[-1]}"
        batches = sorted({r["batches"] for r in mine})
        shown_batches = f"{batches[0]:,}" if len(batches) == 1 else f"{batches[0]:,}-{batches[-1]:,}"
        cells = [spread([r[key] for r in mine], digits) for key, _, digits in METRICS]
        cpu = spread([r["cpu_seconds"] for r in mine], 0)
        seeds = ", ".join(str(r["seed"]) for r in mine)
        lines.append(f"| {name} | {seeds} | {shown_epochs} | {shown_batches} | {cpu} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def per_run_table(rows: list[dict]) -> str:
    head = ["model", "seed", "epoch", "measured at", "training CPU s", "FID", "precision", "recall"]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for r in sorted(rows, key=lambda r: (list(RECIPES).index(r["model"]), r["seed"], r["epoch"])):
        lines.append(
            f"| {r['model']} | {r['seed']} | {r['epoch']} | {', '.join(r['at'])} | {r['cpu_seconds']:.0f} | "
            f"{r['fid']:.1f} | {r['precision']:.3f} | {r['recall']:.3f} |"
        )
    return "\n".join(lines) + "\n"


def write_tables(rows: list[dict], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "Equal steps (AEGAN's epochs):\n\n" + table(rows, "steps")
    text += "\nEqual CPU time (each GAN at the epoch closest to the same seed's AEGAN):\n\n" + table(rows, "cpu")
    path.write_text(text + "\nPer run:\n\n" + per_run_table(rows))


def main() -> None:
    parser = seeds_parser(__doc__, list(RECIPES), Path("/tmp/genzoo-anime-seeds"), 5_000, "measured epoch")
    parser.add_argument("--data-root", type=Path, help="the anime faces (images/*.jpg)")
    parser.add_argument("--cache-dir", type=Path, help="decoded-image cache (a temporary folder)")
    args = parser.parse_args()
    if args.table_only:
        write_tables(read_rows(args.out), args.table)
        print(args.table.read_text())
        return
    if args.data_root is None or args.cache_dir is None:
        parser.error("--data-root and --cache-dir are needed to train")

    from genzoo.metrics.evaluation import EvalSettings, Evaluator

    evaluator = Evaluator(EvalSettings(num_samples=args.num_samples, metrics=("sample_quality",)))
    images = args.images or args.root
    images.mkdir(parents=True, exist_ok=True)
    for seed in args.seeds:
        for name in args.models:
            if measured_already(args.out, name, seed):
                continue
            print(f"{time.strftime('%H:%M:%S')} {name} seed {seed}: training", flush=True)
            run_dir = train(name, seed, args)
            cpu = seconds_by_epoch(run_dir, "cpu_seconds")
            aegan = [r for r in read_rows(args.out) if r["model"] == "aegan" and r["seed"] == seed]
            for epoch, why in sorted(epochs_to_measure(name, cpu, aegan[0]["cpu_seconds"] if aegan else None).items()):
                ckpt = run_dir / "checkpoints" / f"epoch={epoch}.ckpt"
                png = images / f"{name}_seed{seed}_epoch{epoch + 1}.png" if seed == 0 else None
                start = time.perf_counter()
                result = evaluator.evaluate(ckpt, samples_png=png)
                extractor, values = measured(result["sample_quality"])
                row = {
                    "model": name, "seed": seed, "epoch": epoch + 1, "at": why,
                    "batches": (epoch + 1) * BATCHES_PER_EPOCH, "cpu_seconds": round(cpu[epoch], 1),
                    "extractor": extractor,
                    "fid": round(values["fid"], 2), "precision": round(values["precision"], 4),
                    "recall": round(values["recall"], 4), "eval_seconds": round(time.perf_counter() - start, 1),
                    "checkpoint": str(ckpt),
                }  # fmt: skip
                with open(args.out, "a") as f:
                    f.write(json.dumps(row) + "\n")
                print(json.dumps(row), flush=True)
            write_tables(read_rows(args.out), args.table)


if __name__ == "__main__":
    main()
