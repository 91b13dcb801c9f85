"""Ranges declared once, in the types of the ``__init__`` arguments (``genzoo.ranges``): every number a
registered model or datamodule takes carries one, the parser refuses a value outside it in one line naming
the flag and what is allowed, and building the class in Python refuses it too."""

from __future__ import annotations

import argparse
import copy
import io
import math
import pickle
import types
import typing
from typing import Any, Literal, Union

import pytest
import torch
from jsonargparse import ArgumentParser

from genzoo.checks import check_trainer
from genzoo.errors import GenzooError
from genzoo.ranges import (
    MIN_IMAGE_SIDE,
    CheckedArguments,
    Fraction,
    ImageSide,
    NonNegativeInteger,
    NonNegativeNumber,
    PositiveInteger,
    PositiveNumber,
    describe,
    is_number_type,
    out_of_range,
)
from genzoo.registry import BACKBONES, DATAMODULES, MODELS

CLASSES = {f"model {name}": MODELS.get(name) for name in MODELS} | {
    f"data {name}": DATAMODULES.get(name) for name in DATAMODULES
}


def unconstrained(hint: Any) -> list[str]:
    """The plain ``int`` and ``float`` inside a type hint: numbers that no range or choice constrains."""
    if is_number_type(hint) or typing.get_origin(hint) is Literal:
        return []
    if hint in (int, float):
        return [hint.__name__]
    if typing.get_origin(hint) in (Union, types.UnionType, list, tuple):
        return [found for arg in typing.get_args(hint) for found in unconstrained(arg)]
    return []


def init_arguments(cls: type) -> dict[str, Any]:
    """``__init__``'s arguments (self left out) -> their type hints."""
    return {name: hint for name, hint in typing.get_type_hints(cls.__init__).items() if name != "return"}


def test_the_walk_finds_a_plain_number() -> None:
    class Loose:
        def __init__(
            self, a: int, b: list[float] | None, c: PositiveInteger, d: Literal[1, 2], e: bool, f: str
        ) -> None: ...

    found = {name: unconstrained(hint) for name, hint in init_arguments(Loose).items()}
    assert found == {"a": ["int"], "b": ["float"], "c": [], "d": [], "e": [], "f": []}


@pytest.mark.parametrize("cls", CLASSES.values(), ids=CLASSES.keys())
def test_every_number_argument_declares_its_range(cls: type) -> None:
    arguments = init_arguments(cls)
    assert arguments, f"{cls.__name__}.__init__ has no typed arguments"
    loose = {name: found for name, hint in arguments.items() if (found := unconstrained(hint))}
    assert not loose, f"{cls.__name__}: numbers without a declared range: {loose}"
    assert issubclass(cls, CheckedArguments), f"{cls.__name__} is not checked when built in Python"


# ----- the parser: flags and recipes alike ------------------------------------------------------------------
def outside(hint: Any) -> Any:
    """A value just outside the range of the first restricted number in ``hint`` (None if it has none)."""
    if is_number_type(hint):
        compare, reference = hint._restrictions[0]
        step = 1 if hint._type is int else 0.5
        return reference - step if compare(reference, reference) else reference  # >= r: r - 1; > r: r
    origin = typing.get_origin(hint)
    if origin in (Union, types.UnionType):
        return next((v for arg in typing.get_args(hint) if (v := outside(arg)) is not None), None)
    if origin in (list, tuple):
        bad = outside(typing.get_args(hint)[0])
        return None if bad is None else [bad] * (len(typing.get_args(hint)) if origin is tuple else 1)
    return None


BAD_VALUES = [
    (key, name, value)
    for key, cls in CLASSES.items()
    for name, hint in init_arguments(cls).items()
    if (value := outside(hint)) is not None
]


def parser_of(cls: type) -> ArgumentParser:
    parser = ArgumentParser(exit_on_error=False)
    parser.add_class_arguments(cls, "section")
    return parser


@pytest.mark.parametrize(("key", "name", "value"), BAD_VALUES, ids=[f"{k} {n}={v}" for k, n, v in BAD_VALUES])
def test_the_parser_refuses_a_value_outside_its_range_in_one_line(key: str, name: str, value: Any) -> None:
    parser = parser_of(CLASSES[key])
    with pytest.raises(argparse.ArgumentError) as flag:
        parser.parse_args([f"--section.{name}", str(value)])
    line = out_of_range(str(flag.value))
    assert line is not None and line.startswith(f"--section.{name} "), str(flag.value)
    assert ": out of range; allowed: a " in line and "\n" not in line
    with pytest.raises(argparse.ArgumentError) as recipe:  # a recipe's value: parsed from YAML, not a flag
        parser.parse_string(f"section:\n  {name}: {value}\n")
    assert out_of_range(str(recipe.value)) == line


