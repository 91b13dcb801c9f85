"""Run the same short 2-process DDP training many times and report every run that did not exit cleanly.

Intermittent failures under DDP (a rank aborting at start-up or teardown, a hang in a collective) show up
once in several runs, so one green run proves little. This script repeats one command line and tallies exit
codes, with the end of stderr of each failure. Not part of the test suite (minutes of CPU).

    python experiments/stress_ddp.py --runs 20 --model alae --batches 20
    python experiments/stress_ddp.py --runs 10 --model alae -- --trainer.strategy ddp_spawn
"""

from __future__ import annotations

import argparse
import collections
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def describe(code: int) -> str:
    if code < 0:
        return f"killed by {signal.Signals(-code).name}"
    if code > 128 and code - 128 in signal.Signals.__members__.values():
        return f"exit {code} ({signal.Signals(code - 128).name})"
    return f"exit {code}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--model", default="alae")
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument("extra", nargs="*", help="more genzoo fit flags (after --)")
    args = parser.parse_args()
    tally: collections.Counter[str] = collections.Counter()
    started = time.monotonic()
    for run in range(args.runs):
        with tempfile.TemporaryDirectory() as root:
            command = [
                sys.executable, "-m", "genzoo.cli", "fit", "--model", args.model,
                "--trainer.accelerator", "cpu", "--trainer.devices", "2", "--trainer.max_epochs", "1",
                "--trainer.limit_train_batches", str(args.batches), "--trainer.limit_val_batches", "2",
                "--trainer.limit_test_batches", "2", "--trainer.enable_progress_bar", "false",
                "--trainer.default_root_dir", root, *args.extra,
            ]  # fmt: skip
            env = {**os.environ, "MASTER_PORT": str(free_port())}
            try:
                result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=args.timeout)
                outcome = describe(result.returncode)
            except subprocess.TimeoutExpired as err:
                result, outcome = err, "timeout (hang)"
            tally[outcome] += 1
            print(f"run {run + 1}/{args.runs}: {outcome}", flush=True)
            if outcome != "exit 0":
                stderr = result.stderr or b""
                stderr = stderr.decode() if isinstance(stderr, bytes) else stderr
                print("  " + "\n  ".join(stderr.strip().splitlines()[-15:]), flush=True)
    print(f"{args.runs} runs of {args.model} in {time.monotonic() - started:.0f} s: {dict(tally)}")
    return 0 if set(tally) == {"exit 0"} else 1


if __name__ == "__main__":
    sys.exit(main())
