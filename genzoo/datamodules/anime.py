"""Anime faces: the common Kaggle layouts, found under ``--data.root`` (default ``data/anime``).

- "anime-faces" (21,551 PNGs, 64x64): ``data/*.png`` (sometimes ``data/data/*.png``)
- "Anime Face Dataset" (63,632 JPEGs of mixed size, the set the AEGAN paper used a part of): ``images/*.jpg``
- or the images directly in root.

Images of any size are center-cropped to a square and resized to ``size`` (64 by default), once, into the
cache. There are no labels: models that need them (the CVAE) cannot train on this set.
"""

from __future__ import annotations

import os
from pathlib import Path

from genzoo.datamodules.base import default_data_root
from genzoo.datamodules.cache import IMAGE_SUFFIXES, BadImages
from genzoo.datamodules.folder import FolderDataModule
from genzoo.errors import GenzooError
from genzoo.ranges import Fraction, ImageSide, NonNegativeInteger, PositiveInteger

#: where each Kaggle download puts its images, relative to root, in the order they are looked for
ANIME_LAYOUTS = ("", "images", "data", "data/data", "anime/images", "anime/data", "anime")
WHERE_TO_GET = (
    "download the Kaggle 'anime-faces' (64x64 PNGs) or 'Anime Face Dataset' (JPEGs) and unpack it there "
    "(images/*.jpg or data/*.png)"
)


def has_images(folder: Path) -> bool:
    """Whether ``folder`` directly holds at least one image file (stops at the first one)."""
    if not folder.is_dir():
        return False
    with os.scandir(folder) as entries:
        return any(e.name.lower().endswith(IMAGE_SUFFIXES) and e.is_file() for e in entries)


class AnimeDataModule(FolderDataModule):
    """Anime faces (Kaggle layouts), 64x64 by default; unlabelled."""

    name = "anime"
    fallback_extractor = "face_features"  # offline, trained on these faces (docs/metrics.md)

    def __init__(
        self,
        root: str | None = None,
        batch_size: PositiveInteger = 128,
        num_workers: NonNegativeInteger = 0,
        size: ImageSide = 64,
        crop: PositiveInteger | None = None,
        val_fraction: Fraction = 0.05,
        test_fraction: Fraction = 0.05,
        cache_dir: str | None = None,
        bad_images: BadImages = "stop",
        decode_workers: NonNegativeInteger | None = None,
    ) -> None:
        """
        Args:
            root: folder holding the images or one of the Kaggle layouts (default: ``data/anime``).
            batch_size: images per batch.
            num_workers: DataLoader worker processes (0 is fastest for cached data).
            size: side of the square images the model sees.
            crop: side of the centered square cut from each image before resizing (null: its shorter side).
            val_fraction: share of the images held out for validation (chosen by a hash of the file name).
            test_fraction: share held out for testing.
            cache_dir: where the decoded-image cache goes (default: beside the images, ``.genzoo_cache``).
            bad_images: an unreadable image ``stop``s with an error naming it, or is ``skip``ped and listed.
            decode_workers: processes that decode images when the cache is built (default: CPU count, up to 8;
                0 or 1: this process alone).
        """
        self._folder: Path | None = None
        root = root if root is not None else str(default_data_root() / "anime")
        # A folder of RGB images without labels: the folder datamodule with those two choices fixed.
        super().__init__(
            root=root, batch_size=batch_size, num_workers=num_workers, size=size, crop=crop, channels=3,
            labels="none", val_fraction=val_fraction, test_fraction=test_fraction, cache_dir=cache_dir,
            bad_images=bad_images, decode_workers=decode_workers,
        )  # fmt: skip

    def data_folder(self) -> Path:
        if self._folder is None:
            found = [self.root / layout for layout in ANIME_LAYOUTS if has_images(self.root / layout)]
            self._folder = found[0] if found else self.root
        return self._folder

    def check_files(self) -> None:
        if not has_images(self.data_folder()):
            self._folder = None  # look again next time (the user may unpack the files meanwhile)
            looked = ", ".join(str(self.root / layout) for layout in ANIME_LAYOUTS[:4])
            raise GenzooError(f"anime: no images in {looked}; {WHERE_TO_GET}, or pass --data.root to that folder")
