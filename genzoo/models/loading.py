"""Loading any genzoo model back: from a checkpoint file or from a folder written by ``genzoo export``
(``model.safetensors`` and ``config.json``), of this genzoo's format (``genzoo.exported.FORMAT_VERSION``).

Both are read as data only: a checkpoint with ``torch.load(weights_only=True)``, a folder with safetensors
and JSON. The model is then built here from its registered name and type-checked hyper-parameters, not by
Lightning from the class path and instantiator the file names, so nothing in the file decides what runs.
"""

from __future__ import annotations

import argparse
import inspect
from pathlib import Path
from typing import Any

from genzoo.errors import NOISE_PREFIXES, GenzooError
from genzoo.exported import SavedModel, read_saved
from genzoo.models.base import GenerativeModule
from genzoo.registry import MODELS

SAVED_BY_GENZOO = "give a checkpoint written by genzoo fit, or a folder written by genzoo export"


def load_model(saved: str | Path | SavedModel, map_location: str = "cpu", flag: str = "checkpoint") -> GenerativeModule:
    """Rebuild any genzoo model from a checkpoint file or an exported folder (``flag`` names it in errors), or
    from what ``read_saved`` read of one."""
    if not isinstance(saved, SavedModel):
        saved = read_saved(saved, flag)
    return model_from_checkpoint(saved.checkpoint, saved.source, saved.exported).to(map_location)


def model_from_checkpoint(checkpoint: dict[str, Any], source: str, exact: bool = False) -> GenerativeModule:
    """The model a checkpoint's ``genzoo_model``, ``hyper_parameters`` and ``state_dict`` describe, in eval
    mode. ``exact``: refuse hyper-parameters the model does not take (an exported config.json); otherwise
    drop them, as Lightning does."""
    from genzoo.checks import state_mismatch

    name = checkpoint.get("genzoo_model")
    if not isinstance(name, str):
        raise GenzooError(f"{source} names no genzoo model ('genzoo_model' is {name!r}); {SAVED_BY_GENZOO}")
    model_class = MODELS.get(name)
    hparams = checkpoint.get("hyper_parameters") or {}
    state = checkpoint.get("state_dict")
    if not isinstance(hparams, dict) or not isinstance(state, dict):
        raise GenzooError(f"{source} holds no hyper-parameters and weights of a {name}; {SAVED_BY_GENZOO}")
    model = build_model(model_class, model_arguments(model_class, hparams, source, exact), source)
    why = state_mismatch(state, model.state_dict())
    if why is not None:
        raise GenzooError(f"{source}: its weights do not fit its own hyper-parameters ({why}); is the file whole?")
    model.load_state_dict(state)
    return model.eval()


def model_arguments(model_class: type, hparams: dict[str, Any], source: str, exact: bool) -> dict[str, Any]:
    """The constructor arguments of a saved model, type- and range-checked as ``genzoo fit`` checks its flags."""
    from jsonargparse import ArgumentParser

    from genzoo.ranges import out_of_range

    accepted = inspect.signature(model_class.__init__).parameters
    # Lightning records how it built the model (_class_path, _instantiator); genzoo builds it by name.
    saved = {k: v for k, v in hparams.items() if not str(k).startswith("_")}
    unknown = [key for key in saved if key not in accepted]
    if unknown and exact:
        raise GenzooError(f"{source}: {model_class.__name__} takes no hyper-parameter {unknown[0]!r}")
    saved = {k: v for k, v in saved.items() if k in accepted}
    parser = ArgumentParser(exit_on_error=False)
    parser.add_class_arguments(model_class, "model")
    try:
        arguments = parser.parse_object({"model": saved}).model.as_dict()
    except argparse.ArgumentError as err:
        outside = out_of_range(str(err))
        if outside is not None:
            raise GenzooError(f"{source}: hyper-parameter {outside.removeprefix('--model.')}") from None
        lines = (line.strip().lstrip("- ") for line in str(err).replace('"model.', '"').splitlines())
        detail = " ".join(line for line in lines if line and not line.startswith(NOISE_PREFIXES))
        raise GenzooError(f"{source}: bad hyper-parameter: {detail}") from None
    return arguments


def build_model(model_class: type, arguments: dict[str, Any], source: str) -> GenerativeModule:
    try:
        return model_class(**arguments)
    except GenzooError as err:
        raise GenzooError(f"{source}: {err}") from None
    except Exception as err:  # a value of the right type the model still cannot be built with
        raise GenzooError(
            f"{source}: its hyper-parameters do not build a {model_class.__name__} ({type(err).__name__}: {err})"
        ) from None
