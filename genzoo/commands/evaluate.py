"""``genzoo eval --ckpt PATH``: the same metrics for every model, as JSON with a protocol card.

Prints the result and writes it beside the checkpoint (``<checkpoint>.eval.json``, or ``--out``),
atomically. The data defaults to what the run recorded in its config.yaml, else MNIST. See
docs/metrics.md for what each number means.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from genzoo.atomic import write_json_atomic
from genzoo.checks import check_output_file
from genzoo.commands.args import CKPT_HELP, CommandParser, positive_int
from genzoo.errors import GenzooError
from genzoo.exported import read_saved, weights_file

SPLITS = ("train", "val", "test")
DEVICES = ("auto", "cpu", "cuda")


def name_list(text: str) -> list[str]:
    names = [part.strip() for part in text.split(",") if part.strip()]
    if not names:
        raise argparse.ArgumentTypeError(f"expected a comma-separated list of names, got {text!r}")
    return names


def resolve_device(choice: str) -> str:
    import torch

    if choice == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if choice == "cuda" and not torch.cuda.is_available():
        raise GenzooError("--device cuda: no CUDA device is available here; use --device cpu")
    return choice


def add_eval_arguments(parser: argparse.ArgumentParser) -> None:
    """The evaluation options, shared by ``genzoo eval`` and ``genzoo bench``."""
    from genzoo.metrics import METRIC_GROUPS

    parser.add_argument("--num-samples", type=positive_int, default=10_000, help="generated images (default 10000)")
    parser.add_argument("--seed", type=int, default=0, help="seed of samples, KID subsets, probe subset (default 0)")
    parser.add_argument("--split", choices=SPLITS, default="test", help="held-out reference split (default test)")
    parser.add_argument("--reference-size", type=positive_int, default=None, help="first N images of the split only")
    parser.add_argument(
        "--extractors", type=name_list, default=None,
        help="feature extractors, comma-separated: mnist_classifier, face_features, inception (default: the data's)",
    )  # fmt: skip
    parser.add_argument(
        "--metrics", type=name_list, default=list(METRIC_GROUPS),
        help=f"metric groups, comma-separated, from {', '.join(METRIC_GROUPS)} (default all)",
    )  # fmt: skip
    parser.add_argument("--probe-train-size", type=positive_int, default=None, help="training codes for the probe")
    parser.add_argument("--kid-subsets", type=positive_int, default=100, help="KID: random subsets (default 100)")
    parser.add_argument("--kid-subset-size", type=positive_int, default=1000, help="KID: subset size (default 1000)")
    parser.add_argument("--pr-k", type=positive_int, default=3, help="precision/recall: neighbours (default 3)")
    parser.add_argument("--inception-weights", default=None, help="local file with FID's Inception-v3 weights")
    parser.add_argument("--no-download", action="store_true", help="never download extractor weights")
    parser.add_argument("--batch-size", type=positive_int, default=500, help="images per forward pass")
    parser.add_argument("--device", choices=DEVICES, default="auto", help="where to run (default auto)")


def eval_settings(args: argparse.Namespace) -> Any:
    from genzoo.metrics import METRIC_GROUPS
    from genzoo.metrics.evaluation import EvalSettings
    from genzoo.metrics.features import EXTRACTORS

    unknown = [m for m in args.metrics if m not in METRIC_GROUPS]
    if unknown:
        raise GenzooError(f"--metrics: unknown group(s) {', '.join(unknown)}; choose from {', '.join(METRIC_GROUPS)}")
    for name in args.extractors or []:
        EXTRACTORS.get(name)  # an unknown name fails here, listing the known ones
    return EvalSettings(
        num_samples=args.num_samples,
        seed=args.seed,
        split=args.split,
        reference_size=args.reference_size,
        extractors=args.extractors,
        metrics=tuple(args.metrics),
        probe_train_size=args.probe_train_size,
        kid_subsets=args.kid_subsets,
        kid_subset_size=args.kid_subset_size,
        pr_k=args.pr_k,
        inception_weights=args.inception_weights,
        download=not args.no_download,
        batch_size=args.batch_size,
        device=resolve_device(args.device),
    )


def evaluate_command(argv: list[str]) -> int:
    parser = CommandParser(prog="genzoo eval", description="Evaluate a checkpoint: every metric, as JSON.")
    parser.add_argument("--ckpt", required=True, type=Path, help=CKPT_HELP)
    parser.add_argument("--data", default=None, help="dataset name (default: the run's own data, else mnist)")
    parser.add_argument(
        "--data.root", dest="data_root", default=None, help="folder holding the dataset (default: the run's own)"
    )
    # Another spelling of --data.root, accepted with a note that names the one every command shares.
    parser.add_argument("--data-root", dest="old_data_root", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=None, help="JSON file (default: <checkpoint>.eval.json)")
    parser.add_argument("--samples-png", type=Path, default=None, help="also save 64 of the samples as a PNG grid")
    add_eval_arguments(parser)
    args = parser.parse_args(argv)
    if args.old_data_root is not None:
        print("genzoo eval: --data-root is deprecated; use --data.root, as every other command", file=sys.stderr)
        args.data_root = args.data_root or args.old_data_root
    if not args.ckpt.exists():
        raise GenzooError(f"checkpoint {args.ckpt} does not exist; give the path of a .ckpt file from a run folder")
    # The outputs first (before the checkpoint is read, and before minutes of computing), then the checkpoint.
    if args.out is not None:
        check_output_file(args.out, "--out")
    if args.samples_png is not None:
        check_output_file(args.samples_png, "--samples-png", (".png",))
    read_saved(args.ckpt)  # refused at once, not after the evaluator's imports (which read it again)
    args.ckpt = weights_file(args.ckpt)  # an exported folder: its model.safetensors is what is measured
    out = args.out or args.ckpt.with_suffix(".eval.json")
    if args.out is None:
        check_output_file(out, "--out")
    settings = eval_settings(args)

    from genzoo.metrics.evaluation import Evaluator

    evaluator = Evaluator(settings, log=lambda message: print(message, file=sys.stderr, flush=True))
    result = evaluator.evaluate(args.ckpt, args.data, args.data_root, args.samples_png)
    write_json_atomic(result, out)
    print(json.dumps(result, indent=2))
    print(f"wrote {out}", file=sys.stderr)
    return 0
