"""Argument rewriting before LightningCLI parses: registry short names, logger aliases, default data.

Nothing here imports torch, so bad arguments are reported at once.
"""

from __future__ import annotations

from genzoo.commands import LIGHTNING_COMMANDS
from genzoo.errors import GenzooError
from genzoo.registry import DATAMODULES, MODELS, Registry

LOGGER_ALIASES = {
    "csv": "csv", "csvlogger": "csv",
    "tensorboard": "tensorboard", "tensorboardlogger": "tensorboard", "tb": "tensorboard",
    "wandb": "wandb", "wandblogger": "wandb",
}  # fmt: skip


def _resolve_alias(value: str, registry: Registry, flag: str) -> str:
    """A registry short name -> the class path LightningCLI wants; dotted paths pass through."""
    if value in registry:
        return registry.class_path(value)
    if "." in value or value.startswith(("{", "[")):
        return value  # a full class path or inline config: LightningCLI's business
    for name in registry.names():  # also accept the class name itself (VAE, MNISTDataModule)
        if registry.class_path(name).rpartition(".")[2] == value:
            return registry.class_path(name)
    raise GenzooError(f"unknown {registry.kind} {value!r} for {flag}; known: {', '.join(registry.names())}")


def rewrite_arguments(argv: list[str]) -> tuple[list[str], str | None]:
    """Resolve short names in a LightningCLI argument list; returns (new argv, logger alias or None)."""
    out: list[str] = []
    logger_choice = None
    has_data = False
    i = 0
    while i < len(argv):
        arg = argv[i]
        flag, eq, value = arg.partition("=")
        if flag in ("--model", "--data", "--trainer.logger") and not eq and i + 1 < len(argv):
            value, i = argv[i + 1], i + 1
        elif flag not in ("--model", "--data", "--trainer.logger") or not eq:
            out.append(arg)
            i += 1
            continue
        if flag == "--model":
            out += [flag, _resolve_alias(value, MODELS, flag)]
        elif flag == "--data":
            has_data = True
            out += [flag, _resolve_alias(value, DATAMODULES, flag)]
        elif value.lower() in LOGGER_ALIASES:
            logger_choice = LOGGER_ALIASES[value.lower()]
        else:
            out += [flag, value]
        i += 1
    if out and out[0] in LIGHTNING_COMMANDS and not has_data and "--help" not in out and "-h" not in out:
        # Default data: the bundled MNIST. Placed first so a --config recipe can still override it.
        out[1:1] = ["--data", DATAMODULES.class_path("mnist")]
    return out, logger_choice
