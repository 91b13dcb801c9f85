"""``genzoo fit --help`` at once: LightningCLI's help text, kept once it has been built.

The help of a Lightning command lists every Trainer flag and, with ``--model X``, every argument of X.
LightningCLI can only build it after importing torch and Lightning and introspecting the classes, which
takes seconds. The text changes only when genzoo's code, the installed libraries, the arguments or the
terminal width change, so it is cached under ``$XDG_CACHE_HOME/genzoo/help/`` (default ``~/.cache``)
with all of those in its key. A miss builds it the slow way, prints it and stores it.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1]  # genzoo/
LIBRARIES = ("torch", "pytorch-lightning", "lightning", "jsonargparse")  # whose versions shape the help


def cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "genzoo" / "help"


def help_key(args: list[str], logger_choice: str | None) -> str:
    """What the help text depends on: the arguments, the terminal width, genzoo's source files (their
    sizes and modification times) and the installed versions of the libraries that write the text."""
    digest = hashlib.sha256(json.dumps([args, logger_choice, shutil.get_terminal_size().columns]).encode())
    for name in LIBRARIES:
        try:
            digest.update(f"{name}={metadata.version(name)};".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"{name}=none;".encode())
    for path in sorted(PACKAGE.rglob("*.py")):
        stat = path.stat()
        digest.update(f"{path.relative_to(PACKAGE)}:{stat.st_size}:{stat.st_mtime_ns};".encode())
    return digest.hexdigest()[:24]


def cached_help(args: list[str], logger_choice: str | None, build: Callable[[], None]) -> str:
    """The help text for ``args``: from the cache, or printed by ``build()`` (captured) and then stored."""
    path = cache_dir() / f"{help_key(args, logger_choice)}.txt"
    if path.is_file():
        return path.read_text()
    with contextlib.redirect_stdout(io.StringIO()) as captured:
        build()  # an error (SystemExit, GenzooError) propagates and nothing is stored
    text = captured.getvalue()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(text)
        partial.replace(path)  # whole or absent: a concurrent reader never sees half a text
    except OSError:
        pass  # a read-only or full cache folder only costs speed: the help itself is printed either way
    return text
