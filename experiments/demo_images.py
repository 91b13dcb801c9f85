"""Collect the demo run's final pictures in one place.

    python experiments/demo_images.py runs/demo/vae-mnist [--readme docs/images/demo_vae.png]

Takes the newest run folder under the given path, writes 64 fresh samples from its checkpoint with
`genzoo sample`, copies the last epoch's reconstruction and interpolation grids beside them, and prints
where they are. ``--readme PATH`` also writes the README's picture: samples and reconstructions side by
side, scaled up 2x.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from PIL import Image

from genzoo.cli import main as genzoo


def newest_run(parent: Path) -> Path:
    runs = sorted(parent.glob("version_*"), key=lambda p: int(p.name.split("_")[1]))
    if not runs:
        raise SystemExit(f"no run folders under {parent}; run `make demo` or `genzoo fit` first")
    return runs[-1]


def side_by_side(left: Path, right: Path, out: Path, gap: int = 8, scale: int = 2) -> None:
    """Two grids next to each other on a white background, top-aligned, scaled up for the README."""
    a, b = Image.open(left).convert("RGB"), Image.open(right).convert("RGB")
    canvas = Image.new("RGB", (a.width + gap + b.width, max(a.height, b.height)), "white")
    canvas.paste(a, (0, 0))
    canvas.paste(b, (a.width + gap, 0))
    out.parent.mkdir(parents=True, exist_ok=True)
    canvas.resize((canvas.width * scale, canvas.height * scale), Image.NEAREST).save(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="?", default="runs/demo/vae-mnist", help="folder holding version_N runs")
    parser.add_argument("--readme", type=Path, help="also write samples | reconstructions here")
    args = parser.parse_args()
    parent = Path(args.runs)
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
    if args.readme:
        side_by_side(out / "samples.png", out / "reconstructions.png", args.readme)
        print(f"  {args.readme}")
    print(f"run folder (config, checkpoint, metrics, per-epoch grids): {run}")


if __name__ == "__main__":
    main()
