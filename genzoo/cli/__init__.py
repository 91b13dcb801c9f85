"""The ``genzoo`` command line.

- ``main.py``: the entry point; dispatches through the command table (``genzoo.commands``).
- ``arguments.py``: short names and aliases rewritten before LightningCLI parses; one-line errors.
- ``lightning.py``: ``genzoo fit|validate|test``, LightningCLI with genzoo's run folders and defaults.

Run folders and their loggers are ``genzoo.runs``. Every problem with the user's input is reported as
one line on stderr with exit code 2. ``configure`` and ``run_lightning`` load Lightning, so they are
imported on first use: ``from genzoo.cli import main`` stays light.
"""

from __future__ import annotations

from typing import Any

from genzoo.cli.arguments import rewrite_arguments
from genzoo.cli.main import main, usage
from genzoo.errors import condense_argument_error

__all__ = ["condense_argument_error", "configure", "main", "rewrite_arguments", "run_lightning", "usage"]


def __getattr__(name: str) -> Any:
    if name in ("configure", "run_lightning", "GenzooCLI"):
        from genzoo.cli import lightning

        return getattr(lightning, name)
    raise AttributeError(f"module 'genzoo.cli' has no attribute {name!r}")
