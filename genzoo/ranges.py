"""Allowed values of numeric arguments, declared once: in the type of each ``__init__`` argument.

A model or datamodule states the range of each number it takes in its signature
(``latent_dim: PositiveInteger``, ``betas: tuple[Fraction, Fraction]``). The types are jsonargparse
restricted numbers, so LightningCLI's parser refuses an out-of-range value wherever it comes from: a
flag, a recipe, the hyper-parameters of a checkpoint. The same declaration is checked when the class is
built in Python (``CheckedArguments``), and it is the text of the one-line error either way
(``out_of_range``), so the range, its check and its message cannot drift apart.

An invariant between two arguments (two fractions that must leave some data for training, a prior that
needs a number of classes) is not a range: it stays in the ``__init__`` of the class that has both.
"""

from __future__ import annotations

import collections.abc
import functools
import inspect
import math
import operator
import re
import types
import typing
from typing import Any, Literal, Union

from jsonargparse.typing import register_type, restricted_number_type

from genzoo.errors import GenzooError

#: the smallest image side every model builds at, with either backbone (measured: docs/data.md)
MIN_IMAGE_SIDE = 4


SYMBOLS = {operator.gt: ">", operator.ge: ">=", operator.lt: "<", operator.le: "<="}


def is_number_type(hint: Any) -> bool:
    """Whether ``hint`` is a restricted number type (this module's or jsonargparse's own)."""
    return isinstance(hint, type) and issubclass(hint, (int, float)) and hasattr(hint, "_restrictions")


def describe(kind: type) -> str:
    """The allowed values of a restricted number type in words: ``a whole number >= 1``."""
    bounds = []
    for compare, reference in kind._restrictions:  # type: ignore[attr-defined]
        if math.isinf(reference):
            continue  # finiteness goes without saying
        symbol = SYMBOLS[compare]
        if kind._type is int and symbol == ">":  # type: ignore[attr-defined]
            symbol, reference = ">=", reference + 1  # "> 0" reads better as ">= 1" for whole numbers
        bounds.append(f"{symbol} {reference:g}")
    return f"{noun(kind)} {f' {kind._join} '.join(bounds)}".strip()  # type: ignore[attr-defined]


def noun(kind: type) -> str:
    return "a whole number" if kind._type is int else "a number"  # type: ignore[attr-defined]


def number_type(name: str, base: type, *restrictions: tuple[str, int | float]) -> type:
    """A restricted number type that the parser checks and then hands on as a plain ``int`` or ``float``.

    jsonargparse would pass instances of the restricted class itself to ``__init__``, and from there they
    would reach the hyper-parameters of every checkpoint: a checkpoint is read with ``weights_only=True``,
    which refuses any class but the plain ones. A float must also be finite (an infinite learning rate or
    weight makes only NaNs).
    """
    if base is float and not any(op in ("<", "<=") for op, _ in restrictions):
        restrictions = (*restrictions, ("<", math.inf))
    kind = restricted_number_type(name, base, list(restrictions))
    kind.__doc__ = f"{base.__name__}: {describe(kind)}"
    register_type(kind, serializer=base, deserializer=lambda value: base(kind(value)))
    return kind


# jsonargparse keys its restricted types by their bounds, and its own PositiveInt (> 0) and NonNegativeInt
# (>= 0) hold those keys: the whole-number types here state the same ranges with the other comparison.
PositiveInteger = number_type("PositiveInteger", int, (">=", 1))
NonNegativeInteger = number_type("NonNegativeInteger", int, (">", -1))
PositiveNumber = number_type("PositiveNumber", float, (">", 0.0))
NonNegativeNumber = number_type("NonNegativeNumber", float, (">=", 0.0))
#: a share or a decay: 0 allowed, 1 not (a decay of 1 would never move; a share of 1 would leave nothing)
Fraction = number_type("Fraction", float, (">=", 0.0), ("<", 1.0))
ImageSide = number_type("ImageSide", int, (">=", MIN_IMAGE_SIDE))
#: Lightning's num_sanity_val_steps, where -1 means the whole validation split
SanityValSteps = number_type("SanityValSteps", int, (">=", -1))


