"""Loading any genzoo model back from a checkpoint file, including checkpoints of earlier versions."""

from __future__ import annotations

import io
from pathlib import Path

import torch

from genzoo.models.base import GenerativeModule
from genzoo.registry import MODELS

#: model arguments of earlier versions that checkpoints may still carry (now Trainer flags, or gone)
RETIRED_HPARAMS = frozenset({"log_every_n_steps"})


def load_model(path: str | Path, map_location: str = "cpu") -> GenerativeModule:
    """Rebuild any genzoo model from a checkpoint file."""
    from genzoo.checks import check_checkpoint_file

    checkpoint = check_checkpoint_file(path, "checkpoint")
    name = checkpoint["genzoo_model"]
    hparams = checkpoint.get("hyper_parameters") or {}
    model_class = MODELS.get(name)
    # Arguments added after the checkpoint was written: the behaviour the model had before them, not
    # today's default (which may differ).
    added = {key: value for key, value in model_class.hparams_before_added.items() if key not in hparams}
    if RETIRED_HPARAMS & hparams.keys():
        # An older genzoo saved arguments that no longer exist; drop them and load from memory.
        for key in RETIRED_HPARAMS:
            hparams.pop(key, None)
        buffer = io.BytesIO()
        torch.save(checkpoint, buffer)
        buffer.seek(0)
        return model_class.load_from_checkpoint(buffer, map_location=map_location, **added).eval()
    return model_class.load_from_checkpoint(path, map_location=map_location, **added).eval()
