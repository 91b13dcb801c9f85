"""Files written whole or not at all: every output of genzoo (caches, checkpoints, checkpoint evaluations,
sample files, benchmark reports) is written to a temporary file beside its target and moved into place,
so an interrupted run never leaves half a file and never damages the one already there."""

from __future__ import annotations

import errno
import json
import os
import tempfile
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from genzoo.errors import GenzooError


def _current_umask() -> int:
    mask = os.umask(0)  # the only way to read it is to set it
    os.umask(mask)
    return mask


UMASK = _current_umask()


@contextmanager
def atomic_path(path: str | Path, allow_empty: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` to write; on success it replaces ``path``, on error it goes.

    The file gets the permissions of any new file (0o666 less the umask), not the owner-only 0o600 of
    ``tempfile.mkstemp``, so a cache or a result stays readable to whoever can read its folder.

    A writer that left the temporary file empty (one that wrote somewhere else, e.g. numpy adding its own
    suffix) is an error unless ``allow_empty``: an empty file never replaces a good one. A failed write
    (a full disk, a read-only folder) is reported as a GenzooError naming the file, which is left as it was.
    """
    path = Path(path)
    existed = path.exists()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
        os.close(fd)
    except OSError as err:
        raise write_error(path, err, existed) from None
    tmp = Path(name)
    try:
        try:
            yield tmp
        except OSError as err:
            raise write_error(path, err, existed) from None
        if not allow_empty and tmp.stat().st_size == 0:
            raise RuntimeError(f"writing {path} produced an empty file; {path} was left as it was")
        os.chmod(tmp, 0o666 & ~UMASK)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_error(path: Path, err: OSError, existed: bool) -> GenzooError:
    """The one-line report of a write that failed: what, why, and that nothing was damaged."""
    kept = "the previous file is kept" if existed else "nothing was written"
    return GenzooError(f"could not write {path} ({err.strerror or err}); {kept}")


#: errors of a write that found no room (or no right) to write, as opposed to a missing input
WRITE_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS)


def failed_write(err: BaseException) -> GenzooError | None:
    """The one-line report of a write that failed outside ``atomic_path``'s own translation, or None when
    ``err`` is no such failure: an OSError of a full disk in a writer of Lightning's (metrics.csv, the
    config), or torch's checkpoint writer, which reports any failed write as a RuntimeError without errno."""
    if isinstance(err, OSError) and err.errno in WRITE_ERRNOS:
        if err.filename is None:
            return GenzooError(f"a file of the run could not be written ({err.strerror}); free some space and rerun")
        path = Path(err.filename)
        return write_error(path, err, path.exists())
    if isinstance(err, RuntimeError) and "inline_container.cc" in str(err):  # torch's zip writer
        # The frame of a checkpoint writer knows which file was being written (genzoo.runs.AtomicCheckpointIO;
        # found by name, since genzoo.runs sits above this module).
        paths = [
            f.f_locals.get("path")
            for f, _ in traceback.walk_tb(err.__traceback__)
            if f.f_code.co_name == "save_checkpoint" and f.f_globals.get("__name__") == "genzoo.runs"
        ]
        if paths and paths[-1] is not None:
            path = Path(paths[-1])
            return write_error(path, OSError(errno.EIO, "torch could not write it: is the disk full?"), path.exists())
    return None


def write_text_atomic(text: str, path: str | Path) -> None:
    with atomic_path(path, allow_empty=not text) as tmp:
        tmp.write_text(text)


def write_json_atomic(data: Any, path: str | Path) -> None:
    write_text_atomic(json.dumps(data, indent=2) + "\n", path)