# ----- the same declaration, checked when a class is built in Python ----------------------------------
def refusal(value: Any, hint: Any) -> str | None:
    """Why ``value`` does not fit the range or the choices ``hint`` declares (``out of range; allowed: a
    whole number >= 1``), or None when it fits. Only ranges and choices are judged, also inside lists,
    tuples and optional values: a value of another type is left to the code that uses it, as any Python
    argument is."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if is_number_type(hint):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None
        try:
            hint(value)
        except ValueError:
            return f"out of range; allowed: {describe(hint)}"
        return None
    if origin is Literal:
        return None if value in args else f"not a choice; allowed: one of {', '.join(map(str, args))}"
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        found = [refusal(value, arm) for arm in args if arm is not type(None)]
        return None if None in found else found[0]
    if origin in (list, tuple, collections.abc.Sequence) and isinstance(value, (list, tuple)):
        arms = args if origin is tuple and args[-1:] != (...,) else args[:1] * len(value)
        return next((why for item, arm in zip(value, arms) if (why := refusal(item, arm))), None)
    return None


@functools.cache
def init_hints(cls: type) -> tuple[inspect.Signature, dict[str, Any]]:
    """The signature of ``cls.__init__`` and its resolved type hints, computed once per class."""
    return inspect.signature(cls.__init__), typing.get_type_hints(cls.__init__)


def check_arguments(cls: type, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Raise a one-line GenzooError for the first argument of ``cls(*args, **kwargs)`` outside the range or
    the choices its type declares. Arguments that do not bind are left to ``__init__`` to refuse."""
    signature, hints = init_hints(cls)
    try:
        bound = signature.bind(None, *args, **kwargs)  # None stands in for self
    except TypeError:
        return
    for name, value in list(bound.arguments.items())[1:]:
        why = refusal(value, hints.get(name))
        if why is not None:
            shown = list(value) if isinstance(value, tuple) else value
            raise GenzooError(f"{cls.__name__}: {name} {shown}: {why}")


class CheckedArguments:
    """Base of the registered models and datamodules: their arguments are checked against the ranges their
    types declare when they are built in Python too (``VAE(latent_dim=0)`` is refused as the flag is).

    The check runs in ``__new__``, which receives the constructor's arguments before any ``__init__`` of the
    hierarchy runs, so it takes no line in any ``__init__`` and leaves alone the frames that Lightning's
    ``save_hyperparameters`` reads.
    """

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        if args or kwargs:  # copy and pickle call __new__ without arguments
            check_arguments(cls, args, kwargs)
        return super().__new__(cls)


# ----- the parser's error, in one line ---------------------------------------------------------------------
#: jsonargparse's report of a value its restricted type refuses: the type's name, then why
NOT_OF_TYPE = re.compile(r"Not of type (\w+): (.*)$", re.MULTILINE)
PARSER_KEY = re.compile(r'Parser key "([\w.]+)"')
#: the value an argument was given, quoted below the item that failed when the argument may also be None
GIVEN_VALUE = re.compile(r"^( *)Given value: (.*)$", re.MULTILINE)
#: LightningCLI quotes a flag of a class's argument as it was given
NESTED_ARG = re.compile(r"NestedArg\(key='([\w.]+)', val='?(.*?)'?\)")
QUOTED = re.compile(r"'(.*)'$")


def out_of_range(message: str) -> str | None:
    """A jsonargparse error about a value its restricted number type refuses, as one line naming the flag,
    the value and what is allowed (``--model.latent_dim 0: out of range; allowed: a whole number >= 1``);
    None when the message is about something else.

    The flag is the chain of parser keys before the refusal (LightningCLI nests a class's arguments under
    ``model`` or ``data``); the value is the whole argument where the parser quotes it (a list).
    """
    from jsonargparse.typing import registered_types

    found = NOT_OF_TYPE.search(message)
    kinds = {kind.__name__: kind for kind in registered_types.values() if is_number_type(kind)}
    keys = list(PARSER_KEY.finditer(message, 0, found.start())) if found else []
    if not keys or found[1] not in kinds:
        return None
    kind, reason = kinds[found[1]], found[2]
    flag = "--" + ".".join(key[1] for key in keys)
    if "does not conform to restriction" in reason:  # the item is left out when the argument may also be None
        value, problem = reason.partition("does not conform")[0].strip(), "out of range"
    else:  # not a number at all: int() and float() quote the text they could not read
        quoted = QUOTED.search(reason)
        value, problem = (quoted[1] if quoted else reason), f"not {noun(kind)}"
    # The whole value (a list, not only its item that failed): quoted inside the failing argument's block,
    # indented deeper than its "Parser key" line, or as the flag LightningCLI was given. A value quoted
    # further out is that of an enclosing section (a recipe's whole model).
    key_column = keys[-1].start() - message.rfind("\n", 0, keys[-1].start()) - 1 if keys else -1
    for given in GIVEN_VALUE.finditer(message, found.end()):
        nested = NESTED_ARG.fullmatch(given[2].strip())
        if nested and nested[1] == keys[-1][1].rpartition(".")[2]:
            value = nested[2]
            break
        if not nested and len(given[1]) > key_column:
            value = given[2].strip()
            break
    return f"{flag} {value}: {problem}; allowed: {describe(kind)}"
