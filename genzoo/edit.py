"""Attribute editing for any model with an encoder.

Latent arithmetic (Larsen et al., "Autoencoding beyond pixels using a learned similarity metric", ICML 2016;
White, "Sampling Generative Networks", 2016): the direction of an attribute in code space is the mean code of
images that have it minus the mean code of images that do not. Encoding a real image, moving its code along
that direction and decoding adds the attribute (a smile, glasses, another digit class) and keeps the rest.

A conditional model (the CVAE) is told the attributes as its condition, so its code is meant to hold
everything *but* them and the latent direction is close to zero. There the edit is made on the condition
instead: encode with the true condition, decode the same code with the attribute stepped from its old value
to the new one ("flip the condition").

An edit is written ``Smiling`` (add it), ``Smiling=0`` (remove it) for multi-label data such as CelebA, and
``3:8`` (class 3 becomes class 8; ``digit=3:8`` also works) for single-label data such as MNIST.

This module reads edits and conditions; the direction and the walks are the latent toolkit's
(``LatentExplorer.edit``, the same direction as ``genzoo traverse --direction attr:``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch

from genzoo.errors import GenzooError

EditMethod = Literal["auto", "latent", "condition"]
CLASS_KEYS = ("", "class", "label", "digit")  #: accepted before "=" in a single-label condition


@dataclass(frozen=True)
class Edit:
    """Move images from ``source`` to ``target``: values of attribute ``column`` (multi-label), or classes."""

    name: str
    column: int | None
    source: int
    target: int

    def has_source(self, labels: torch.Tensor) -> torch.Tensor:
        """(N,) bool: which images are in the source group (unlabelled ones never are)."""
        return self._equals(labels, self.source)

    def has_target(self, labels: torch.Tensor) -> torch.Tensor:
        return self._equals(labels, self.target)

    def _equals(self, labels: torch.Tensor, value: int) -> torch.Tensor:
        return labels[:, self.column] == value if self.column is not None else labels == value

    def apply(self, labels: torch.Tensor) -> torch.Tensor:
        """The labels after the edit: the attribute set to ``target``, or every image of class ``target``."""
        if self.column is None:
            return torch.full_like(labels, self.target)
        edited = labels.clone()
        edited[:, self.column] = self.target
        return edited


def find_name(name: str, names: list[str], what: str) -> int:
    """Index of ``name`` in ``names`` (exact, else case-insensitive); a one-line error lists the known names."""
    if name in names:
        return names.index(name)
    lowered = [n.lower() for n in names]
    if name.lower() in lowered:
        return lowered.index(name.lower())
    if name.isdigit() and int(name) < len(names) and what == "class":
        return int(name)
    raise GenzooError(f"unknown {what} {name!r}; known: {', '.join(names)}")


def parse_edit(spec: str, class_names: list[str], multi_label: bool) -> Edit:
    """``Smiling`` / ``Smiling=0`` (multi-label) or ``3:8`` / ``digit=3:8`` (single-label) -> an Edit."""
    if not class_names:
        raise GenzooError("this dataset has no labels, so there is no attribute to edit; use mnist, celeba, or labels")
    if multi_label:
        name, _, value = spec.partition("=")
        if value not in ("", "0", "1"):
            raise GenzooError(f"--attr {spec!r}: the value after '=' must be 0 or 1 (e.g. Smiling=1)")
        column = find_name(name.strip(), class_names, "attribute")
        target = int(value or 1)
        return Edit(f"{class_names[column]}: {1 - target} -> {target}", column, 1 - target, target)
    pair = spec.split("=", 1)[-1].replace("->", ":")
    if pair.count(":") != 1:
        raise GenzooError(
            f"--attr {spec!r}: give a class change as FROM:TO, e.g. 3:8 (classes: {', '.join(class_names)})"
        )
    a, b = (find_name(s.strip(), class_names, "class") for s in pair.split(":"))
    if a == b:
        raise GenzooError(f"--attr {spec!r}: the two classes are the same")
    return Edit(f"{class_names[a]} -> {class_names[b]}", None, a, b)


def parse_condition(
    spec: str,
    class_names: list[str],
    multi_label: bool,
    n: int,
    defaults: torch.Tensor,
) -> torch.Tensor:
    """``--cond`` text -> labels for n samples.

    Single-label: ``digit=7``, ``class=7`` or ``7`` (an index or a class name) -> (n,) class indices.
    Multi-label: ``Smiling=1,Eyeglasses=1`` (a bare name means =1) -> (n, K) 0/1 vectors, the named
    attributes fixed and the others taken from ``defaults`` (n, K): drawn at the data's frequencies, or 0.
    """
    if not multi_label:
        key, _, value = spec.rpartition("=")
        if key.strip().lower() not in CLASS_KEYS:
            raise GenzooError(f"--cond {spec!r}: this model has one class per image; give class=NAME (or digit=N)")
        return torch.full((n,), find_name(value.strip(), class_names, "class"), dtype=torch.long)
    labels = defaults.clone()
    for item in filter(None, (part.strip() for part in spec.split(","))):
        name, _, value = item.partition("=")
        if value.strip() not in ("", "0", "1"):
            raise GenzooError(f"--cond {item!r}: an attribute is set to 0 or 1 (e.g. Smiling=1,Eyeglasses=0)")
        labels[:, find_name(name.strip(), class_names, "attribute")] = int(value or 1)
    return labels
