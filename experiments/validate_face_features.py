"""Validate the face extractor as a user of FID would: real against real, degradations, trained models.

    OMP_NUM_THREADS=1 .venv/bin/python experiments/validate_face_features.py \\
        --celeba ../shared/data/celeba_sample --anime ../shared/data/anime_sample \\
        --checkpoints runs/gan-anime/version_0/checkpoints/*.ckpt --grids grids/ --out face_features_check.json

For each dataset and image side (``--sizes``), the reference is the held-out test split, and each row
is FID, KID, precision and recall (``face_features``) of one image set against it:

- real images: a subset of the training split (``--subset`` images) and the whole val split; these
  are the floor, what an ideal model would score;
- the same training subset blurred (Gaussian, several sigmas, in pixels of the data's side), with
  additive Gaussian noise (several standard deviations, on [0, 1] pixels), and collapsed onto k distinct
  images repeated to the subset's size; FID should rise monotonically along each;
- uniform noise images: the ceiling.

Every altered image is quantised to 8 bits, as generated samples are before evaluation. With
``--checkpoints``, each one is then measured by genzoo's evaluator exactly as ``genzoo eval`` would
(``--num-samples`` samples, the checkpoint's own data, Inception not downloaded), and with ``--grids``
64 of its samples are saved as a PNG grid to look at. The results print as Markdown tables and go to
``--out`` as JSON.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from torchvision.transforms.functional import gaussian_blur

from genzoo.datamodules.anime import AnimeDataModule
from genzoo.datamodules.celeba import CelebADataModule
from genzoo.metrics.evaluation import EvalSettings, Evaluator
from genzoo.metrics.features import build_extractor, extract
from genzoo.metrics.precision_recall import precision_recall
from genzoo.metrics.sample_quality import fid_kid
from genzoo.viz import to_uint8

BLUR_SIGMAS = (0.5, 1.0, 2.0, 4.0)
NOISE_STDS = (0.02, 0.05, 0.1, 0.2)
COLLAPSE_DISTINCT = (1000, 100, 10, 1)


def blur(images: torch.Tensor, sigma: float) -> torch.Tensor:
    kernel = 2 * math.ceil(3 * sigma) + 1
    return to_uint8(gaussian_blur(images.float() / 255, [kernel, kernel], [sigma, sigma]))


def noisy(images: torch.Tensor, std: float, generator: torch.Generator) -> torch.Tensor:
    x = images.float() / 255
    return to_uint8((x + std * torch.randn(x.shape, generator=generator)).clamp(0, 1))


def collapse(images: torch.Tensor, distinct: int) -> torch.Tensor:
    """The first ``distinct`` images, repeated in turn to as many images as before."""
    return images[torch.arange(len(images)) % distinct]


def score(extractor: Any, reference: torch.Tensor, images: torch.Tensor, kid_subsets: int) -> dict[str, float]:
    fake, _ = extract(extractor, images)
    numbers = {
        **fid_kid(reference, fake, kid_subsets, min(1000, len(reference), len(fake))),
        **precision_recall(reference, fake),
    }
    return {k: round(v, 4) for k, v in numbers.items()}


def degradations(images: torch.Tensor, val: torch.Tensor, seed: int) -> list[tuple[str, str, torch.Tensor]]:
    """(family, setting, images) rows: real floors, blur, noise, collapse, and uniform noise as the ceiling."""
    generator = torch.Generator().manual_seed(seed)
    rows = [("real", "train subset", images), ("real", "val split", val)]
    rows += [("blur", f"sigma {s:g} px", blur(images, s)) for s in BLUR_SIGMAS]
    rows += [("noise", f"std {s:g}", noisy(images, s, generator)) for s in NOISE_STDS]
    rows += [("collapse", f"{k} distinct", collapse(images, k)) for k in COLLAPSE_DISTINCT if k <= len(images)]
    rows.append(
        ("ceiling", "uniform noise", torch.randint(0, 256, images.shape, dtype=torch.uint8, generator=generator))
    )
    return rows


def monotonic(results: list[dict[str, Any]], family: str) -> bool:
    """Does FID rise at each step of the family, starting from the unaltered training subset?"""
    floor = next(r["fid"] for r in results if r["setting"] == "train subset")
    fids = [floor] + [r["fid"] for r in results if r["family"] == family]
    return all(b > a for a, b in zip(fids, fids[1:]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--celeba", required=True, help="CelebA root")
    parser.add_argument("--anime", required=True, help="anime faces root")
    parser.add_argument("--cache-dir", default=None, help="decoded-image cache (default: a temporary folder)")
    parser.add_argument(
        "--sizes", type=int, nargs="*", default=[64, 32], help="sides to check (none: only checkpoints)"
    )
    parser.add_argument("--subset", type=int, default=2000, help="training images per row")
    parser.add_argument("--kid-subsets", type=int, default=20)
    parser.add_argument("--checkpoints", type=Path, nargs="*", default=[])
    parser.add_argument("--num-samples", type=int, default=5000, help="samples per checkpoint")
    parser.add_argument("--grids", type=Path, default=None, help="folder for a PNG grid of each checkpoint's samples")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None, help="JSON file for all results")
    args = parser.parse_args()

    extractor = build_extractor("face_features")
    report: dict[str, Any] = {"extractor": extractor.describe(), "data": [], "checkpoints": []}
    with tempfile.TemporaryDirectory() as tmp:
        for kind, cls, root in (("celeba", CelebADataModule, args.celeba), ("anime", AnimeDataModule, args.anime)):
            for size in args.sizes:
                dm = cls(root=root, size=size, cache_dir=args.cache_dir or tmp)
                dm.prepare_data()
                dm.setup("fit")
                dm.setup("test")
                train, val, test = (dm.splits[s].images for s in ("train", "val", "test"))
                pick = torch.randperm(len(train), generator=torch.Generator().manual_seed(args.seed))[: args.subset]
                reference, _ = extract(extractor, test)
                start = time.perf_counter()
                results = []
                for family, setting, images in degradations(train[pick], val, args.seed):
                    results.append({"family": family, "setting": setting, "n": len(images)})
                    results[-1].update(score(extractor, reference, images, args.kid_subsets))
                checks = {f: monotonic(results, f) for f in ("blur", "noise", "collapse")}
                entry = {"data": kind, "size": size, "reference": f"test split ({len(test)} images)", "rows": results}
                report["data"].append({**entry, "monotonic": checks, "seconds": round(time.perf_counter() - start, 1)})
                print(f"\n{kind} {size}x{size}, against the test split ({len(test)} images); monotonic: {checks}")
                print("| images | n | FID | KID | precision | recall |\n| --- | --- | --- | --- | --- | --- |")
                for r in results:
                    print(
                        f"| {r['family']}: {r['setting']} | {r['n']} | {r['fid']:.2f} | {r['kid_mean']:.4f} "
                        f"| {r['precision']:.3f} | {r['recall']:.3f} |",
                        flush=True,
                    )

    if args.checkpoints:
        settings = EvalSettings(
            num_samples=args.num_samples, seed=args.seed, metrics=("sample_quality",), download=False
        )
        evaluator = Evaluator(settings, log=lambda message: print(message, file=sys.stderr, flush=True))
        print("\n| checkpoint | extractor | FID | KID | precision | recall |\n| --- | --- | --- | --- | --- | --- |")
        for checkpoint in args.checkpoints:
            grid = None
            if args.grids is not None:
                args.grids.mkdir(parents=True, exist_ok=True)
                grid = args.grids / f"{checkpoint.parent.parent.parent.name}_{checkpoint.stem}.png"
            result = evaluator.evaluate(checkpoint, samples_png=grid)
            measured = {k: v for k, v in result["sample_quality"].items() if "fid" in v}
            name, numbers = next(iter(measured.items()))
            report["checkpoints"].append(
                {
                    "checkpoint": str(checkpoint),
                    "grid": str(grid),
                    "extractors": result["protocol"]["extractors"],
                    name: numbers,
                }
            )
            print(
                f"| {checkpoint} | {name} | {numbers['fid']:.2f} | {numbers['kid_mean']:.4f} "
                f"| {numbers['precision']:.3f} | {numbers['recall']:.3f} |",
                flush=True,
            )
    if args.out is not None:
        args.out.write_text(json.dumps(report, indent=2) + "\n")
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
