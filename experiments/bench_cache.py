"""How much the decoded-image cache saves: second-epoch load time of a 2,000-image CelebA set.

Three loaders over the same images, same batch size, same DataLoader settings, measured side by side in
one process (epoch 1 warms up, epoch 2 is timed), each ending in float images in [0, 1]:

- ``cache``: genzoo's CelebA datamodule (memory-mapped uint8 cache, whole batches per fetch);
- ``decode``: decode every JPEG each time with the very function that builds the cache (PIL with JPEG
  draft-mode downscaling, crop, resize): what "no cache" would cost in genzoo;
- ``torchvision``: the usual torchvision pipeline (PIL open, CenterCrop, Resize, ToTensor per image).

One intra-op thread (``torch.set_num_threads(1)``) throughout, so that neither side is slowed by threads
contending with other jobs. Images: the real CelebA sample in ../shared/data when present (its first N
files, linked into a temporary layout), else N generated 178x218 JPEGs.
Usage: ``python experiments/bench_cache.py [--images 2000]``.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset

from genzoo.datamodules.cache import DecodeSpec, decode_image
from genzoo.datamodules.celeba import CelebADataModule

SHARED_CELEBA = Path(__file__).resolve().parents[2] / "shared" / "data" / "celeba_sample"


def make_layout(folder: Path, n: int) -> str:
    """A CelebA layout of n images under folder/celeba; returns where the images came from."""
    images = folder / "celeba" / "img_align_celeba"
    images.mkdir(parents=True)
    if SHARED_CELEBA.is_dir() and len(os.listdir(SHARED_CELEBA / "img_align_celeba")) >= n:
        names = sorted(os.listdir(SHARED_CELEBA / "img_align_celeba"))[:n]
        for name in names:
            os.symlink(SHARED_CELEBA / "img_align_celeba" / name, images / name)
        source = f"the first {n} images of {SHARED_CELEBA}"
    else:
        rng = np.random.default_rng(0)
        names = [f"{i:06d}.jpg" for i in range(1, n + 1)]
        for name in names:
            # smooth colour fields plus noise: JPEGs of a realistic size (about 10 KB)
            base = rng.integers(0, 255, (7, 6, 3), dtype=np.uint8)
            field = np.asarray(Image.fromarray(base).resize((178, 218), Image.Resampling.BICUBIC), dtype=np.int16)
            noisy = np.clip(field + rng.integers(-12, 12, field.shape), 0, 255).astype(np.uint8)
            Image.fromarray(noisy).save(images / name, quality=90)
        source = f"{n} generated 178x218 JPEGs"
    (folder / "celeba" / "list_eval_partition.txt").write_text("".join(f"{name} 0\n" for name in names))
    return source


class DecodeEachTime(Dataset):
    """Decodes the JPEG on every access (what a loader without the cache does)."""

    def __init__(self, files: list[Path], spec: DecodeSpec) -> None:
        self.files, self.spec = files, spec

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        return torch.from_numpy(decode_image(self.files[i], self.spec)), -1


class TorchvisionFolder(Dataset):
    """The common torchvision recipe: PIL open, CenterCrop, Resize, ToTensor, per image."""

    def __init__(self, files: list[Path], crop: int, size: int) -> None:
        from torchvision import transforms

        self.files = files
        self.transform = transforms.Compose(
            [transforms.CenterCrop(crop), transforms.Resize(size), transforms.ToTensor()]
        )

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        with Image.open(self.files[i]) as im:
            return self.transform(im.convert("RGB")), -1


def epoch_seconds(loader: DataLoader, to_float) -> float:
    start = time.perf_counter()
    count = 0
    for x, _ in loader:
        count += len(to_float(x))
    assert count == len(loader.dataset) - len(loader.dataset) % loader.batch_size
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--size", type=int, default=64, choices=(32, 64, 128))
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this file")
    args = parser.parse_args()
    torch.manual_seed(0)
    # One intra-op thread for every loader: decoding is single-threaded anyway, and on a small shared machine
    # OpenMP threads spinning against other jobs made the cache's float conversion several times slower.
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        source = make_layout(folder, args.images)
        dm = CelebADataModule(str(folder), size=args.size, cache_dir=str(folder / "cache"), batch_size=args.batch_size)
        start = time.perf_counter()
        dm.prepare_data()
        dm.setup("fit")
        build = time.perf_counter() - start
        files = sorted((folder / "celeba" / "img_align_celeba").iterdir())
        spec = dm.spec

        def float_images(x: torch.Tensor) -> torch.Tensor:
            return x.float().div_(255.0) if x.dtype == torch.uint8 else x

        loaders = {
            "cache": dm.train_dataloader(),
            "decode": DataLoader(DecodeEachTime(files, spec), args.batch_size, shuffle=True, drop_last=True),
            "torchvision": DataLoader(
                TorchvisionFolder(files, spec.crop, spec.size), args.batch_size, shuffle=True, drop_last=True
            ),
        }
        seconds = {}
        for name, loader in loaders.items():
            epoch_seconds(loader, float_images)  # epoch 1: warm-up (page cache, allocator)
            seconds[name] = epoch_seconds(loader, float_images)  # epoch 2: timed
    ratio = seconds["decode"] / seconds["cache"]
    print(f"images: {source}; {args.size}x{args.size}, batch {args.batch_size}")
    print(f"cache build (once): {build:.1f} s")
    for name, s in seconds.items():
        print(f"second epoch, {name:<12} {s:8.3f} s  ({args.images / s:10,.0f} images/s)")
    print(f"ratio decode / cache: {ratio:.0f}x; torchvision / cache: {seconds['torchvision'] / seconds['cache']:.0f}x")
    if args.json:
        args.json.write_text(json.dumps({"source": source, "build_s": build, "epoch2_s": seconds, "ratio": ratio}))


if __name__ == "__main__":
    main()
