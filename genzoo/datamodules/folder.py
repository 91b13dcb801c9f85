"""Any folder of images (JPEG, PNG, ...), optionally one class per subfolder.

Images are found recursively, center-cropped to a square, resized and decoded once into the cache
(``genzoo.datamodules.cache``). The split is stable: each file goes to val or test by a hash of its path,
so adding images later never moves the old ones between splits.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Literal

import numpy as np

from genzoo.datamodules.cache import BadImages, ImageIndex, list_image_files
from genzoo.datamodules.image_files import CachedImageDataModule
from genzoo.errors import GenzooError
from genzoo.ranges import Fraction, ImageSide, NonNegativeInteger, PositiveInteger


def hash_split(name: str, val_fraction: float, test_fraction: float) -> str:
    """'train', 'val' or 'test' for a file name, by a uniform hash of the name: stable as files come and go."""
    u = int.from_bytes(hashlib.md5(name.encode()).digest()[:8], "little") / 2**64
    return "val" if u < val_fraction else "test" if u < val_fraction + test_fraction else "train"


def class_folders(folder: Path) -> list[str]:
    """The immediate, non-hidden subfolders of ``folder``, sorted: the class names of an ImageFolder layout."""
    if not folder.is_dir():
        return []
    return sorted(e.name for e in os.scandir(folder) if e.is_dir() and not e.name.startswith("."))


class FolderDataModule(CachedImageDataModule):
    """Any directory of images; with ``labels: subfolders``, one class per subfolder (ImageFolder layout)."""

    name = "folder"

    def __init__(
        self,
        root: str | None = None,
        batch_size: PositiveInteger = 128,
        num_workers: NonNegativeInteger = 0,
        size: ImageSide = 64,
        crop: PositiveInteger | None = None,
        channels: Literal[1, 3] = 3,
        labels: Literal["none", "subfolders"] = "none",
        val_fraction: Fraction = 0.05,
        test_fraction: Fraction = 0.05,
        cache_dir: str | None = None,
        bad_images: BadImages = "stop",
        labelled_only: bool | None = None,
        decode_workers: NonNegativeInteger | None = None,
    ) -> None:
        """
        Args:
            root: the folder of images (searched recursively; hidden folders are skipped).
            batch_size: images per batch.
            num_workers: DataLoader worker processes (0 is fastest for cached data).
            size: side of the square images the model sees.
            crop: side of the centered square cut from each image before resizing (null: its shorter side).
            channels: 3 (RGB) or 1 (grayscale).
            labels: ``subfolders``: each immediate subfolder of root is a class; ``none``: unlabelled.
            val_fraction: share of the images held out for validation (chosen by a hash of the file name).
            test_fraction: share held out for testing.
            cache_dir: where the decoded-image cache goes (default: ``<root>/.genzoo_cache``).
            bad_images: an unreadable image ``stop``s with an error naming it, or is ``skip``ped and listed.
            labelled_only: serve labelled images only (set automatically for models that need labels).
            decode_workers: processes that decode images when the cache is built (default: CPU count, up to 8;
                0 or 1: this process alone).
        """
        super().__init__(
            root, batch_size, num_workers, size, crop, channels, cache_dir, bad_images, labelled_only, decode_workers
        )
        if root is None:
            raise GenzooError("--data folder needs --data.root: the directory that holds your images")
        if val_fraction + test_fraction >= 1:
            raise GenzooError(
                f"--data.val_fraction {val_fraction} and --data.test_fraction {test_fraction} leave no images to "
                "train on; their sum must be below 1"
            )
        self.val_fraction, self.test_fraction = val_fraction, test_fraction
        self.labels_from = labels
        if labels == "subfolders":
            self.class_names = class_folders(self.data_folder())
            self.num_classes = len(self.class_names)
            if not self.class_names:
                raise GenzooError(f"--data.labels subfolders: {self.data_folder()} has no subfolders to use as classes")
        self.check_files()

    def data_folder(self) -> Path:
        return self.root

    def check_files(self) -> None:
        """Fail early, in one line, when the folder is missing (the CLI builds the datamodule before training)."""
        if not self.data_folder().is_dir():
            raise GenzooError(f"{self.name}: image folder {self.data_folder()} does not exist; pass --data.root DIR")

    def build_index(self) -> ImageIndex:
        folder = self.data_folder()
        files = list_image_files(folder)
        names = [p.relative_to(folder).as_posix() for p in files]
        splits = [hash_split(n, self.val_fraction, self.test_fraction) for n in names]
        labels = np.full(len(files), -1, dtype=np.int64)
        if self.labels_from == "subfolders":
            class_index = {c: i for i, c in enumerate(self.class_names or [])}
            labels = np.array([class_index.get(n.split("/")[0], -1) if "/" in n else -1 for n in names], np.int64)
        return ImageIndex(files, names, splits, labels)

    def label_hint(self) -> str:
        folder = self.data_folder()
        return f"put the images of each class in its own subfolder of {folder} and pass --data.labels subfolders"
