"""Every registered datamodule, through the registry: what it declares, how it fails, what it serves.

A new dataset is covered by registering it; only ``LAYOUTS`` needs a line saying how to make a small
copy of its files (the test says so if one is missing).
"""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest
import torch
from helpers import copy_bundled_mnist, make_anime_jpg, make_celeba

from genzoo.errors import GenzooError
from genzoo.metrics.features import EXTRACTORS
from genzoo.registry import DATAMODULES

#: dataset name -> a function that writes a small copy of its files under a folder and returns the root
LAYOUTS = {
    "mnist": copy_bundled_mnist,
    "celeba": lambda root: make_celeba(root, n=24, labelled=12),
    "anime": lambda root: make_anime_jpg(root, n=24),
    "folder": lambda root: make_anime_jpg(root, n=24),
}


def build(name: str, root: Path, **kwargs) -> object:
    """Datamodule ``name`` on ``root``, never downloading, caches kept under ``root``."""
    params = inspect.signature(DATAMODULES.get(name).__init__).parameters
    extra = {"download": False, "cache_dir": str(root / ".cache"), **kwargs}
    return DATAMODULES.get(name)(root=str(root), **{k: v for k, v in extra.items() if k in params})


@pytest.mark.parametrize("name", DATAMODULES.names())
def test_declares_what_the_model_is_told(name, tmp_path):
    assert name in LAYOUTS, f"add a maker of a small copy of {name!r}'s files to LAYOUTS"
    dm = build(name, LAYOUTS[name](tmp_path / name))
    channels, height, width = dm.image_shape
    assert channels in (1, 3) and height == width and height >= 8
    assert isinstance(dm.num_classes, int) and dm.num_classes >= 0
    assert dm.feature_extractor in EXTRACTORS
    assert DATAMODULES.summary(name)


@pytest.mark.parametrize("name", DATAMODULES.names())
def test_missing_files_are_one_clear_line(name, tmp_path):
    with pytest.raises(GenzooError) as err:
        build(name, tmp_path / "empty").prepare_data()
    message = str(err.value)
    assert "\n" not in message and str(tmp_path / "empty") in message, message


@pytest.mark.parametrize("name", DATAMODULES.names())
def test_serves_batches_of_its_declared_shape(name, tmp_path):
    root = LAYOUTS[name](tmp_path / name)
    dm = build(name, root, batch_size=4)
    dm.prepare_data()
    dm.setup("fit")
    images, labels = dm.on_after_batch_transfer(next(iter(dm.train_dataloader())), 0)
    assert images.shape == (4, *dm.image_shape) and images.dtype == torch.float32
    assert 0 <= images.min() and images.max() <= 1 and images.std() > 0
    assert len(labels) == 4
