"""Data at scale: the decode cache's build time, and the memory of DDP ranks that share it.

Makes a folder of N synthetic 64x64 RGB images (PNG; smooth gradients and a disc, so they compress as
photos do, not as noise), builds genzoo's decode cache of it once (timed: images per second), then trains a
small model for one epoch (a) in one process and (b) as 2 DDP ranks on this machine, sampling the memory of
every training process twice a second. Memory is reported as the peak of the sum over processes of PSS (the
proportional set size: a page shared by two processes counts half in each) and of RSS (which counts shared
pages fully in each). The cache is memory-mapped, so ranks of a node share its pages instead of each
holding a copy: the 2-rank PSS total should stay well under twice the one-process figure.

    python experiments/bench_data_scale.py --images 100000 --work /tmp/scale

Results go to docs/data.md by hand (with the date and the machine); not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
from PIL import Image


def make_images(folder: Path, count: int, size: int = 64) -> None:
    """``count`` PNG files under ``folder`` (in subfolders of 1,000), made once: an existing set is kept."""
    done = folder / ".complete"
    if done.exists() and int(done.read_text()) == count:
        return
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:size, 0:size] / size
    for i in range(count):
        a, b, c = rng.random(3)
        base = np.stack([a * xx + (1 - a) * yy, b * yy, c * (1 - xx)], axis=-1)
        cx, cy, r = rng.random(3) * [size, size, size / 3]
        disc = ((np.arange(size)[None, :] - cx) ** 2 + (np.arange(size)[:, None] - cy) ** 2) < r**2
        base[disc] = rng.random(3)
        sub = folder / f"{i // 1000:04d}"
        sub.mkdir(parents=True, exist_ok=True)
        Image.fromarray((base * 255).astype(np.uint8)).save(sub / f"{i:06d}.png")
    done.write_text(str(count))


def tree(pid: int) -> list[int]:
    """pid and all its descendants."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            children = Path(f"/proc/{p}/task/{p}/children").read_text().split()
        except OSError:
            children = []
        todo.extend(int(c) for c in children)
    return out


def memory_kib(pid: int, mapped: str) -> dict[str, int]:
    """PSS and RSS of a process in KiB, in all and in the mappings of the file ``mapped`` (the cache)."""
    totals = {"pss": 0, "rss": 0, "cache_pss": 0, "cache_rss": 0}
    try:
        lines = Path(f"/proc/{pid}/smaps").read_text().splitlines()
    except OSError:
        return totals
    in_cache = False
    for line in lines:
        head = line.split()
        if head and "-" in head[0] and ":" not in head[0]:  # a mapping's header: address range ... path
            in_cache = len(head) >= 6 and head[-1].endswith(mapped)
        elif line.startswith(("Pss:", "Rss:")):
            kind, value = line[:3].lower(), int(head[1])
            totals[kind] += value
            if in_cache:
                totals[f"cache_{kind}"] += value
    return totals


def python_processes(pid: int) -> list[int]:
    found = []
    for p in tree(pid):
        try:
            if "python" in Path(f"/proc/{p}/cmdline").read_bytes().split(b"\0")[0].decode():
                found.append(p)
        except OSError:
            pass
    return found


def run_sampled(command: list[str], env: dict[str, str], mapped: str) -> dict[str, float]:
    """Run ``command``; the peak over time of its Python processes' summed memory (MiB) and its wall time."""
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    peak: dict[str, float] = {"pss_mib": 0.0, "rss_mib": 0.0, "cache_pss_mib": 0.0, "cache_rss_mib": 0.0}
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            mem = [memory_kib(p, mapped) for p in python_processes(proc.pid)]
            for key in ("pss", "rss", "cache_pss", "cache_rss"):
                peak[f"{key}_mib"] = max(peak[f"{key}_mib"], sum(m[key] for m in mem) / 1024)
            time.sleep(0.5)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    start = time.perf_counter()
    _, err = proc.communicate()
    stop.set()
    thread.join()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{err[-3000:]}")
    return {**{k: round(v, 1) for k, v in peak.items()}, "seconds": round(time.perf_counter() - start, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=100_000)
    parser.add_argument("--work", type=Path, default=Path("/tmp/genzoo-scale"))
    parser.add_argument("--batches", type=int, default=0, help="training batches per rank (0: the whole epoch)")
    args = parser.parse_args()
    folder, cache = args.work / "images", args.work / "cache"
    start = time.perf_counter()
    make_images(folder, args.images)
    print(f"made {args.images:,} images in {time.perf_counter() - start:.0f} s", flush=True)

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from genzoo.registry import DATAMODULES

    data = DATAMODULES.get("folder")(root=str(folder), cache_dir=str(cache), size=64)
    start = time.perf_counter()
    data.prepare_data()  # decodes every image once (or finds the cache built)
    build = time.perf_counter() - start
    print(f"cache built in {build:.1f} s: {build / args.images * 10_000:.1f} s per 10,000 images", flush=True)

    fit = [
        sys.executable, "-m", "genzoo.cli", "fit", "--model", "ae", "--model.hidden_dims", "[64]",
        "--data", "folder", "--data.root", str(folder), "--data.cache_dir", str(cache), "--data.size", "64",
        "--data.batch_size", "256", "--trainer.max_epochs", "1", "--trainer.limit_val_batches", "0",
        "--trainer.enable_progress_bar", "false", "--trainer.enable_checkpointing", "false",
        "--test_after_fit", "false", "--trainer.default_root_dir", str(args.work / "runs"),
        "--trainer.accelerator", "cpu",
    ]  # fmt: skip
    if args.batches:
        fit += ["--trainer.limit_train_batches", str(args.batches)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    array = next(cache.glob("*.npy"))
    one = run_sampled([*fit, "--trainer.devices", "1"], env, array.name)
    two = run_sampled([*fit, "--trainer.devices", "2"], env, array.name)
    result = {"images": args.images, "cache_build_s": round(build, 1),
              "build_s_per_10k": round(build / args.images * 10_000, 2),
              "cache_mib": round(array.stat().st_size / 2**20, 1),
              "one_process": one, "two_ranks": two,
              "pss_ratio_two_over_one": round(two["pss_mib"] / one["pss_mib"], 2),
              "cache_pss_ratio": round(two["cache_pss_mib"] / max(one["cache_pss_mib"], 1e-9), 2),
              "cache_rss_ratio": round(two["cache_rss_mib"] / max(one["cache_rss_mib"], 1e-9), 2)}  # fmt: skip
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
