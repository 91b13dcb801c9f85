"""``genzoo bench``: train several models under one budget, evaluate them, write a comparison table.

    genzoo bench --suite experiments/suites/mnist_cpu.yaml          # the CPU-sized MNIST suite
    genzoo bench --models ae,vae --data mnist --seeds 0,1 --max-time 60 --out results/mine

A suite file (YAML) holds the same settings as the flags; flags given on the command line win. Rerunning
the same command resumes a half-finished benchmark. See genzoo/bench/ and docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import fields
from pathlib import Path
from typing import Any

from genzoo.checks import check_output_folder
from genzoo.commands.args import CommandParser
from genzoo.commands.evaluate import add_eval_arguments, eval_settings, name_list
from genzoo.errors import GenzooError

SUITE_KEYS = ("data", "models", "seeds", "max_epochs", "max_time_s", "data_args", "model_args", "trainer_args")
SUITE_KEYS += ("recipe", "eval", "out")
# Evaluation flags that default to "not given" here, so a suite's ``eval:`` values apply unless overridden.
EVAL_DESTS = ("num_samples", "split", "reference_size", "extractors", "metrics", "probe_train_size")
EVAL_DESTS += ("inception_weights", "kid_subsets", "kid_subset_size", "pr_k")
EVAL_DESTS += ("batch_size", "device", "seed")


def seed_list(text: str) -> list[int]:
    try:
        return [int(part) for part in name_list(text)]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated whole numbers, got {text!r}") from None


def limit(text: str) -> int | None:
    """A budget: a whole number of at least 1, or 0 for "no limit" (None)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be at least 0 (0: no limit), got {value}")
    return value or None


def load_suite(path: Path) -> dict[str, Any]:
    """A suite file's settings, checked for unknown keys."""
    import yaml

    if not path.is_file():
        raise GenzooError(f"suite file {path} does not exist; see experiments/suites/ for examples")
    try:
        suite = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise GenzooError(f"suite file {path} is not valid YAML ({str(err).splitlines()[0]})") from None
    if not suite:  # an empty file is a mistake, not a request for the whole default suite
        raise GenzooError(f"suite file {path} is empty; give at least one setting, e.g. 'models: [ae, vae]'")
    if not isinstance(suite, dict):
        raise GenzooError(f"suite file {path} must be a mapping of settings, e.g. 'data: mnist'")
    unknown = sorted(set(suite) - set(SUITE_KEYS))
    if unknown:
        raise GenzooError(f"suite file {path}: unknown key(s) {', '.join(unknown)}; known: {', '.join(SUITE_KEYS)}")
    return suite


def build_parser() -> CommandParser:
    parser = CommandParser(
        prog="genzoo bench",
        description="Train and evaluate several models; write a table.",
        epilog="Without --suite the defaults are the CPU-sized MNIST suite: seeds 0,1; --max-epochs 4 (full "
        "epochs); --max-time 100; evaluation with --num-samples 5000, --probe-train-size 10000, --kid-subsets 50 "
        "(the evaluation defaults listed above are genzoo eval's). Flags override a suite's values.",
    )
    parser.add_argument("--suite", type=Path, default=None, help="YAML file with the settings below")
    parser.add_argument("--models", type=name_list, default=None, help="comma-separated model names, or all")
    parser.add_argument("--data", default=None, help="dataset name (default mnist)")
    parser.add_argument("--seeds", type=seed_list, default=None, help="comma-separated seeds (default 0,1)")
    # SUPPRESS: absent unless given, so "0: no limit" (None) can override a suite's value.
    parser.add_argument("--max-epochs", type=limit, default=argparse.SUPPRESS, help="epochs per run (0: no limit)")
    parser.add_argument("--max-time", type=limit, default=argparse.SUPPRESS, help="seconds per run (0: no limit)")
    parser.add_argument("--out", type=Path, default=None, help="results folder (default results/bench-<data>)")
    parser.add_argument("--report-only", action="store_true", help="rewrite the reports from existing records")
    add_eval_arguments(parser)
    parser.set_defaults(**dict.fromkeys(EVAL_DESTS))
    return parser


def merged_eval_settings(args: argparse.Namespace, suite_eval: dict[str, Any]) -> Any:
    """Evaluation settings: the defaults, then the suite's ``eval:``, then the flags given."""
    from genzoo.bench.spec import BENCH_EVAL_DEFAULTS

    defaults = CommandParser(prog="genzoo bench")
    add_eval_arguments(defaults)
    merged = vars(defaults.parse_args([])) | BENCH_EVAL_DEFAULTS
    known = set(merged) | {"download"}
    unknown = sorted(set(suite_eval) - known)
    if unknown:
        raise GenzooError(f"suite eval: unknown setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    for key, value in suite_eval.items():
        if key == "download":
            merged["no_download"] = not value
        elif key in ("extractors", "metrics") and isinstance(value, str):
            merged[key] = name_list(value)
        else:
            merged[key] = value
    merged.update({k: v for k, v in vars(args).items() if k in EVAL_DESTS and v is not None})
    merged["no_download"] = merged["no_download"] or args.no_download
    return eval_settings(argparse.Namespace(**merged))


def bench_command(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    suite = load_suite(args.suite) if args.suite else {}
    out = args.out or (Path(suite["out"]) if suite.get("out") else None)
    if out is not None:
        check_output_folder(out)  # at once, before torch loads
    from genzoo.bench import Benchmark, BenchSpec

    spec_fields = {f.name for f in fields(BenchSpec)}
    values = {k: v for k, v in suite.items() if k in spec_fields and k != "eval"}
    if isinstance(values.get("models"), str):
        values["models"] = name_list(values["models"])
    for key in ("max_epochs", "max_time_s"):
        if values.get(key) == 0:
            values[key] = None  # 0 is "no limit" in a suite as on the command line, not a budget of nothing
    for key, flag in (("models", args.models), ("data", args.data), ("seeds", args.seeds)):
        if flag is not None:
            values[key] = flag
    if hasattr(args, "max_epochs"):
        values["max_epochs"] = args.max_epochs
    if hasattr(args, "max_time"):
        values["max_time_s"] = args.max_time
    try:
        spec = BenchSpec(**values, eval=merged_eval_settings(args, suite.get("eval") or {}))
    except TypeError as err:
        raise GenzooError(f"suite settings: {err}") from None
    if spec.max_epochs is None and spec.max_time_s is None:
        raise GenzooError("give a budget: --max-epochs N and/or --max-time SECONDS (suite: max_epochs, max_time_s)")
    if out is None:
        out = Path(f"results/bench-{spec.data}")
        check_output_folder(out)
    bench = Benchmark(spec, out)
    if args.report_only:
        from genzoo.bench.report import write_reports

        paths = write_reports(bench)
        print(f"rewrote {paths['table']}", file=sys.stderr)
        return 0
    print(f"benchmark of {', '.join(bench.models)} on {spec.data}, seeds {spec.seeds} -> {out}", file=sys.stderr)
    failures = bench.run()
    print((out / "table.md").read_text())
    if failures:
        print(f"genzoo bench: {len(failures)} run(s) failed: {', '.join(failures)}; rerun to retry", file=sys.stderr)
        return 1
    return 0
