"""Collect the demo run's final pictures in one place.

    python experiments/demo_images.py runs/demo/vae-mnist

Takes the newest run folder under the given path, writes 64 fresh samples from its checkpoint with
`genzoo sample`, copies the last epoch's reconstruction and interpolation grids beside them, and prints
where they are.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from genzoo.cli import main as genzoo


def newest_run(parent: Path) -> Path:
    runs = sorted(parent.glob("version_*"), key=lambda p: int(p.name.split("_")[1]))
    if not runs:
        raise SystemExit(f"no run folders under {parent}; run `make demo` or `genzoo fit` first")
    return runs[-1]


def main() -> None:
    parent = Path(sys.argv[1] if len(sys.argv) > 1 else "runs/demo/vae-mnist")
    run = newest_run(parent)
    out = parent.parent
    checkpoint = sorted((run / "checkpoints").glob("*.ckpt"))[-1]
    if genzoo(["sample", "--ckpt", str(checkpoint), "--num", "64", "--out", str(out / "samples.png")]) != 0:
        raise SystemExit("genzoo sample failed")
    for kind in ("reconstructions", "interpolations"):
        last = sorted((run / "images").glob(f"epoch*_{kind}.png"))[-1]
        shutil.copy(last, out / f"{kind}.png")
    print("demo pictures:")
    for name in ("samples", "reconstructions", "interpolations"):
        print(f"  {out / (name + '.png')}")
    print(f"run folder (config, checkpoint, metrics, per-epoch grids): {run}")


if __name__ == "__main__":
    main()
