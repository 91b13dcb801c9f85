"""The one way tests build a model: ``build_model(name)`` makes any registered model, small by default.

Models not listed in ``OVERRIDES`` get ``hidden_dims=[width]`` (and a ``width``-wide latent discriminator
where they have one); a model whose ``hidden_dims`` mean something else (StyleALAE: channels per
resolution level) is listed. A new model needs no entry unless its arguments are of another kind.
"""

from __future__ import annotations

import inspect
from typing import Any

from genzoo.registry import MODELS

OVERRIDES: dict[str, dict[str, Any]] = {
    # The AAE's default rates are tuned for stable full-length runs; faster rates show within
    # test_adversarial's STEPS what a full run shows over many more (D learns, codes move, the decoder uses
    # its label).
    "aae": {"lr": 1e-3, "lr_disc": 5e-4, "lr_gen": 5e-4},
    "alae": {"latent_dim": 8, "w_dim": 8, "mapping_layers": 2},
    "style_alae": {"latent_dim": 8, "w_dim": 8, "hidden_dims": [4, 8], "mapping_layers": 2},
}


def tiny_kwargs(name: str, width: int = 64) -> dict[str, Any]:
    """Constructor arguments of a small version of model ``name`` (only those its __init__ accepts)."""
    params = inspect.signature(MODELS.get(name).__init__).parameters
    kwargs: dict[str, Any] = {"hidden_dims": [width], "latent_disc_dims": [width], **OVERRIDES.get(name, {})}
    return {k: v for k, v in kwargs.items() if k in params}


def build_model(
    name: str,
    width: int | None = 64,
    image_shape: tuple[int, int, int] = (1, 28, 28),
    num_classes: int = 10,
    fast: bool = True,
    **overrides: Any,
) -> Any:
    """Registered model ``name`` for images of ``image_shape``, ``width`` wide (None: its default size).

    ``fast`` adds the narrow settings of ``tiny_kwargs`` (latent discriminators, the OVERRIDES), for tests
    of every phase on a few batches; without it only the backbone's widths change, so the model trains as
    its defaults do. ``overrides`` win over everything; arguments the model does not accept
    (``num_classes`` for the unconditional ones, ``backbone`` for StyleALAE) are dropped.
    """
    cls = MODELS.get(name)
    params = inspect.signature(cls.__init__).parameters
    sized: dict[str, Any] = {}
    if width is not None and fast:
        sized = tiny_kwargs(name, width)
    elif width is not None and "backbone" in params:  # StyleALAE's hidden_dims are its levels' channels
        sized = {"hidden_dims": [width]}
    kwargs = {"image_shape": image_shape, "num_classes": num_classes, **sized, **overrides}
    return cls(**{k: v for k, v in kwargs.items() if k in params})


def tiny_cli_args(name: str, width: int = 32) -> list[str]:
    """The same as ``--model.KEY VALUE`` command-line flags."""
    args = []
    for key, value in tiny_kwargs(name, width).items():
        args += [f"--model.{key}", str(value).replace(" ", "")]
    return args
