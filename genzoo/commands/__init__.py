"""Subcommands of ``genzoo`` beyond LightningCLI's fit/validate/test/predict.

Each entry maps a command name to a function taking the remaining arguments and returning an exit code.
A problem with the user's input raises ``GenzooError`` (one line, exit code 2).
"""

from __future__ import annotations

from collections.abc import Callable

from genzoo.commands.app import app_command
from genzoo.commands.bench import bench_command
from genzoo.commands.edit import edit_command
from genzoo.commands.evaluate import evaluate_command
from genzoo.commands.explore import explore_command
from genzoo.commands.interpolate import interpolate_command
from genzoo.commands.listing import list_command
from genzoo.commands.reconstruct import reconstruct_command
from genzoo.commands.sample import sample_command
from genzoo.commands.traverse import traverse_command

COMMANDS: dict[str, Callable[[list[str]], int]] = {
    "list": list_command,
    "sample": sample_command,
    "edit": edit_command,
    "eval": evaluate_command,
    "bench": bench_command,
    "reconstruct": reconstruct_command,
    "interpolate": interpolate_command,
    "traverse": traverse_command,
    "explore": explore_command,
    "app": app_command,
}
