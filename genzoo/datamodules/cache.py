"""Decode a folder of image files once into a memory-mapped uint8 cache (served by ``image_files.py``).

Decoding JPEGs is the bottleneck of face datasets: 200,000 CelebA images take minutes per epoch on a CPU,
while the model needs a few seconds. So every image is decoded, center-cropped and resized exactly once,
into one ``.npy`` array (N, C, S, S) of uint8, and later runs memory-map it: nothing is decoded again, the
operating system pages the array in, and several processes (DDP ranks) share one copy in the page cache.

The cache is keyed by the decoding settings (size, crop, channels) and by a fingerprint of the image files
(names, sizes, modification times, and their order), so adding, removing or editing a file builds a new
one. It is written to a temporary file and moved into place with ``os.replace``; its index (a ``.json``
beside it listing the images it holds) is written last, so an interrupted build never leaves a cache that
a later run would trust.

Rows are ordered so that every subset a datamodule serves is a contiguous slice of the array (train
before val before test, labelled images first inside each split): a slice of a memory map is a view, so
no split is ever copied into memory.

Unreadable images (truncated or corrupt files) are found while the cache is built, in the main process,
and reported by name: ``bad_images="stop"`` (the default) decodes the rest, then stops with a one-line
error naming the first few and counting them all (so that one pass finds every file to fix), ``"skip"``
leaves them out and lists them.
"""

from __future__ import annotations

import hashlib
import json
import math
import multiprocessing
import os
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from pytorch_lightning.utilities import rank_zero_info

from genzoo.atomic import atomic_path, write_text_atomic
from genzoo.errors import GenzooError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".gif", ".tif", ".tiff")
CACHE_VERSION = 1  # bump when the decoding changes, so old caches are not reused
CHUNK = 128  # images per unit of work for the decoding processes
PARALLEL_THRESHOLD = 512  # below this many images, worker processes cost more than they save
SPLITS = ("train", "val", "test")
BadImages = Literal["stop", "skip"]
NAMED_BAD_IMAGES = 5  # unreadable images an error names; the rest are counted


@dataclass(frozen=True)
class DecodeSpec:
    """How each file becomes an array: a centered square of side ``crop`` (None: the shorter side,
    larger values are clamped to it), resized to ``size`` x ``size`` with ``channels`` 3 (RGB) or 1."""

    size: int = 64
    crop: int | None = None
    channels: int = 3

    @property
    def tag(self) -> str:
        return f"{self.size}px-crop{self.crop or 'full'}-{'rgb' if self.channels == 3 else 'gray'}"


def decode_image(path: str | Path, spec: DecodeSpec) -> np.ndarray:
    """One image file -> uint8 array (C, size, size). Raises OSError (or PIL's errors) if unreadable."""
    from PIL import Image

    mode = "RGB" if spec.channels == 3 else "L"
    with Image.open(path) as im:
        w, h = im.size
        side = min(w, h) if spec.crop is None else min(spec.crop, w, h)
        # JPEG can decode at 1/2, 1/4 or 1/8 scale for nearly free; ask for the smallest scale that still
        # leaves at least `size` pixels across the crop, so the resize below loses nothing.
        im.draft(mode, (math.ceil(w * spec.size / side), math.ceil(h * spec.size / side)))
        # The scale the decoder picked (1 for other formats); each side is rounded up, so per axis.
        sw, sh = side * im.size[0] / w, side * im.size[1] / h
        left, top = max(0.0, (im.size[0] - sw) / 2), max(0.0, (im.size[1] - sh) / 2)
        box = (left, top, min(im.size[0], left + sw), min(im.size[1], top + sh))
        im = im.convert(mode).resize((spec.size, spec.size), Image.Resampling.BICUBIC, box=box)  # antialiased
        arr = np.asarray(im, dtype=np.uint8)
    return arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)  # (C, S, S)


def _decode_chunk(job: tuple[list[str], DecodeSpec]) -> tuple[np.ndarray, list[tuple[int, str]]]:
    """Decode a list of files; a bad file becomes a zero image and an (index, reason) entry, never a crash."""
    paths, spec = job
    out = np.zeros((len(paths), spec.channels, spec.size, spec.size), dtype=np.uint8)
    errors = []
    for i, path in enumerate(paths):
        try:
            out[i] = decode_image(path, spec)
        except Exception as err:  # PIL raises many types (OSError, SyntaxError, ValueError, DecompressionBomb...)
            # PIL names the file in its message; the report names it already
            reason = str(err).replace(f" '{path}'", "").replace(path, "the file")
            errors.append((i, f"{type(err).__name__}: {reason}".splitlines()[0][:200]))
    return out, errors


