"""The ``genzoo`` entry point: dispatch to a command from the table, turn user errors into one line.

It imports nothing heavy: ``genzoo --help``, ``genzoo list`` and a mistyped command answer at once;
each command imports what it needs when it runs.
"""

from __future__ import annotations

import sys

from genzoo.cli.arguments import rewrite_arguments
from genzoo.commands import COMMANDS, LIGHTNING_COMMANDS
from genzoo.errors import GenzooError


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``genzoo`` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if not argv or argv[0] in ("-h", "--help"):
            print(usage())
            return 0
        if argv[0] not in COMMANDS:
            raise GenzooError(f"unknown command {argv[0]!r}; use one of: {', '.join(COMMANDS.names())}")
        command = COMMANDS.get(argv[0])
        if argv[0] in LIGHTNING_COMMANDS:
            command(argv)  # LightningCLI parses the subcommand itself
            return 0
        return command(argv[1:]) or 0
    except GenzooError as err:
        print(f"genzoo: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("genzoo: interrupted", file=sys.stderr)
        return 130


def lightning_command(argv: list[str]) -> None:
    """``genzoo fit|validate|test ...``: names are resolved (and unknown ones refused) before Lightning loads."""
    args, logger_choice = rewrite_arguments(argv)
    if "--help" in args or "-h" in args:
        from genzoo.cli.help_cache import cached_help  # hashlib and importlib.metadata: only for help

        print(cached_help(args, logger_choice, lambda: _print_help(args, logger_choice)), end="")
        return
    from genzoo.cli.lightning import run_lightning

    run_lightning(args, logger_choice)


def _print_help(args: list[str], logger_choice: str | None) -> None:
    from genzoo.cli.lightning import print_help

    print_help(args, logger_choice)


def usage() -> str:
    """The top-level help, generated from the command table."""
    order = [*LIGHTNING_COMMANDS, *(name for name in COMMANDS.names() if name not in LIGHTNING_COMMANDS)]
    lines = [f"  {name:<10} {COMMANDS.summary(name)}" for name in order]
    return "\n".join(
        ["usage: genzoo COMMAND [options]", "", "commands:", *lines, "", "Run 'genzoo COMMAND --help' for its options."]
    )
