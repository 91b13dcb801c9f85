"""The bundled MNIST: verified by md5, held in memory as uint8, fetched as whole batches; corrupt or
missing files give one clear error and are never replaced by anything unverified."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import pytest
import torch
from helpers import TINY_RUN, assert_one_line_error, run_cli

from genzoo.datamodules import mnist as mnist_module
from genzoo.datamodules.mnist import MNIST_FILES, MNISTDataModule, load_mnist_arrays
from genzoo.errors import GenzooError

TRAIN_LABEL_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]


def test_bundled_files_match_the_official_checksums():
    dm = MNISTDataModule()
    for name, md5 in MNIST_FILES.items():
        with gzip.open(dm.folder / f"{name}.gz", "rb") as f:
            assert hashlib.md5(f.read()).hexdigest() == md5


def test_splits_shapes_and_labels():
    dm = MNISTDataModule(batch_size=100)
    dm.setup()
    sizes = {k: len(v) for k, v in dm.splits.items()}
    assert sizes == {"train": 55000, "val": 5000, "test": 10000}
    all_train = torch.cat([dm.splits["train"].labels, dm.splits["val"].labels])
    assert torch.bincount(all_train).tolist() == TRAIN_LABEL_COUNTS
    assert dm.splits["train"].images.dtype == torch.uint8
    x, y = next(iter(dm.train_dataloader()))
    assert x.shape == (100, 1, 28, 28) and x.dtype == torch.uint8 and y.shape == (100,)
    x, y = dm.on_after_batch_transfer((x, y), 0)
    assert x.dtype == torch.float32 and 0 <= x.min() and x.max() <= 1 and x.max() > 0.9


def test_val_split_is_fixed():
    a, b = MNISTDataModule(), MNISTDataModule()
    a.setup()
    b.setup()
    assert torch.equal(a.splits["val"].labels, b.splits["val"].labels)


def test_corrupt_file_stops_with_clear_error(mnist_copy):
    bad = mnist_copy / "mnist" / "train-labels-idx1-ubyte.gz"
    with gzip.open(bad, "rb") as f:
        data = bytearray(f.read())
    data[100] ^= 0xFF  # one flipped byte: still a valid gzip, wrong md5
    with gzip.open(bad, "wb") as f:
        f.write(bytes(data))
    with pytest.raises(GenzooError, match=r"train-labels-idx1-ubyte.gz is corrupt \(md5 mismatch\)"):
        load_mnist_arrays(mnist_copy / "mnist", "train", download=False)


@pytest.mark.slow  # starts genzoo processes
def test_cli_corrupt_file_exit_2_and_nothing_written(mnist_copy, tmp_path):
    bad = mnist_copy / "mnist" / "t10k-images-idx3-ubyte.gz"
    bad.write_bytes(b"garbage")
    runs = tmp_path / "runs"
    result = run_cli("fit", "--model", "vae", "--data.root", str(mnist_copy), "--data.download", "false",
                     *TINY_RUN, "--trainer.default_root_dir", str(runs))  # fmt: skip
    assert_one_line_error(result, "t10k-images-idx3-ubyte.gz", "unreadable", str(mnist_copy / "mnist"))
    assert bad.read_bytes() == b"garbage", "the user's file was modified"
    assert not runs.exists(), "a failed run left a run folder behind"


def test_missing_file_message_says_where_to_put_it(mnist_copy):
    (mnist_copy / "mnist" / "train-images-idx3-ubyte.gz").unlink()
    with pytest.raises(GenzooError, match=r"train-images-idx3-ubyte.gz is missing.*copy the four MNIST"):
        load_mnist_arrays(mnist_copy / "mnist", "train", download=False)


def test_failed_download_keeps_the_existing_file(mnist_copy, monkeypatch):
    def offline(url, root, filename=None, md5=None):
        raise OSError("network unreachable")

    monkeypatch.setattr("torchvision.datasets.utils.download_url", offline)
    bad = mnist_copy / "mnist" / "train-labels-idx1-ubyte.gz"
    bad.write_bytes(b"broken")
    with pytest.raises(GenzooError, match="download failed"):
        load_mnist_arrays(mnist_copy / "mnist", "train", download=True)
    assert bad.read_bytes() == b"broken"
    assert sorted(p.name for p in bad.parent.iterdir()) == sorted(f"{n}.gz" for n in MNIST_FILES)


def test_successful_download_replaces_a_corrupt_file(mnist_copy, monkeypatch, tmp_path):
    good = tmp_path / "good.gz"
    good.write_bytes((mnist_copy / "mnist" / "train-labels-idx1-ubyte.gz").read_bytes())
    fetched_urls = []

    def fake_download(url, root, filename=None, md5=None):
        fetched_urls.append(url)
        (Path(root) / filename).write_bytes(good.read_bytes())

    monkeypatch.setattr("torchvision.datasets.utils.download_url", fake_download)
    bad = mnist_copy / "mnist" / "train-labels-idx1-ubyte.gz"
    bad.write_bytes(b"broken")
    images, labels = load_mnist_arrays(mnist_copy / "mnist", "train", download=True)
    assert len(labels) == 60000 and fetched_urls[0].endswith("train-labels-idx1-ubyte.gz")
    assert bad.read_bytes() == good.read_bytes()
    assert mnist_module.MNIST_MIRRORS[0] in fetched_urls[0]
