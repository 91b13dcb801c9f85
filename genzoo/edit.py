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


def attribute_direction(
    model, images: torch.Tensor, labels: torch.Tensor, edit: Edit, max_images: int = 5000
) -> torch.Tensor:
    """(D,) mean code of the target group minus mean code of the source group."""
    groups = []
    for mask in (edit.has_target(labels), edit.has_source(labels)):
        where = mask.nonzero().squeeze(1)[:max_images]
        if len(where) == 0:
            raise GenzooError(f"no labelled image for one side of the edit '{edit.name}': cannot estimate a direction")
        groups.append(model.encode_all(images[where], labels[where]).mean(0).to(model.device))
    return groups[0] - groups[1]


@torch.no_grad()
def latent_walk(
    model, x: torch.Tensor, y: torch.Tensor | None, direction: torch.Tensor, strengths: torch.Tensor
) -> torch.Tensor:
    """(B, S, C, H, W): decode(encode(x) + t * direction) for each t in ``strengths``."""
    y = y if model.conditional else None
    z = model.encode(x, y)  # (B, D)
    steps = [model.decode(z + t * direction, y) for t in strengths.tolist()]
    return torch.stack(steps, 1)


@torch.no_grad()
def condition_walk(model, x: torch.Tensor, y: torch.Tensor, edit: Edit, strengths: torch.Tensor) -> torch.Tensor:
    """(B, S, C, H, W) for a conditional model: one code, the condition stepped from y towards the edited y."""
    c0, c1 = model.condition(y), model.condition(edit.apply(y))  # (B, K) each
    z = model.encode(x, c0)
    return torch.stack([model.decode(z, torch.lerp(c0, c1, float(t))) for t in strengths.tolist()], 1)


def edit_strip(
    model,
    x: torch.Tensor,
    y: torch.Tensor,
    edit: Edit,
    method: EditMethod = "auto",
    steps: int = 7,
    strength: float = 1.5,
    direction: torch.Tensor | None = None,
) -> tuple[torch.Tensor, int]:
    """Rows of (input, edit steps...) for the images x (floats in [0, 1]) with labels y.

    ``latent`` walks t = 0 .. strength along ``direction`` (0 is the plain reconstruction; 1 moves the code by
    the whole difference of the group means); ``condition`` steps the condition from the old value to the new
    one (strength is not used: the condition ends at the edited value). ``auto``: condition for conditional
    models, latent otherwise. Returns (images (B * (steps + 1), C, H, W), images per row).
    """
    if not getattr(model, "has_encoder", False):
        raise GenzooError(f"{type(model).__name__} has no encoder; attribute editing needs a model that encodes images")
    method = ("condition" if model.conditional else "latent") if method == "auto" else method
    if method == "condition":
        if not model.conditional:
            raise GenzooError(f"--method condition needs a conditional model (cvae); {type(model).__name__} is not")
        walk = condition_walk(model, x, y, edit, torch.linspace(0, 1, steps))
    else:
        if direction is None:
            raise ValueError("latent editing needs the attribute direction (see attribute_direction)")
        walk = latent_walk(model, x, y, direction, torch.linspace(0, strength, steps))
    strip = torch.cat([x[:, None], walk], 1)  # (B, 1 + S, C, H, W): the input first
    return strip.flatten(0, 1), steps + 1
