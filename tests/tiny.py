"""Narrow settings of every multi-phase model, for tests that need every phase of a real model, fast.

Models not listed get ``hidden_dims=[64]`` (and a 64-wide latent discriminator where they have one);
a model whose ``hidden_dims`` mean something else (StyleALAE: channels per resolution level) is listed.
"""

from __future__ import annotations

import inspect
from typing import Any

from genzoo.registry import MODELS

OVERRIDES: dict[str, dict[str, Any]] = {
    # The AAE's defaults are tuned for 10 stable epochs; on a 64-image batch, faster rates show within
    # 150 steps what a full run shows over thousands (D learns, codes move, the decoder uses its label).
    "aae": {"lr": 1e-3, "lr_disc": 5e-4, "lr_gen": 5e-4},
    "alae": {"latent_dim": 8, "w_dim": 8, "mapping_layers": 2},
    "style_alae": {"latent_dim": 8, "w_dim": 8, "hidden_dims": [4, 8], "mapping_layers": 2},
}


def tiny_kwargs(name: str, width: int = 64) -> dict[str, Any]:
    """Constructor arguments of a small version of model ``name`` (only those its __init__ accepts)."""
    params = inspect.signature(MODELS.get(name).__init__).parameters
    kwargs: dict[str, Any] = {"hidden_dims": [width], "latent_disc_dims": [width], **OVERRIDES.get(name, {})}
    return {k: v for k, v in kwargs.items() if k in params}


def tiny_cli_args(name: str, width: int = 32) -> list[str]:
    """The same as ``--model.KEY VALUE`` command-line flags."""
    args = []
    for key, value in tiny_kwargs(name, width).items():
        args += [f"--model.{key}", str(value).replace(" ", "")]
    return args
