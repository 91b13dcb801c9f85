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
