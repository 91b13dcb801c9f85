"""Files written whole or not at all: every output of genzoo (caches, checkpoint evaluations, sample files,
benchmark reports) is written to a temporary file beside its target and moved into place, so an
interrupted run never leaves half a file and never damages the one already there."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def _current_umask() -> int:
    mask = os.umask(0)  # the only way to read it is to set it
    os.umask(mask)
    return mask


UMASK = _current_umask()


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` to write; on success it replaces ``path``, on error it goes.

    The file gets the permissions of any new file (0o666 less the umask), not the owner-only 0o600 of
    ``tempfile.mkstemp``, so a cache or a result stays readable to whoever can read its folder.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~UMASK)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_text_atomic(text: str, path: str | Path) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_json_atomic(data: Any, path: str | Path) -> None:
    write_text_atomic(json.dumps(data, indent=2) + "\n", path)