def list_image_files(folder: Path, recursive: bool = True) -> list[Path]:
    """Image files under ``folder`` (hidden files and folders, like the cache itself, are skipped), sorted."""
    found = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".")) if recursive else []
        found += [Path(dirpath) / f for f in filenames if f.lower().endswith(IMAGE_SUFFIXES) and f[0] != "."]
    return sorted(found)


def file_fingerprint(files: Sequence[Path], names: Sequence[str], spec: DecodeSpec) -> str:
    """A short hash of what the cache would hold: the names in order, each file's size and mtime, the spec."""
    digest = hashlib.sha256(f"v{CACHE_VERSION}|{spec.tag}".encode())
    for path, name in zip(files, names):
        st = os.stat(path)
        digest.update(f"|{name}:{st.st_size}:{int(st.st_mtime)}".encode())
    return digest.hexdigest()[:16]


def default_cache_dir(data_folder: Path) -> Path:
    """``<data_folder>/.genzoo_cache`` when it can be created there, else ``$XDG_CACHE_HOME/genzoo``."""
    beside = data_folder / ".genzoo_cache"
    try:
        beside.mkdir(exist_ok=True)
        with tempfile.TemporaryFile(dir=beside):
            pass
        return beside
    except OSError:
        home = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "genzoo"
        rank_zero_info(f"genzoo: {data_folder} is not writable; caching decoded images in {home}")
        return home


