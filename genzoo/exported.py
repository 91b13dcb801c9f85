"""An exported model: a folder in the Hugging Face hub's layout that holds data only, so opening it runs no code.

    model.safetensors   every tensor of the model's state dict (moving averages included)
    config.json         {"genzoo_model": "vae", "format_version": 1, "hyper_parameters": {...}}: what to build,
                        with what
    config.yaml         the run's own config (its data), when the checkpoint came from a run folder
    README.md           the hub's model card

``genzoo export`` writes it (``genzoo.hub``); every command that takes ``--ckpt`` reads it, or a checkpoint
file, with ``read_saved`` (torch and safetensors only, before genzoo's models are imported, so a bad file is
refused at once) and builds the model with ``genzoo.models.loading``. Reading needs only safetensors; writing
and the hub also need huggingface_hub, both in the ``hub`` extra.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from genzoo.checkpoint_format import FORMAT_VERSION, check_format_version
from genzoo.errors import GenzooError
from genzoo.registry import MODELS

WEIGHTS_NAME = "model.safetensors"
CONFIG_NAME = "config.json"
RUN_CONFIG_NAME = "config.yaml"
HUB_EXTRA = "pip install 'genzoo[hub]'"


@dataclass(frozen=True)
class SavedModel:
    """A saved model read as data: a checkpoint dict (``genzoo_model``, ``hyper_parameters``, ``state_dict``),
    where it came from (for messages), and whether it is an export (whose config.json must be exact)."""

    checkpoint: dict[str, Any]
    source: str
    exported: bool


def is_exported(path: str | Path) -> bool:
    """Whether ``path`` names an exported model (its folder, or the model.safetensors in it)."""
    path = Path(path)
    return path.is_dir() or path.suffix == ".safetensors"


def read_saved(path: str | Path, flag: str = "--ckpt") -> SavedModel:
    """A checkpoint file or an exported folder, read as data only; a missing, damaged or unsafe one is refused
    in one line naming ``flag``."""
    from genzoo.checks import check_checkpoint_file

    path = Path(path)
    if is_exported(path):
        return SavedModel(read_exported(path, flag), f"{flag} {path}", exported=True)
    return SavedModel(check_checkpoint_file(path, flag), f"{flag} {path}", exported=False)


def weights_file(path: str | Path) -> Path:
    """The file holding a model's weights: a checkpoint itself, or an exported folder's model.safetensors.

    Commands look for the run's config.yaml (the data it was trained on) beside this file's folder, as for
    ``run/checkpoints/last.ckpt``; ``genzoo export`` copies it into the folder for that reason.
    """
    path = Path(path)
    return path / WEIGHTS_NAME if path.is_dir() else path


def exported_config(model: Any) -> dict[str, Any]:
    """The config.json of ``model``: its registered name and constructor arguments, as plain JSON values."""
    hparams = {key: value for key, value in dict(model.hparams).items() if not key.startswith("_")}
    return {
        "genzoo_model": MODELS.name_of(model),
        "format_version": FORMAT_VERSION,
        "hyper_parameters": json.loads(json.dumps(hparams)),
    }


def write_weights(model: Any, path: Path) -> None:
    """The model's state dict as safetensors (separate, contiguous CPU copies: the format stores no aliases)."""
    from safetensors.torch import save_file

    from genzoo.atomic import UMASK

    state = {key: value.detach().cpu().contiguous().clone() for key, value in model.state_dict().items()}
    save_file(state, str(path), metadata={"format": "pt", "genzoo_model": MODELS.name_of(model)})
    path.chmod(0o666 & ~UMASK)  # the writer makes it owner-only; a shared model is readable like any output


def read_exported(path: Path, flag: str = "--ckpt") -> dict[str, Any]:
    """An exported folder (or its model.safetensors) as a checkpoint dict: ``genzoo_model``,
    ``hyper_parameters`` and ``state_dict``; a missing, unreadable or malformed part is a one-line error."""
    path = Path(path)
    folder = path if path.is_dir() else path.parent
    source = f"{flag} {path}"
    for name in (CONFIG_NAME, WEIGHTS_NAME):
        if not (folder / name).is_file():
            raise GenzooError(
                f"{source}: no {name} in {folder}; an exported model is a folder holding {WEIGHTS_NAME} and "
                f"{CONFIG_NAME}, as genzoo export writes it"
            )
    try:
        config = json.loads((folder / CONFIG_NAME).read_text())
    except (ValueError, OSError) as err:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise GenzooError(f"{source}: {CONFIG_NAME} cannot be read ({err}); export the checkpoint again") from None
    if not isinstance(config, dict):
        raise GenzooError(f"{source}: {CONFIG_NAME} is not a JSON object; export the checkpoint again")
    check_format_version(config, source)
    try:
        from safetensors.torch import load_file
    except ImportError:
        raise GenzooError(f"reading the exported model {path} needs safetensors: {HUB_EXTRA}") from None
    try:
        state = load_file(folder / WEIGHTS_NAME)
    except Exception as err:  # a damaged file fails in the Rust reader in several ways; all mean the same
        raise GenzooError(
            f"{source}: {WEIGHTS_NAME} cannot be read ({type(err).__name__}: {err}); is it a whole file?"
        ) from None
    return {
        "genzoo_model": config.get("genzoo_model"),
        "format_version": FORMAT_VERSION,
        "hyper_parameters": config.get("hyper_parameters"),
        "state_dict": state,
    }
