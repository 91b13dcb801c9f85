"""FID against training time for one model: what `genzoo fit --model X` reaches after each epoch.

Trains through the CLI itself (in this process, so the run is exactly a user's ``genzoo fit``) with a
checkpoint kept after every epoch, then evaluates each checkpoint as ``genzoo eval`` does (FID, KID,
precision/recall with the data's extractor; mode coverage). Prints and writes one JSON line per epoch:
cumulative training seconds (wall clock of the training batches, from the run's EpochThroughput),
FID, recall, class entropy.

    python experiments/quality_curve.py aegan                       # the default run
    python experiments/quality_curve.py gan --config experiments/recipes/mnist/gan_tuned.yaml
    python experiments/quality_curve.py alae -- --model.ema_decay 0 # anything after -- goes to genzoo fit
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
from pathlib import Path

CHECKPOINT_EVERY_EPOCH = """\
trainer:
  callbacks:
    - class_path: pytorch_lightning.callbacks.ModelCheckpoint
      init_args: {save_top_k: -1, every_n_epochs: 1, filename: "{epoch}"}
"""


def seconds_by_epoch(run_dir: Path, key: str) -> dict[int, float]:
    """Cumulative ``throughput/<key>`` (train_seconds, cpu_seconds) at the end of each epoch, from metrics.csv."""
    totals, total = {}, 0.0
    with open(run_dir / "metrics.csv") as f:
        for row in csv.DictReader(f):
            if row.get(f"throughput/{key}"):
                total += float(row[f"throughput/{key}"])
                totals[int(row["epoch"])] = total
    return totals


def measured(quality: dict) -> tuple[str, dict]:
    """(extractor, its figures) of the first extractor that measured: on faces without Inception's weights the
    first entry is Inception's reason for being unavailable and the figures come from the offline fallback."""
    for name, figures in quality.items():
        if "fid" in figures:
            return name, figures
    raise RuntimeError(f"no extractor measured the samples: {quality}")


def without_averages(ckpt: Path) -> Path:
    """A copy of the checkpoint whose moving averages are replaced by the live weights (an ablation)."""
    import torch

    checkpoint = torch.load(ckpt, map_location="cpu", weights_only=True)
    state = checkpoint["state_dict"]
    for key in [k for k in state if ".average." in k]:  # an averaged network (genzoo.models.ema.Averaged)
        state[key] = state[key.replace(".average.", ".live.", 1)].clone()
    out = ckpt.with_name(ckpt.stem + "-live.ckpt")
    torch.save(checkpoint, out)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model")
    parser.add_argument("--config", action="append", default=[], help="recipe(s) given to genzoo fit")
    parser.add_argument("--num-samples", type=int, default=10_000)
    parser.add_argument("--every", type=int, default=1, help="evaluate every N-th epoch (and the last)")
    parser.add_argument("--also-live", action="store_true", help="also evaluate without the moving averages")
    parser.add_argument("--out", type=Path, default=None, help="write the curve as JSON lines here")
    parser.add_argument("--root", type=Path, default=None, help="run root (default: a temporary folder)")
    parser.add_argument("--label", default=None, help="the rows' name for this run (default: the model's)")
    cut = sys.argv.index("--") if "--" in sys.argv else len(sys.argv)
    own, fit_args = sys.argv[1:cut], sys.argv[cut + 1 :]
    args = parser.parse_args(own)

    from genzoo.cli import main as genzoo_main
    from genzoo.metrics.evaluation import EvalSettings, Evaluator

    root = args.root or Path(tempfile.mkdtemp(prefix="genzoo-curve-"))
    extra = root / "checkpoint_every_epoch.yaml"
    root.mkdir(parents=True, exist_ok=True)
    extra.write_text(CHECKPOINT_EVERY_EPOCH)
    argv = ["fit", "--model", args.model]
    for config in args.config:
        argv += ["--config", config]
    argv += ["--config", str(extra), "--trainer.default_root_dir", str(root), "--test_after_fit", "false"]
    argv += fit_args
    code = genzoo_main(argv)
    if code:
        sys.exit(code)
    runs = [p for p in root.glob("*/version_*") if (p / "metrics.csv").exists()]
    run_dir = max(runs, key=lambda p: p.stat().st_mtime)
    wall, cpu = seconds_by_epoch(run_dir, "train_seconds"), seconds_by_epoch(run_dir, "cpu_seconds")
    checkpoints = sorted((run_dir / "checkpoints").glob("epoch=*.ckpt"), key=lambda p: int(p.stem.split("=")[1]))
    last = len(checkpoints) - 1
    chosen = [c for i, c in enumerate(checkpoints) if (i + 1) % args.every == 0 or i == last]
    evaluator = Evaluator(EvalSettings(num_samples=args.num_samples, metrics=("sample_quality", "coverage")))
    variants = [(c, "") for c in chosen] + ([(without_averages(c), "live") for c in chosen] if args.also_live else [])
    for ckpt, variant in variants:
        epoch = int(ckpt.stem.split("=")[1].removesuffix("-live"))
        result = evaluator.evaluate(ckpt)
        _, quality = measured(result["sample_quality"])
        row = {
            "model": (args.label or args.model) + (f" ({variant})" if variant else ""), "epoch": epoch + 1,
            "train_seconds": round(wall.get(epoch, float("nan")), 1),
            "cpu_seconds": round(cpu.get(epoch, float("nan")), 1),
            "fid": round(quality["fid"], 2), "precision": round(quality["precision"], 3),
            "recall": round(quality["recall"], 3), "entropy": round(result["coverage"]["entropy"], 3),
            "run": str(run_dir),
        }  # fmt: skip
        print(json.dumps(row), flush=True)
        if args.out:
            with open(args.out, "a") as f:
                f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
