"""``genzoo list``: what the registries hold."""

from __future__ import annotations

from genzoo.commands.args import CommandParser
from genzoo.registry import BACKBONES, DATAMODULES, MODELS, Registry


def list_command(argv: list[str]) -> int:
    CommandParser(prog="genzoo list", description="List models, backbones and datasets.").parse_args(argv)
    sections: list[tuple[str, Registry]] = [("models", MODELS), ("backbones", BACKBONES), ("datasets", DATAMODULES)]
    for title, registry in sections:
        print(f"{title}:")
        for name in registry.names():
            print(f"  {name:<12} {registry.summary(name)}")
    return 0
