"""Tiny datasets in the real on-disk layouts (CelebA, the Kaggle anime sets, a folder), for the face tests.

Image i is a flat colour whose red channel is ``code(i)``, so a test can tell which file a cached row
came from and check that labels stayed with their images.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from genzoo.cli import main
from genzoo.datamodules.celeba import CELEBA_ATTRIBUTES

SMILING = CELEBA_ATTRIBUTES.index("Smiling")


def code(i: int) -> int:
    return 20 + 7 * (i % 33)  # distinct for up to 33 images, 7 levels apart (JPEG moves them by 1 or 2)


def write_image(path: Path, i: int, size: tuple[int, int] = (178, 218)) -> None:
    """A flat image whose red value is code(i), with a darker square in the middle (a 'face')."""
    w, h = size
    arr = np.empty((h, w, 3), dtype=np.uint8)
    arr[..., 0], arr[..., 1], arr[..., 2] = code(i), 100, (i * 11) % 256
    arr[h // 3 : 2 * h // 3, w // 3 : 2 * w // 3, 1] = 30
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path, quality=95)


def celeba_split(i: int) -> int:
    """0 train, 1 val, 2 test: 8 of every 10 images train."""
    return {8: 1, 9: 2}.get(i % 10, 0)


def make_celeba(root: Path, n: int = 30, labelled: int | None = 12, nested: bool = True, extra_rows: int = 3) -> Path:
    """CelebA in torchvision's layout under ``root/celeba`` (or directly in root when not ``nested``).

    The partition file covers the n images and ``extra_rows`` images that are not there (a partial copy);
    the attribute file covers the first ``labelled`` training images (None: no attribute file), Smiling
    on odd ones, written like the original: row count, names, CRLF, space-padded values.
    """
    base = root / "celeba" if nested else root
    names = [f"{i:06d}.jpg" for i in range(1, n + 1)]
    for i, name in enumerate(names, 1):
        write_image(base / "img_align_celeba" / name, i)
    total = n + extra_rows
    (base / "list_eval_partition.txt").write_text(
        "".join(f"{i:06d}.jpg {celeba_split(i)}\n" for i in range(1, total + 1))
    )
    (base / "identity_CelebA.txt").write_text("".join(f"{i:06d}.jpg {i % 7}\n" for i in range(1, total + 1)))
    if labelled is not None:
        rows = [i for i in range(1, n + 1) if celeba_split(i) == 0][:labelled]
        lines = [str(len(rows)), " ".join(CELEBA_ATTRIBUTES)]
        for i in rows:
            values = [-1] * len(CELEBA_ATTRIBUTES)
            values[SMILING] = 1 if i % 2 else -1
            lines.append(f"{i:06d}.jpg " + " ".join(f"{v:2d}" for v in values))
        (base / "list_attr_celeba.txt").write_bytes(("\r\n".join(lines) + "\r\n").encode())
    return base


def make_anime_png(root: Path, n: int = 20) -> Path:
    """Kaggle 'anime-faces': data/<i>.png, 64x64."""
    for i in range(n):
        write_image(root / "data" / f"{i}.png", i, (64, 64))
    return root


def make_anime_jpg(root: Path, n: int = 20) -> Path:
    """Kaggle 'Anime Face Dataset': images/<i>_<year>.jpg of mixed sizes."""
    for i in range(n):
        write_image(root / "images" / f"{i}_2005.jpg", i, (80 + 7 * i, 90 + 5 * i))
    return root


def cli_here(capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch, *args: str) -> subprocess.CompletedProcess:
    """`genzoo ARGS` through the same entry point, in this process: for error paths, where a process start
    would cost more than the check (the success paths run as real subprocesses)."""
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return subprocess.CompletedProcess(list(args), code, out, err)