@dataclass
class ImageCache:
    """One cache: ``<dir>/<name>.npy`` (uint8 images) and ``<dir>/<name>.json`` (which files it holds)."""

    folder: Path
    name: str

    @property
    def array_path(self) -> Path:
        return self.folder / f"{self.name}.npy"

    @property
    def index_path(self) -> Path:
        return self.folder / f"{self.name}.json"

    def read_index(self) -> dict | None:
        """The index if the cache is complete, else None (the index is written last, so its presence counts)."""
        if not (self.index_path.is_file() and self.array_path.is_file()):
            return None
        try:
            index = json.loads(self.index_path.read_text())
            shape = np.load(self.array_path, mmap_mode="r").shape
        except (OSError, ValueError):
            return None  # unreadable: rebuild it
        return index if shape[0] == len(index["names"]) else None

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold the cache's lock file: one process builds it at a time, on this machine and, where the file
        system supports locks, across the nodes that share it; the others wait, then find it built."""
        import fcntl

        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{self.name}.lock"
        with open(path, "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file closes, or when the process dies
            try:
                yield
            finally:
                # Nothing left behind. A process still waiting on the removed file finds the cache built;
                # after a failed build, two later builders may both build: each writes atomically.
                path.unlink(missing_ok=True)

    def ensure(
        self, files: Sequence[Path], names: Sequence[str], spec: DecodeSpec, bad_images: BadImages, workers: int
    ) -> None:
        """Build the cache unless some process (this one, another rank, another node) already has."""
        if self.read_index() is not None:
            return
        with self.exclusive():
            if self.read_index() is None:
                self.build(files, names, spec, bad_images, workers)

    def load(self) -> tuple[torch.Tensor, list[str]]:
        """(images (N, C, S, S) uint8 backed by the memory-mapped file, names of the N images)."""
        index = self.read_index()
        if index is None:
            raise GenzooError(f"image cache {self.array_path} is missing or incomplete; delete it and run again")
        # mode "c" (copy-on-write) gives a writable array without ever writing to the file, so torch can
        # wrap it without a warning; pages are read on demand and shared between processes.
        return torch.from_numpy(np.load(self.array_path, mmap_mode="c")), index["names"]

    def build(
        self, files: Sequence[Path], names: Sequence[str], spec: DecodeSpec, bad_images: BadImages, workers: int
    ) -> None:
        """Decode every file into the cache, atomically. Unreadable files stop the build or are left out."""
        self.folder.mkdir(parents=True, exist_ok=True)
        n = len(files)
        shape = (n, spec.channels, spec.size, spec.size)
        rank_zero_info(
            f"genzoo: decoding {n:,} images into {self.array_path} ({spec.tag}); once only, later runs reuse it"
        )
        start = time.perf_counter()
        with atomic_path(self.array_path) as tmp:
            array = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8, shape=shape)
            bad: dict[int, str] = {}
            for offset, chunk, errors in _decode_all(files, spec, workers):
                array[offset : offset + len(chunk)] = chunk
                bad.update((offset + i, reason) for i, reason in errors)
            if bad and bad_images == "stop":
                raise GenzooError(
                    f"{len(bad)} of {n:,} images cannot be decoded: {describe_bad(files, bad, NAMED_BAD_IMAGES)}; "
                    "remove or replace them, or pass --data.bad_images skip to leave unreadable images out"
                )
            array.flush()
            del array
            if bad:
                _drop_rows(tmp, sorted(bad), shape)
            keep = [name for i, name in enumerate(names) if i not in bad]
        index = {
            "version": CACHE_VERSION,
            "spec": spec.tag,
            "source": str(Path(files[0]).parent) if files else "",
            "names": keep,
            "skipped": {names[i]: bad[i] for i in sorted(bad)},
        }
        write_text_atomic(json.dumps(index), self.index_path)
        seconds = time.perf_counter() - start
        rank_zero_info(
            f"genzoo: cached {len(keep):,} images in {seconds:.1f} s ({len(keep) / max(seconds, 1e-9):.0f}/s)"
        )
        if bad:
            listed = f" (all listed in {self.index_path})" if len(bad) > 10 else ""
            rank_zero_info(f"genzoo: skipped {len(bad)} unreadable image(s): {describe_bad(names, bad, 10)}{listed}")


def describe_bad(files: Sequence[Path | str], bad: dict[int, str], shown: int) -> str:
    """The first ``shown`` of the unreadable images (file and reason), and how many more there are."""
    first = ", ".join(f"{files[i]} ({bad[i]})" for i in sorted(bad)[:shown])
    return first + (f" and {len(bad) - shown} more" if len(bad) > shown else "")


def _drop_rows(path: Path, drop: list[int], shape: tuple[int, ...]) -> None:
    """Rewrite the .npy at ``path`` without the rows in ``drop`` (rare: only when images were skipped)."""
    src = np.load(path, mmap_mode="r")
    keep = np.setdiff1d(np.arange(shape[0]), drop)
    with atomic_path(path) as tmp:
        out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8, shape=(len(keep), *shape[1:]))
        for start in range(0, len(keep), 4096):
            out[start : start + 4096] = src[keep[start : start + 4096]]
        out.flush()
        del out, src


def _decode_all(
    files: Sequence[Path], spec: DecodeSpec, workers: int
) -> Iterator[tuple[int, np.ndarray, list[tuple[int, str]]]]:
    """Yield (offset, decoded chunk, errors) in file order, with a progress bar, in worker processes if many."""
    from tqdm import tqdm

    jobs = [([str(p) for p in files[i : i + CHUNK]], spec) for i in range(0, len(files), CHUNK)]
    bar = tqdm(total=len(files), unit="img", desc="decoding", disable=None, dynamic_ncols=True)
    try:
        if workers > 1 and len(files) >= PARALLEL_THRESHOLD:
            # fork where the platform has it: children need only PIL and numpy, and start instantly
            method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
            with multiprocessing.get_context(method).Pool(workers) as pool:
                for k, (chunk, errors) in enumerate(pool.imap(_decode_chunk, jobs)):
                    bar.update(len(chunk))
                    yield k * CHUNK, chunk, errors
        else:
            for k, job in enumerate(jobs):
                chunk, errors = _decode_chunk(job)
                bar.update(len(chunk))
                yield k * CHUNK, chunk, errors
    finally:
        bar.close()


@dataclass
class ImageIndex:
    """What a dataset holds, in cache order: files, names (relative paths), split and label of each image.

    ``labels`` is (N,) class indices or (N, K) multi-hot; -1 (the whole row, for multi-hot) means unlabelled.
    ``notes`` are lines for the summary that the datamodule prints (annotation coverage and the like).
    """

    files: list[Path]
    names: list[str]
    splits: list[str]
    labels: np.ndarray
    notes: list[str] = field(default_factory=list)

    def ordered(self) -> ImageIndex:
        """The same index sorted train/val/test, labelled before unlabelled, then by name."""
        rank = {s: i for i, s in enumerate(SPLITS)}
        unlabelled = self.unlabelled_mask()
        order = sorted(range(len(self.names)), key=lambda i: (rank[self.splits[i]], bool(unlabelled[i]), self.names[i]))
        return ImageIndex(
            [self.files[i] for i in order],
            [self.names[i] for i in order],
            [self.splits[i] for i in order],
            self.labels[order],
            self.notes,
        )

    def unlabelled_mask(self) -> np.ndarray:
        return (self.labels < 0) if self.labels.ndim == 1 else (self.labels < 0).any(1)
