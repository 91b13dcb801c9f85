"""Five seeds of the GAN baseline, AEGAN and the tuned GAN: FID, precision, recall, class entropy, mean +- std.

Each run is a user's default run (``genzoo fit`` in a fresh process, the recipe's epochs) with only
``--seed_everything`` changed, timed by the wall clock, then evaluated as ``genzoo eval`` does (10,000
samples, the data's own extractor, the test split; the sample_quality and coverage groups, as
``quality_curve.py``). One JSON line is appended per finished run, and the markdown table is rewritten
from all lines after each one, so partial results are kept and a rerun skips what is done.

    OMP_NUM_THREADS=1 python experiments/seeds_table.py --root /tmp/seeds --out seeds.jsonl --table seeds.md
    python experiments/seeds_table.py --out seeds.jsonl --table seeds.md --table-only   # table from the lines

Runs go seed by seed (all models with seed 0, then seed 1, ...), so whatever has finished compares the
models on the same seeds. The seed-0 sample grid of each model (64 of the evaluated samples) is written
to ``--images``.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from quality_curve import measured

ROOT = Path(__file__).resolve().parents[1]
RECIPES = {  # name in the table -> genzoo fit arguments
    "gan": ["--model", "gan"],
    "aegan": ["--model", "aegan"],
    "gan_tuned": ["--config", str(ROOT / "experiments" / "recipes" / "mnist" / "gan_tuned.yaml")],
}
SHOWN = {"gan": "`genzoo fit --model gan`", "aegan": "`genzoo fit --model aegan`", "gan_tuned": "`gan_tuned.yaml`"}
METRICS = (("fid", "FID", 1), ("precision", "precision", 3), ("recall", "recall", 3), ("entropy", "class entropy", 3))


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def train(name: str, seed: int, root: Path) -> tuple[Path, float, float]:
    """One default run in a fresh process: (its last checkpoint, wall seconds, CPU seconds)."""
    run_root = root / f"{name}-seed{seed}"
    argv = [sys.executable, "-m", "genzoo.cli", "fit", *RECIPES[name], "--seed_everything", str(seed)]
    argv += ["--trainer.default_root_dir", str(run_root), "--test_after_fit", "false"]
    run_root.mkdir(parents=True, exist_ok=True)
    cpu, start = children_cpu_seconds(), time.perf_counter()
    with open(run_root / "fit.log", "w") as log:
        subprocess.run(argv, check=True, stdout=log, stderr=subprocess.STDOUT)
    wall, cpu = time.perf_counter() - start, children_cpu_seconds() - cpu
    checkpoints = sorted(run_root.glob("*/version_*/checkpoints/last.ckpt"), key=lambda p: p.stat().st_mtime)
    if not checkpoints:
        raise RuntimeError(f"{name} seed {seed}: no last.ckpt under {run_root}")
    return checkpoints[-1], wall, cpu


def read_rows(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def spread(values: list[float], digits: int) -> str:
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{statistics.mean(values):.{digits}f} +- {statistics.stdev(values):.{digits}f}"


def table(rows: list[dict]) -> str:
    """Markdown: one line per model, mean +- std (sample standard deviation) over its finished seeds."""
    head = ["model", "seeds", *(label for _, label, _ in METRICS), "wall time per run", "CPU time per run"]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for name in RECIPES:
        mine = [r for r in rows if r["model"] == name]
        if not mine:
            continue
        seeds = ", ".join(str(r["seed"]) for r in sorted(mine, key=lambda r: r["seed"]))
        cells = [spread([r[key] for r in mine], digits) for key, _, digits in METRICS]
        walls = [r["wall_seconds"] for r in mine]
        cpus = [r["cpu_seconds"] for r in mine]
        wall, cpu = (
            f"{min(v) / 60:.1f}-{max(v) / 60:.1f} min" if len(v) > 1 else f"{v[0] / 60:.1f} min" for v in (walls, cpus)
        )
        lines.append(f"| {SHOWN[name]} | {seeds} | " + " | ".join(cells) + f" | {wall} | {cpu} |")
    return "\n".join(lines) + "\n"


def per_run_table(rows: list[dict]) -> str:
    head = ["model", "seed", "epochs", "FID", "precision", "recall", "class entropy", "wall s", "CPU s"]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for r in sorted(rows, key=lambda r: (list(RECIPES).index(r["model"]), r["seed"])):
        lines.append(
            f"| {r['model']} | {r['seed']} | {r['epochs']} | {r['fid']:.1f} | {r['precision']:.3f} | "
            f"{r['recall']:.3f} | {r['entropy']:.3f} | {r['wall_seconds']:.0f} | {r['cpu_seconds']:.0f} |"
        )
    return "\n".join(lines) + "\n"


def write_table(rows: list[dict], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(table(rows) + "\nPer run:\n\n" + per_run_table(rows))


def seeds_parser(doc: str, models: list[str], root: Path, num_samples: int, row: str) -> argparse.ArgumentParser:
    """The command line of a seeds experiment (this one, anime_seeds.py): which runs, where, and the tables."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=models, choices=models)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    parser.add_argument("--root", type=Path, default=root, help="run folders go here")
    parser.add_argument("--out", type=Path, required=True, help=f"JSON lines, one per {row} (appended)")
    parser.add_argument("--table", type=Path, required=True, help="markdown table(s), rewritten after each run")
    parser.add_argument("--images", type=Path, default=None, help="seed-0 sample grids (default: --root)")
    parser.add_argument("--num-samples", type=int, default=num_samples)
    parser.add_argument("--table-only", action="store_true", help="only rewrite the table(s) from --out")
    return parser


