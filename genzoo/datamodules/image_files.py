"""The base of the datamodules that read image files (CelebA, anime faces, any folder) through the cache.

``cache.py`` decodes the files once into a memory-mapped array; this module builds or reuses that cache
for a dataset's index of files and serves its splits as views of it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from pytorch_lightning.utilities import rank_zero_info

from genzoo.datamodules.base import InMemoryImageDataModule, TensorImageDataset
from genzoo.datamodules.cache import (
    SPLITS,
    BadImages,
    DecodeSpec,
    ImageCache,
    ImageIndex,
    default_cache_dir,
    file_fingerprint,
)
from genzoo.errors import GenzooError
from genzoo.ranges import ImageSide, NonNegativeInteger, PositiveInteger


class CachedImageDataModule(InMemoryImageDataModule):
    """Base of the datamodules that read image files (CelebA, anime faces, any folder) through the cache.

    Subclasses implement ``build_index`` (which files, which split, which labels) and ``data_folder``; this
    class builds or reuses the cache, cuts the splits as views of the memory map, keeps only labelled
    images when ``labelled_only`` is set, and prints how many images of each kind are used.
    """

    name = "images"

    def __init__(
        self,
        root: str | None = None,
        batch_size: PositiveInteger = 128,
        num_workers: NonNegativeInteger = 0,
        size: ImageSide = 64,
        crop: PositiveInteger | None = None,
        channels: Literal[1, 3] = 3,
        cache_dir: str | None = None,
        bad_images: BadImages = "stop",
        labelled_only: bool | None = None,
        decode_workers: NonNegativeInteger | None = None,
    ) -> None:
        super().__init__(root, batch_size, num_workers)
        self.spec = DecodeSpec(size, crop, channels)
        self.image_shape = (channels, size, size)
        self.cache_dir = Path(cache_dir) if cache_dir else None
        self.bad_images = bad_images
        self.labelled_only = bool(labelled_only)
        self.decode_workers = decode_workers if decode_workers is not None else min(8, os.cpu_count() or 1)
        self._index: ImageIndex | None = None
        self._cache: ImageCache | None = None
        self._notes_extra: list[str] = []  # what setup() decided, for the summary
        self.counts: dict[str, int] = {}
        self.names: dict[str, list[str]] = {}  # split -> file name of each row, after setup()

    # ----- what subclasses provide ----------------------------------------------------------------
    def data_folder(self) -> Path:
        """The folder the images live in (the default cache goes beside it)."""
        raise NotImplementedError

    def build_index(self) -> ImageIndex:
        """Scan files and annotations; raise GenzooError naming any missing or inconsistent file."""
        raise NotImplementedError

    # ----- shared machinery ---------------------------------------------------------------------
    def index(self) -> ImageIndex:
        if self._index is None:
            index = self.build_index().ordered()
            if not index.files:
                raise GenzooError(f"{self.name}: no images found in {self.data_folder()}")
            self._index = index
        return self._index

    def cache(self) -> ImageCache:
        if self._cache is None:  # the fingerprint stats every file: once per datamodule is enough
            index = self.index()
            folder = self.cache_dir or default_cache_dir(self.data_folder())
            fingerprint = file_fingerprint(index.files, index.names, self.spec)
            self._cache = ImageCache(folder, f"{self.name}-{self.spec.tag}-{fingerprint}")
        return self._cache

    def prepare_data(self) -> None:
        # One process per node (Lightning calls it on local rank 0): build the cache if no process has yet;
        # setup() then maps it, and the ranks of a node share its pages.
        self.cache().ensure(self.index().files, self.index().names, self.spec, self.bad_images, self.decode_workers)

    def setup(self, stage: str | None = None) -> None:
        if self.splits:
            return
        cache = self.cache()
        if cache.read_index() is None:  # setup() without prepare_data(), as in a notebook
            self.prepare_data()
        images, names = cache.load()
        index = self.index()
        position = {name: i for i, name in enumerate(index.names)}
        rows = np.array([position[n] for n in names], dtype=np.int64)  # cache row -> index row (skips removed)
        splits = np.array(index.splits)[rows]
        labels = index.labels[rows]
        unlabelled = index.unlabelled_mask()[rows]
        ranges = self._split_ranges(splits, unlabelled)
        for split, (a, b) in ranges.items():
            # a slice of the memory-mapped tensor is a view: nothing is copied into memory
            self.splits[split] = TensorImageDataset(images[a:b], torch.from_numpy(labels[a:b]))
            self.names[split] = names[a:b]
        self.counts = {
            "images": len(names),
            "labelled": int((~unlabelled).sum()),
            **{f"{s}_images": int((splits == s).sum()) for s in SPLITS},
            **{f"{s}_used": b - a for s, (a, b) in ranges.items()},
        }
        rank_zero_info(self.summary(splits, unlabelled, ranges))

    def _split_ranges(self, splits: np.ndarray, unlabelled: np.ndarray) -> dict[str, tuple[int, int]]:
        """Row ranges [a, b) of each split; with ``labelled_only``, of its labelled images only.

        When a split has no labelled image at all (CelebA samples whose attributes cover only training
        images), labelled-only val and test are held out of the labelled training images: 5% each.
        """
        ranges = {}
        for s in SPLITS:
            where = np.flatnonzero(splits == s)
            a, b = (int(where[0]), int(where[-1]) + 1) if len(where) else (0, 0)
            if self.labelled_only:
                b = a + int((~unlabelled[a:b]).sum())  # labelled rows come first inside each split
            ranges[s] = (a, b)
        if self.labelled_only:
            a, b = ranges["train"]
            if b == a:
                raise GenzooError(
                    f"{self.name}: this model needs labels but none of the training images has one; {self.label_hint()}"
                )
            k = max(1, (b - a) // 20)
            for s in ("val", "test"):  # carve from the end of the labelled training rows
                if ranges[s][1] == ranges[s][0]:
                    a, b = ranges["train"]
                    if b - k <= a:
                        raise GenzooError(f"{self.name}: too few labelled images to hold out a {s} split")
                    ranges[s], ranges["train"] = (b - k, b), (a, b - k)
                    self._notes_extra.append(f"{s}: {k} labelled images held out of train (the {s} split has none)")
        return ranges

    def label_hint(self) -> str:
        """What to do when labels are missing (subclasses say which file to add)."""
        return "use a dataset with labels"

    def summary(self, splits: np.ndarray, unlabelled: np.ndarray, ranges: dict[str, tuple[int, int]]) -> str:
        n, labelled = len(splits), int((~unlabelled).sum())
        per_split = " / ".join(f"{s} {int((splits == s).sum()):,}" for s in SPLITS)
        lines = [f"{self.name}: {n:,} images from {self.data_folder()} ({per_split})"]
        lines[0] += f"; {labelled:,} labelled" if self.num_classes else ", unlabelled"
        lines += [f"  {note}" for note in self.index().notes]
        train_all = int((splits == "train").sum())
        train_lab = int((~unlabelled[splits == "train"]).sum())
        used = ranges["train"][1] - ranges["train"][0]
        if self.labelled_only:
            lines.append(
                f"  training on {used:,} labelled images (labelled_only: the model needs labels); "
                f"{train_all - train_lab:,} unlabelled training images not used"
            )
        elif self.num_classes:
            lines.append(
                f"  training on all {used:,} training images ({train_lab:,} labelled, {used - train_lab:,} not)"
            )
        lines += [f"  {note}" for note in self._notes_extra]
        lines.append(
            "  used: " + " / ".join(f"{s} {ranges[s][1] - ranges[s][0]:,}" for s in SPLITS) + f" ({self.spec.tag})"
        )
        return "\n".join(lines)
