"""CelebA (Liu, Luo, Wang & Tang, "Deep Learning Face Attributes in the Wild", ICCV 2015).

202,599 aligned-and-cropped celebrity faces (178x218 JPEGs) with 40 binary attributes, split
162,770 / 19,867 / 19,962 by the official partition file. Files in torchvision's layout::

    <root>/celeba/img_align_celeba/000001.jpg ...   (or <root>/img_align_celeba/ directly)
    <root>/celeba/list_eval_partition.txt           train/val/test of every image (required)
    <root>/celeba/list_attr_celeba.txt              the 40 attributes (optional: without it, no labels)
    <root>/celeba/identity_CelebA.txt, list_bbox_celeba.txt, list_landmarks_align_celeba.txt (optional)

Kaggle's copy (``img_align_celeba/img_align_celeba/`` and ``.csv`` annotations) is read too. Annotation
rows are matched to images by file name, so a partial copy works: images without attributes are served
with label -1 to models that need no labels, and left out (``labelled_only``) for those that do.
Each image is center-cropped (148 pixels by default: the face and a little hair) and resized to 64x64
(32 and 128 selectable), once, into the cache.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Literal

import numpy as np

from genzoo.datamodules.cache import SPLITS, BadImages, ImageIndex, list_image_files
from genzoo.datamodules.image_files import CachedImageDataModule
from genzoo.errors import GenzooError
from genzoo.ranges import NonNegativeInteger, PositiveInteger

CELEBA_ATTRIBUTES = (
    "5_o_Clock_Shadow Arched_Eyebrows Attractive Bags_Under_Eyes Bald Bangs Big_Lips Big_Nose Black_Hair "
    "Blond_Hair Blurry Brown_Hair Bushy_Eyebrows Chubby Double_Chin Eyeglasses Goatee Gray_Hair Heavy_Makeup "
    "High_Cheekbones Male Mouth_Slightly_Open Mustache Narrow_Eyes No_Beard Oval_Face Pale_Skin Pointy_Nose "
    "Receding_Hairline Rosy_Cheeks Sideburns Smiling Straight_Hair Wavy_Hair Wearing_Earrings Wearing_Hat "
    "Wearing_Lipstick Wearing_Necklace Wearing_Necktie Young"
).split()
PARTITION, ATTRIBUTES = "list_eval_partition", "list_attr_celeba"
#: optional per-image annotations: file stem -> (number of values per row, whether the file has a header)
EXTRA_ANNOTATIONS = {
    "identity_CelebA": (1, False),
    "list_bbox_celeba": (4, True),
    "list_landmarks_align_celeba": (10, True),
}
WHERE_TO_GET = (
    "get them from the CelebA page (mmlab.ie.cuhk.edu.hk/projects/CelebA.html: 'Align&Cropped Images' "
    "img_align_celeba.zip, unzipped, and the Anno/ and Eval/ text files) or pass --data.download true "
    "(torchvision's Google Drive downloader; needs the gdown package)"
)


def find_celeba_folder(root: Path) -> Path | None:
    """The folder holding ``img_align_celeba/``: root itself or ``root/celeba`` (torchvision's layout)."""
    for base in (root, root / "celeba"):
        if (base / "img_align_celeba").is_dir():
            return base
    return None


def annotation_file(base: Path, stem: str) -> Path | None:
    """``stem.txt`` (the original files) or ``stem.csv`` (Kaggle's copy), whichever is present."""
    for suffix in (".txt", ".csv"):
        if (base / f"{stem}{suffix}").is_file():
            return base / f"{stem}{suffix}"
    return None


def read_annotation(path: Path, width: int, header: bool) -> tuple[list[str], list[str], np.ndarray]:
    """(column names, file names, int values (rows, width)) of a CelebA annotation file, checked.

    Text files: optional header of a row count and a line of column names, then ``name v1 .. vk`` rows
    separated by runs of spaces (CRLF line ends allowed). CSV files (Kaggle): a header line, then rows.
    Any inconsistency raises a one-line GenzooError naming the file and line.
    """
    is_csv = path.suffix == ".csv"
    try:
        with open(path, newline="") as f:
            lines = list(csv.reader(f)) if is_csv else [line.split() for line in f]
    except (OSError, UnicodeDecodeError) as err:
        raise GenzooError(f"{path} cannot be read ({err}); replace it with the original file") from None
    first = 0
    columns: list[str] = []
    declared = None
    if is_csv:
        columns, first = lines[0][1:], 1
    elif header:
        if len(lines) < 2 or len(lines[0]) != 1 or not lines[0][0].isdigit():
            raise GenzooError(f"{path}: line 1 should be the number of rows; is this the original file?")
        declared, columns, first = int(lines[0][0]), lines[1], 2
    rows = [row for row in lines[first:] if row]
    if declared is not None and declared != len(rows):
        raise GenzooError(f"{path}: line 1 says {declared:,} rows but the file has {len(rows):,}; is it truncated?")
    names, values = [], np.empty((len(rows), width), dtype=np.int64)
    for i, row in enumerate(rows):
        if len(row) != width + 1:
            raise GenzooError(
                f"{path}: line {i + first + 1} has {len(row) - 1} values after the file name, expected {width}"
            )
        try:
            values[i] = [int(v) for v in row[1:]]
        except ValueError:
            raise GenzooError(f"{path}: line {i + first + 1} has a value that is not a whole number") from None
        names.append(row[0])
    if len(set(names)) != len(names):
        raise GenzooError(f"{path}: some file names appear on more than one row; is it the original file?")
    return columns, names, values


class CelebADataModule(CachedImageDataModule):
    """CelebA aligned faces, 40 binary attributes as labels (multi-hot, -1 where unannotated)."""

    name = "celeba"
    num_classes = len(CELEBA_ATTRIBUTES)
    class_names = list(CELEBA_ATTRIBUTES)
    multi_label = True
    fallback_extractor = "face_features"  # offline, trained on these faces (docs/metrics.md)

    def __init__(
        self,
        root: str | None = None,
        batch_size: PositiveInteger = 128,
        num_workers: NonNegativeInteger = 0,
        size: Literal[32, 64, 128] = 64,
        crop: PositiveInteger | None = 148,
        cache_dir: str | None = None,
        bad_images: BadImages = "stop",
        labelled_only: bool | None = None,
        download: bool = False,
        decode_workers: NonNegativeInteger | None = None,
    ) -> None:
        """
        Args:
            root: folder holding ``img_align_celeba/`` and the annotation files, or its parent holding
                ``celeba/`` (torchvision's layout). Default: ``data/`` (so ``data/celeba/``).
            batch_size: images per batch.
            num_workers: DataLoader worker processes (0 is fastest for cached data).
            size: side of the square images the model sees: 32, 64 or 128.
            crop: side of the centered square cut from each 178x218 image before resizing (null: 178).
            cache_dir: where the decoded-image cache goes (default: ``.genzoo_cache`` beside the images).
            bad_images: an unreadable image ``stop``s with an error naming it, or is ``skip``ped and listed.
            labelled_only: serve only images that have attributes (set automatically for models that need labels).
            download: fetch missing files with torchvision's CelebA downloader into ``<root>/celeba``.
            decode_workers: processes that decode images when the cache is built (default: CPU count, up to 8;
                0 or 1: this process alone).
        """
        super().__init__(
            root, batch_size, num_workers, size, crop, 3, cache_dir, bad_images, labelled_only, decode_workers
        )
        self.download = download
        self.annotations: dict[str, dict[str, np.ndarray]] = {}  # split -> optional annotation -> rows
        self._extra: dict[str, np.ndarray] = {}
        if not download:
            self.check_files()

    # ----- files ----------------------------------------------------------------------------
    def data_folder(self) -> Path:
        return find_celeba_folder(self.root) or self.root / "celeba"

    def image_folder(self) -> Path:
        folder = self.data_folder() / "img_align_celeba"
        nested = folder / "img_align_celeba"  # Kaggle's zip unpacks one level deeper
        return nested if nested.is_dir() and not any(folder.glob("*.jpg")) else folder

    def check_files(self) -> None:
        """Raise one line naming what is missing, where it goes and where to get it."""
        base = find_celeba_folder(self.root)
        if base is None:
            zipped = [
                p
                for p in (self.root / "img_align_celeba.zip", self.root / "celeba/img_align_celeba.zip")
                if p.is_file()
            ]
            if zipped:
                raise GenzooError(
                    f"celeba: found {zipped[0]} but no img_align_celeba/ folder; unzip it in {zipped[0].parent}"
                )
            raise GenzooError(
                f"celeba: no img_align_celeba/ folder in {self.root} or {self.root / 'celeba'}; put the images "
                f"and annotation files in {self.root / 'celeba'}/ ({WHERE_TO_GET})"
            )
        if annotation_file(base, PARTITION) is None:
            raise GenzooError(
                f"celeba: {base / (PARTITION + '.txt')} is missing (it says which split each image is in); "
                f"{WHERE_TO_GET}"
            )

    def prepare_data(self) -> None:
        if self.download:
            self.fetch()
        super().prepare_data()

    def fetch(self) -> None:
        """torchvision's CelebA downloader (Google Drive, md5-checked) into ``<root>/celeba``, if files are missing."""
        if find_celeba_folder(self.root) and annotation_file(self.data_folder(), PARTITION):
            return
        from torchvision.datasets import CelebA

        try:
            CelebA(str(self.root), split="all", target_type=[], download=True)
        except Exception as err:  # network, quota, missing gdown, bad md5: all end in "get the files by hand"
            raise GenzooError(
                f"celeba: download into {self.root / 'celeba'} failed ({type(err).__name__}: {str(err)[:160]}); "
                f"{WHERE_TO_GET.split(' or pass')[0]}"
            ) from None
        self.check_files()

    def label_hint(self) -> str:
        return f"put the 40-attribute file {ATTRIBUTES}.txt in {self.data_folder()} ({WHERE_TO_GET})"

    # ----- the index: images, splits, attributes -----------------------------------------------
    def build_index(self) -> ImageIndex:
        self.check_files()
        base, folder = self.data_folder(), self.image_folder()
        files = list_image_files(folder, recursive=False)
        names = [p.name for p in files]
        if not files:
            raise GenzooError(f"celeba: {folder} holds no images; unzip img_align_celeba.zip there ({WHERE_TO_GET})")
        position = {name: i for i, name in enumerate(names)}
        notes = []

        # Splits: every image must have a row in the partition file.
        path = annotation_file(base, PARTITION)
        _, part_names, part = read_annotation(path, 1, header=False)
        split_of = dict(zip(part_names, part[:, 0]))
        unsplit = [n for n in names if n not in split_of]
        if unsplit:
            raise GenzooError(
                f"{path} has no row for {len(unsplit):,} of the {len(names):,} images in {folder} "
                f"(first: {unsplit[0]}); use the partition file that belongs to these images"
            )
        if set(part[:, 0]) - {0, 1, 2}:
            raise GenzooError(f"{path}: split numbers must be 0 (train), 1 (val) or 2 (test)")
        splits = [SPLITS[split_of[n]] for n in names]
        if len(part_names) != len(names):
            notes.append(
                f"{path.name}: {len(part_names):,} rows, {len(names):,} with an image (a partial copy of CelebA)"
            )

        # Attributes, where annotated: -1/1 in the file -> 0/1 labels; -1 rows for images without one.
        labels = np.full((len(names), len(CELEBA_ATTRIBUTES)), -1, dtype=np.int64)
        path = annotation_file(base, ATTRIBUTES)
        if path is None:
            notes.append(f"no {ATTRIBUTES}.txt in {base}: no attributes, all images unlabelled")
        else:
            columns, attr_names, values = read_annotation(path, len(CELEBA_ATTRIBUTES), header=True)
            if list(columns) != CELEBA_ATTRIBUTES:
                raise GenzooError(f"{path}: the attribute names (line 2) are not CelebA's 40 attributes")
            if not np.isin(values, (-1, 1)).all():
                raise GenzooError(f"{path}: attribute values must be -1 or 1")
            rows = np.array([position.get(n, -1) for n in attr_names], dtype=np.int64)
            matched = rows >= 0
            if len(attr_names) and not matched.any():
                raise GenzooError(f"{path}: none of its {len(attr_names):,} rows names an image in {folder}")
            labels[rows[matched]] = (values[matched] + 1) // 2
            notes.append(
                f"{path.name}: {len(attr_names):,} rows, {int(matched.sum()):,} with an image; "
                f"{len(names) - int(matched.sum()):,} images have no attributes"
            )

        # Other annotations, when present: checked the same way and kept for users (-1 where missing).
        self._extra = {}
        for stem, (width, header) in EXTRA_ANNOTATIONS.items():
            path = annotation_file(base, stem)
            if path is not None:
                _, extra_names, values = read_annotation(path, width, header)
                table = np.full((len(names), width), -1, dtype=np.int64)
                rows = np.array([position.get(n, -1) for n in extra_names], dtype=np.int64)
                table[rows[rows >= 0]] = values[rows >= 0]
                self._extra[stem] = table
        return ImageIndex(files, names, splits, labels, notes)

    def setup(self, stage: str | None = None) -> None:
        super().setup(stage)
        if self._extra and not self.annotations:
            # The optional annotations, aligned with each split's rows (images in cache order).
            order = {f: i for i, f in enumerate(self.index().names)}
            for split, split_names in self.names.items():
                rows = [order[n] for n in split_names]
                self.annotations[split] = {stem: table[rows] for stem, table in self._extra.items()}
