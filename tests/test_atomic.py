"""Every output goes through genzoo.atomic: a file is replaced whole, or left as it was."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from genzoo.atomic import UMASK, atomic_path, write_json_atomic, write_text_atomic


def test_written_file_replaces_the_old_one_with_ordinary_permissions(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "result.json"
    write_text_atomic("old", target)
    write_json_atomic({"fid": 1.5}, target)
    assert target.read_text() == '{\n  "fid": 1.5\n}\n'
    # mkstemp makes owner-only files; outputs and caches must be readable like any other new file
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~UMASK
    assert os.listdir(target.parent) == ["result.json"]  # no temporary file left behind


def test_failure_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "cache.npy"
    target.write_bytes(b"the good cache")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_bytes(b"half a ca")
        raise RuntimeError("interrupted")
    assert target.read_bytes() == b"the good cache"
    assert os.listdir(tmp_path) == ["cache.npy"]


def test_image_outputs_go_through_one_writer(tmp_path: Path) -> None:
    """Samples, edit strips and latent pictures: a .png (any case) grid or an .npz of uint8 images, whole."""
    import numpy as np
    import torch
    from PIL import Image

    from genzoo.latent.pictures import Picture, write_picture
    from genzoo.viz import image_grid, to_uint8, write_images

    images = torch.rand(6, 1, 28, 28)
    write_images(images, tmp_path / "grid.PNG", nrow=3)
    with Image.open(tmp_path / "grid.PNG") as im:
        drawn = torch.from_numpy(np.asarray(im.convert("RGB")).copy()).permute(2, 0, 1)
    assert torch.equal(drawn, to_uint8(image_grid(images, 3)))
    write_images(images, tmp_path / "images.npz")
    with np.load(tmp_path / "images.npz") as saved:
        assert list(saved) == ["images"] and np.array_equal(saved["images"], to_uint8(images).numpy())
    codes = torch.randn(6, 2)
    picture = Picture("a title", images, codes, lambda: image_grid(images), {"t": torch.arange(6)})
    write_picture(picture, tmp_path / "picture.npz")
    with np.load(tmp_path / "picture.npz") as saved:
        assert list(saved) == ["title", "images", "codes", "t"] and str(saved["title"]) == "a title"
        assert np.array_equal(saved["codes"], codes.numpy())
    assert not list(tmp_path.glob(".tmp-*")), "temporary files left behind"
