"""MNIST (LeCun, Cortes, Burges): 60,000 training and 10,000 test digits, 28x28 grayscale.

The four gzipped IDX files are bundled in the repository's ``data/mnist/`` as the offline default and
checked by md5 (of the decompressed file) on every load. When a file is missing or corrupt, torchvision's
downloader fetches it into a temporary file that replaces the bad one only once it checks out.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import tempfile
from pathlib import Path

import numpy as np
import torch

from genzoo.datamodules.base import InMemoryImageDataModule, TensorImageDataset
from genzoo.errors import GenzooError
from genzoo.ranges import NonNegativeInteger, PositiveInteger

# md5 of the decompressed IDX files: the values torchvision and the official files agree on.
MNIST_FILES = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}
MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)
VAL_SIZE = 5000  # held out of the 60,000 training images, always the same ones


def read_idx_file(path: Path) -> bytes:
    """The decompressed bytes of an IDX file stored as ``.gz`` or raw."""
    if path.suffix == ".gz":
        with gzip.open(path, "rb") as f:
            return f.read()
    return path.read_bytes()


def find_mnist_file(folder: Path, name: str) -> Path | None:
    for candidate in (folder / f"{name}.gz", folder / name):
        if candidate.is_file():
            return candidate
    return None


def checked_mnist_bytes(folder: Path, name: str) -> tuple[bytes | None, str]:
    """(bytes, "") when ``name`` is present and its md5 matches, else (None, reason)."""
    path = find_mnist_file(folder, name)
    if path is None:
        return None, f"{folder / (name + '.gz')} is missing"
    try:
        data = read_idx_file(path)
    except (OSError, EOFError, gzip.BadGzipFile) as err:
        return None, f"{path} is unreadable ({err})"
    if hashlib.md5(data).hexdigest() != MNIST_FILES[name]:
        return None, f"{path} is corrupt (md5 mismatch)"
    return data, ""


def download_mnist_file(folder: Path, name: str) -> None:
    """Fetch ``name.gz`` with torchvision's downloader; replace the local file only if it verifies."""
    from torchvision.datasets.utils import download_url

    folder.mkdir(parents=True, exist_ok=True)
    errors = []
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        for mirror in MNIST_MIRRORS:
            try:
                download_url(mirror + name + ".gz", tmp, filename=name + ".gz")
            except Exception as err:  # any network failure: try the next mirror, report all at the end
                errors.append(f"{mirror}: {type(err).__name__}")
                continue
            fetched = Path(tmp) / (name + ".gz")
            if hashlib.md5(read_idx_file(fetched)).hexdigest() == MNIST_FILES[name]:
                for stale in (folder / name, folder / (name + ".gz")):
                    stale.unlink(missing_ok=True)
                os.replace(fetched, folder / (name + ".gz"))
                return
            errors.append(f"{mirror}: md5 mismatch")
    raise OSError("; ".join(errors))


_LOADED: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}  # verified arrays, keyed by file identity


def _file_key(folder: Path, split: str) -> tuple:
    prefix = "train" if split == "train" else "t10k"
    stats = []
    for name in MNIST_FILES:
        path = find_mnist_file(folder, name) if name.startswith(prefix) else None
        stats.append((str(path), path.stat().st_mtime_ns, path.stat().st_size) if path else None)
    return (str(folder.resolve()), split, *stats)


def load_mnist_arrays(folder: Path, split: str, download: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 (N, 1, 28, 28), labels int64 (N,)) of the ``train`` or ``test`` split.

    Verified once per process: prepare_data and setup both call this, the files are read and hashed once.
    """
    key = _file_key(folder, split)
    if key not in _LOADED:
        _LOADED[key] = _read_verified(folder, split, download)
    return _LOADED[key]


def _read_verified(folder: Path, split: str, download: bool) -> tuple[np.ndarray, np.ndarray]:
    prefix = "train" if split == "train" else "t10k"
    arrays = []
    for kind, offset in (("images-idx3-ubyte", 16), ("labels-idx1-ubyte", 8)):
        name = f"{prefix}-{kind}"
        data, problem = checked_mnist_bytes(folder, name)
        if data is None and download:
            try:
                download_mnist_file(folder, name)
                data, problem = checked_mnist_bytes(folder, name)
            except OSError as err:
                problem += f" and the download failed ({err})"
        if data is None:
            raise GenzooError(
                f"MNIST: {problem}; copy the four MNIST .gz files ({', '.join(MNIST_FILES)}) into "
                f"{folder}/ or pass --data.root to a folder whose mnist/ has them"
            )
        arrays.append(np.frombuffer(data, dtype=np.uint8, offset=offset))
    images = arrays[0].reshape(-1, 1, 28, 28)
    return images, arrays[1].astype(np.int64)


class MNISTDataModule(InMemoryImageDataModule):
    """Handwritten digits; 55,000 train / 5,000 val (held out of train) / 10,000 test; labels 0-9."""

    image_shape = (1, 28, 28)
    num_classes = 10
    class_names = [str(d) for d in range(10)]
    feature_extractor = "mnist_classifier"

    def __init__(
        self,
        root: str | None = None,
        batch_size: PositiveInteger = 128,
        num_workers: NonNegativeInteger = 0,
        download: bool = True,
    ) -> None:
        """
        Args:
            root: folder holding ``mnist/`` (default: the repository's bundled ``data/``).
            batch_size: images per batch.
            num_workers: DataLoader worker processes (0 is fastest for in-memory data).
            download: try torchvision's downloader when a file is missing or corrupt.
        """
        super().__init__(root, batch_size, num_workers)
        self.download = download

    @property
    def folder(self) -> Path:
        return self.root / "mnist"

    def prepare_data(self) -> None:
        # Runs on one process only: verify (and if need be download) before any rank loads.
        for split in ("train", "test"):
            load_mnist_arrays(self.folder, split, self.download)

    def setup(self, stage: str | None = None) -> None:
        if "train" not in self.splits:
            images, labels = load_mnist_arrays(self.folder, "train", self.download)
            images, labels = torch.from_numpy(images.copy()), torch.from_numpy(labels)
            order = torch.randperm(len(images), generator=torch.Generator().manual_seed(0))
            val, train = order[:VAL_SIZE], order[VAL_SIZE:]
            self.splits["train"] = TensorImageDataset(images[train], labels[train])
            self.splits["val"] = TensorImageDataset(images[val], labels[val])
        if "test" not in self.splits:
            images, labels = load_mnist_arrays(self.folder, "test", self.download)
            self.splits["test"] = TensorImageDataset(torch.from_numpy(images.copy()), torch.from_numpy(labels))
