"""Training speed of every registered model on GPUs: images/s at batch 256, on 1 device and on N with DDP.

Each (model, devices) is one ``genzoo fit`` subprocess on MNIST with the conv backbone (StyleALAE has its
own networks), a fixed number of training steps and no validation or test pass; the speed is
EpochThroughput's (training batches only, per rank, times the number of ranks). The table goes to
stdout and, with ``--docs``, between the ``bench_gpu`` markers of docs/performance.md.

    python experiments/bench_gpu.py [--devices 1,8] [--steps 300] [--precision bf16-mixed] [--docs]

The GPU check of a lent machine is this one command (about 5 minutes on one H200 for the nine models; with
two GPUs it adds the 2-GPU DDP column):

    python experiments/bench_gpu.py --steps 300 --docs

Without a GPU it says so and stops (exit 1); ``--accelerator cpu`` runs the same code path on the CPU
with tiny settings, to check the script itself.
"""

from __future__ import annotations

import argparse
import inspect
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs" / "performance.md"
BEGIN, END = "<!-- bench_gpu:begin -->", "<!-- bench_gpu:end -->"


def fit_command(model: str, devices: int, args: argparse.Namespace, root: Path) -> list[str]:
    from genzoo.registry import MODELS

    command = [sys.executable, "-m", "genzoo.cli", "fit", "--model", model, "--data.batch_size", str(args.batch)]
    if "backbone" in inspect.signature(MODELS.get(model).__init__).parameters:
        command += ["--model.backbone", "conv"]
    trainer = {
        "accelerator": args.accelerator, "devices": devices, "max_steps": args.steps, "limit_val_batches": 0,
        "num_sanity_val_steps": 0, "enable_progress_bar": False, "enable_checkpointing": False,
        "precision": args.precision, "default_root_dir": str(root),
    }  # fmt: skip
    # No strategy for devices > 1: Lightning's own choice (DDP), the way users ask for several GPUs.
    command += [f"--trainer.{k}={v}" for k, v in trainer.items()]
    return command + ["--test_after_fit=false"]


def measure(model: str, devices: int, args: argparse.Namespace) -> dict[str, float | int | str | None]:
    from genzoo.bench.run import training_summary
    from genzoo.runs import read_metrics_csv

    with tempfile.TemporaryDirectory() as root:
        start = time.perf_counter()
        done = subprocess.run(fit_command(model, devices, args, Path(root)), capture_output=True, text=True)
        wall = time.perf_counter() - start
        if done.returncode != 0:
            return {"model": model, "devices": devices, "error": done.stderr.strip().splitlines()[-1:]}
        (metrics,) = Path(root).glob("*/version_*/metrics.csv")
        summary = training_summary(read_metrics_csv(metrics))
    per_rank = summary["images_per_s"]
    return {"model": model, "devices": devices, "images_per_s": per_rank and per_rank * devices, "wall_s": wall}


def table(rows: list[dict], devices: list[int], args: argparse.Namespace) -> str:
    head = [f"{n} device(s) img/s" for n in devices] + (
        [f"scaling {devices[-1]}/{devices[0]}"] if len(devices) > 1 else []
    )
    lines = [
        f"Run {time.strftime('%Y-%m-%d %H:%M')}: {args.accelerator}, batch {args.batch} per device, "
        f"{args.steps} steps, precision {args.precision}.",
        "",
        "| model | " + " | ".join(head) + " |",
        "| --- |" + " ---: |" * len(head),
    ]
    for model in dict.fromkeys(r["model"] for r in rows):
        speeds = [next((r.get("images_per_s") for r in rows if r["model"] == model and r["devices"] == n), None)
                  for n in devices]  # fmt: skip
        cells = [f"{s:,.0f}" if s else "failed" for s in speeds]
        if len(devices) > 1:
            cells.append(f"{speeds[-1] / speeds[0]:.2f}x" if speeds[0] and speeds[-1] else "")
        lines.append(f"| {model} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", default=None, help="device counts, comma-separated (default: 1 and all)")
    parser.add_argument("--models", default=None, help="models, comma-separated (default: every registered one)")
    parser.add_argument("--steps", type=int, default=300, help="training steps per run (default 300)")
    parser.add_argument("--batch", type=int, default=256, help="images per batch and device (default 256)")
    parser.add_argument("--precision", default=None, help="precision (default: bf16-mixed on GPU, else 32-true)")
    parser.add_argument("--accelerator", default="gpu", help="gpu (default) or cpu, to check this script")
    parser.add_argument("--docs", action="store_true", help="write the table into docs/performance.md")
    parser.add_argument("--out", type=Path, default=REPO / "results" / "bench_gpu.json")
    args = parser.parse_args()
    args.precision = args.precision or ("bf16-mixed" if args.accelerator == "gpu" else "32-true")
    import torch

    from genzoo.registry import MODELS

    available = torch.cuda.device_count() if args.accelerator == "gpu" else 1
    if available == 0:
        print("bench_gpu: no GPU here; run it on a machine with one (or --accelerator cpu to check it)")
        return 1
    devices = [int(d) for d in args.devices.split(",")] if args.devices else sorted({1, available})
    models = args.models.split(",") if args.models else MODELS.names()
    rows = []
    for model in models:
        for n in devices:
            rows.append(measure(model, n, args))
            print(json.dumps(rows[-1]), flush=True)
    text = table(rows, devices, args)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(rows, indent=2))
    if args.docs:
        doc = DOCS.read_text()
        block = f"{BEGIN}\n{text}\n{END}"
        doc = re.sub(f"{BEGIN}.*?{END}", block, doc, flags=re.S) if BEGIN in doc else doc + "\n" + block + "\n"
        DOCS.write_text(doc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