def test_the_error_names_the_whole_list_and_says_what_is_allowed() -> None:
    parser = parser_of(MODELS.get("gan"))
    with pytest.raises(argparse.ArgumentError) as err:
        parser.parse_args(["--section.hidden_dims", "[64, -3]"])
    assert out_of_range(str(err.value)) == "--section.hidden_dims [64, -3]: out of range; allowed: a whole number >= 1"
    with pytest.raises(argparse.ArgumentError) as err:
        parser.parse_args(["--section.lr", "fast"])
    assert out_of_range(str(err.value)) == "--section.lr fast: not a number; allowed: a number > 0"
    assert out_of_range('Parser key "model.prior": Expected a typing.Literal') is None


def test_parsed_values_reach_the_class_as_plain_numbers() -> None:
    """Restricted types are classes of their own; a checkpoint read with weights_only=True refuses them."""
    parser = parser_of(MODELS.get("alae"))
    config = parser.parse_args(["--section.hidden_dims", "[32, 16]", "--section.betas", "[0.5, 0.9]"])
    model = parser.instantiate(config).section
    kinds = {name: [type(v) for v in (value if isinstance(value, (list, tuple)) else [value])]
             for name, value in model.hparams.items()}  # fmt: skip
    assert all(kind in (int, float, str, bool) for found in kinds.values() for kind in found), kinds
    buffer = io.BytesIO()
    torch.save({"hyper_parameters": dict(model.hparams)}, buffer)
    buffer.seek(0)
    assert torch.load(buffer, weights_only=True)["hyper_parameters"]["hidden_dims"] == [32, 16]


# ----- in Python ---------------------------------------------------------------------------------------------
def test_building_in_python_checks_the_same_ranges() -> None:
    vae_class, folder_class = MODELS.get("vae"), DATAMODULES.get("folder")
    assert vae_class(latent_dim=8).latent_dim == 8
    with pytest.raises(GenzooError, match=r"VAE: latent_dim 0: out of range; allowed: a whole number >= 1"):
        vae_class(latent_dim=0)
    with pytest.raises(GenzooError, match=r"VAE: hidden_dims \[64, -1\]: out of range"):
        vae_class(hidden_dims=[64, -1])
    with pytest.raises(GenzooError, match=r"VAE: lr inf: out of range; allowed: a number > 0"):
        vae_class(lr=math.inf)
    with pytest.raises(GenzooError, match=r"VAE: recon_loss huber: not a choice; allowed: one of bce, mse, l1"):
        vae_class(recon_loss="huber")
    with pytest.raises(GenzooError, match=r"FolderDataModule: size 2: out of range; allowed: a whole number >= 4"):
        folder_class(root=".", size=2)
    with pytest.raises(GenzooError, match=r"GAN: betas \[0.5, 1.0\]: out of range; allowed: a number >= 0 and < 1"):
        MODELS.get("gan")(betas=(0.5, 1.0))


def test_a_checked_model_copies_and_pickles() -> None:
    model = MODELS.get("aegan")(latent_dim=4)
    for twin in (copy.deepcopy(model), pickle.loads(pickle.dumps(model))):
        assert twin.latent_dim == 4 and twin.hparams == model.hparams


def test_the_ranges_read_as_words() -> None:
    assert describe(PositiveInteger) == "a whole number >= 1"
    assert describe(NonNegativeInteger) == "a whole number >= 0"
    assert describe(PositiveNumber) == "a number > 0"
    assert describe(NonNegativeNumber) == "a number >= 0"
    assert describe(Fraction) == "a number >= 0 and < 1"
    assert describe(ImageSide) == f"a whole number >= {MIN_IMAGE_SIDE}"


@pytest.mark.parametrize("name", MODELS.names())
def test_every_model_builds_and_samples_at_the_smallest_image_side(name: str) -> None:
    """``ImageSide``'s minimum is what every model needs, with every backbone it can take."""
    model_class = MODELS.get(name)
    families = BACKBONES.names() if "backbone" in init_arguments(model_class) else [None]
    for family in families:
        chosen = {} if family is None else {"backbone": family}
        model = model_class(image_shape=(3, MIN_IMAGE_SIDE, MIN_IMAGE_SIDE), **chosen).eval()
        labels = torch.arange(2) if model.conditional else None
        assert model.sample(2, y=labels).shape == (2, 3, MIN_IMAGE_SIDE, MIN_IMAGE_SIDE), family


# ----- the Trainer's flags, whose signature is Lightning's ---------------------------------------------------
@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (
            {"num_sanity_val_steps": -2},
            "--trainer.num_sanity_val_steps -2: out of range; allowed: a whole number >= -1",
        ),
        ({"min_epochs": -1}, "--trainer.min_epochs -1: out of range; allowed: a whole number >= 0"),
        ({"max_epochs": 0}, "--trainer.max_epochs 0: out of range; allowed: a whole number >= 1 (or -1)"),
    ],
)
def test_trainer_flags_out_of_range(flags: dict[str, int], message: str) -> None:
    with pytest.raises(GenzooError) as err:
        check_trainer({"max_epochs": 1, **flags})
    assert str(err.value) == message
    check_trainer({"max_epochs": 1, "num_sanity_val_steps": -1, "min_epochs": 0})
