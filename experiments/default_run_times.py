"""Wall time of each model's default run: `genzoo fit --model X`, no other flag, as a user types it.

The issue "Good samples by default" budgets every default MNIST run at 5 minutes on this 2-core CPU. This
times the whole command (start-up, training, validation figures, checkpoints, the test pass) in a fresh
process per model, one model after another, with every thread the machine gives, and prints one markdown
row per model with the load average before it, so a reader can tell an idle machine from a busy one.

    python experiments/default_run_times.py aae aegan gan          # a few models
    python experiments/default_run_times.py --all --out times.jsonl

Run it alone on the machine: the figure is wall time, and anything else running lengthens it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from seeds_table import children_cpu_seconds  # experiments/ is on sys.path when run as a script

BUDGET_S = 300.0  # the 5 minutes


def time_default_run(model: str, root: Path) -> dict:
    """One `genzoo fit --model MODEL` in a fresh process: wall seconds, user + system CPU seconds, exit code."""
    cpu_before = children_cpu_seconds()
    load = os.getloadavg()[0]
    start = time.perf_counter()
    argv = [sys.executable, "-m", "genzoo.cli", "fit", "--model", model, "--trainer.default_root_dir", str(root)]
    with open(root / f"{model}.log", "w") as log:
        code = subprocess.run(argv, stdout=log, stderr=subprocess.STDOUT).returncode
    wall = time.perf_counter() - start
    cpu = children_cpu_seconds() - cpu_before
    return {"model": model, "wall_seconds": round(wall, 1), "cpu_seconds": round(cpu, 1), "load_before": load,
            "exit_code": code, "date": time.strftime("%Y-%m-%d")}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="*", help="registered model names")
    parser.add_argument("--all", action="store_true", help="every registered model")
    parser.add_argument("--out", type=Path, default=None, help="append one JSON line per run here")
    parser.add_argument("--root", type=Path, default=None, help="keep the run folders here (default: deleted)")
    args = parser.parse_args()
    from genzoo.registry import MODELS

    models = MODELS.names() if args.all else args.models
    if not models:
        parser.error("name at least one model, or --all")
    unknown = [m for m in models if m not in MODELS.names()]
    if unknown:
        parser.error(f"unknown model(s) {', '.join(unknown)}; known: {', '.join(MODELS.names())}")
    print("| model | wall s | CPU s | within 5 min | load average before |")
    print("| --- | ---: | ---: | --- | ---: |")
    failed = []
    with tempfile.TemporaryDirectory(prefix="genzoo-default-times-") as tmp:
        root = args.root or Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        for model in models:
            row = time_default_run(model, root)
            if row["exit_code"]:
                failed.append(model)
                print((root / f"{model}.log").read_text()[-2000:], file=sys.stderr)
            if args.out:
                with open(args.out, "a") as f:
                    f.write(json.dumps(row) + "\n")
            within = "yes" if row["wall_seconds"] <= BUDGET_S else "**no**"
            print(f"| {model} | {row['wall_seconds']:.1f} | {row['cpu_seconds']:.0f} | {within} "
                  f"| {row['load_before']:.2f} |", flush=True)  # fmt: skip
    if failed:
        sys.exit(f"default run failed for {', '.join(failed)} (log above)")


if __name__ == "__main__":
    main()
