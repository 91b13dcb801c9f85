"""The layout of a saved model, a checkpoint or an export: its entries and the names of its weights.

Every checkpoint and exported config records ``format_version``; ``check_format_version`` is the one place
that reads it, for every reader (resume, ``load_model``, the commands that take ``--ckpt``, the hub). A file
in another layout, or from before the layout was versioned, is refused in one line naming its version:
there is one format, with no migration code.
"""

from __future__ import annotations

from typing import Any

from genzoo.errors import GenzooError

#: the format this genzoo writes and reads
FORMAT_VERSION = 1


def check_format_version(saved: dict[str, Any], source: str) -> None:
    """Refuse, in one line naming its version, a checkpoint or export written in another layout than this one."""
    version = saved.get("format_version", 0)  # files from before the format was versioned carry none
    if version != FORMAT_VERSION:
        raise GenzooError(
            f"{source} is in genzoo's saved-model format {version}, and this genzoo reads format {FORMAT_VERSION} "
            "only; train the model again with this version"
        )