def measured_already(out: Path, name: str, seed: int) -> bool:
    """Does ``out`` hold a row of this model and seed (from an earlier invocation)?"""
    return any(r["model"] == name and r["seed"] == seed for r in read_rows(out))


def main() -> None:
    args = seeds_parser(__doc__, list(RECIPES), Path("/tmp/genzoo-seeds"), 10_000, "run").parse_args()
    if args.table_only:
        write_table(read_rows(args.out), args.table)
        print(args.table.read_text())
        return

    from genzoo.metrics.evaluation import EvalSettings, Evaluator

    evaluator = Evaluator(EvalSettings(num_samples=args.num_samples, metrics=("sample_quality", "coverage")))
    images = args.images or args.root
    images.mkdir(parents=True, exist_ok=True)
    for seed in args.seeds:
        for name in args.models:
            if measured_already(args.out, name, seed):
                continue
            print(f"{time.strftime('%H:%M:%S')} {name} seed {seed}: training", flush=True)
            ckpt, wall, cpu = train(name, seed, args.root)
            start = time.perf_counter()
            png = images / f"{name}_seed{seed}_samples.png" if seed == 0 else None
            result = evaluator.evaluate(ckpt, samples_png=png)
            _, quality = measured(result["sample_quality"])
            import torch  # after the training subprocess: the parent stays light while it runs

            epochs = torch.load(ckpt, map_location="cpu", weights_only=True)["epoch"] + 1
            row = {
                "model": name, "seed": seed, "epochs": epochs,
                "wall_seconds": round(wall, 1), "cpu_seconds": round(cpu, 1),
                "fid": round(quality["fid"], 2), "precision": round(quality["precision"], 4),
                "recall": round(quality["recall"], 4), "entropy": round(result["coverage"]["entropy"], 4),
                "eval_seconds": round(time.perf_counter() - start, 1), "checkpoint": str(ckpt),
            }  # fmt: skip
            with open(args.out, "a") as f:
                f.write(json.dumps(row) + "\n")
            print(json.dumps(row), flush=True)
            write_table(read_rows(args.out), args.table)


if __name__ == "__main__":
    main()
