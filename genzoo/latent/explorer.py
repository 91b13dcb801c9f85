"""``LatentExplorer``: a checkpoint and its data, and the pictures users ask of them.

It turns what a user types or uploads (test indices, image files, ``pca:2``, ``attr:Smiling``, a condition)
into tensors, calls ``genzoo.latent.ops`` and returns ``Picture``s. The commands (``genzoo reconstruct``,
``interpolate``, ``traverse``, ``explore``) and the web explorer (``genzoo app``) are thin layers over it.
Data is loaded only when a picture needs it, so a GAN can interpolate samples without any dataset.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import Any

import torch
from einops import rearrange

from genzoo.checks import check_data_fits
from genzoo.edit import Edit, EditMethod, find_name, parse_condition, parse_edit
from genzoo.errors import GenzooError
from genzoo.latent import ops
from genzoo.latent.pictures import (
    Picture,
    interpolation_picture,
    plane_picture,
    projection_picture,
    reconstruction_picture,
    traversal_picture,
)
from genzoo.viz import to_unit_float

MAX_CODES = 2000  #: test images encoded for principal directions and maps
MAX_GROUP = 5000  #: training images per group for an attribute direction
CHANNEL_NAMES = {1: "grayscale", 3: "RGB"}


def read_image(path: str | Path, image_shape: tuple[int, int, int]) -> torch.Tensor:
    """An image file -> (C, H, W) in [0, 1], checked against the model's image shape (one-line errors)."""
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    if not path.is_file():
        raise GenzooError(f"image file {path} does not exist (give a file, or a test index such as 3)")
    try:
        with Image.open(path) as im:
            im.load()
            return image_from_pil(im, image_shape, path.name)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
        raise GenzooError(
            f"{path.name} is not an image that can be read ({type(err).__name__}); give a PNG or JPEG"
        ) from None


def image_from_pil(im: Any, image_shape: tuple[int, int, int], name: str) -> torch.Tensor:
    """A PIL image -> (C, H, W) in [0, 1]; a wrong size or channel count is the user's to fix, not resized
    silently (a resized 200x200 photo is not what a 28x28 model learned)."""
    import numpy as np

    channels, height, width = image_shape
    if im.mode in ("P", "PA"):
        im = im.convert("RGBA")
    if im.mode in ("LA", "RGBA", "La", "RGBa"):  # drop a fully opaque alpha channel
        alpha = np.asarray(im.getchannel("A"))
        if alpha.min() < 255:
            raise GenzooError(f"{name} has transparent pixels; give an opaque {CHANNEL_NAMES[channels]} image")
        im = im.convert("L" if im.mode.startswith("L") else "RGB")
    if im.mode in ("I;16", "I", "F", "1"):
        im = im.convert("L")
    if im.size != (width, height):
        raise GenzooError(f"{name} is {im.size[0]}x{im.size[1]} pixels; this model takes {width}x{height} images")
    pixels = np.asarray(im)
    pixels = pixels[..., None] if pixels.ndim == 2 else pixels  # (H, W, c)
    if pixels.shape[-1] != channels:
        if channels == 1 and pixels.shape[-1] == 3 and (pixels == pixels[..., :1]).all():
            pixels = pixels[..., :1]  # grey saved as RGB
        elif channels == 3 and pixels.shape[-1] == 1:
            pixels = pixels.repeat(3, -1)  # a grey image is a valid colour image
        else:
            raise GenzooError(
                f"{name} is a {CHANNEL_NAMES.get(pixels.shape[-1], str(pixels.shape[-1]) + '-channel')} image; "
                f"this model takes {CHANNEL_NAMES[channels]} images"
            )
    return to_unit_float(rearrange(torch.from_numpy(pixels.copy()), "h w c -> c h w"))


def parse_range(text: str) -> tuple[float, float]:
    """``-3,3`` -> (-3.0, 3.0)."""
    parts = text.replace(":", ",").split(",")
    try:
        low, high = (float(p) for p in parts)
    except ValueError:
        raise GenzooError(f"--range {text!r}: give two numbers, LOW,HIGH (e.g. -3,3)") from None
    if not low < high:
        raise GenzooError(f"--range {text!r}: LOW must be below HIGH")
    return low, high


class LatentExplorer:
    """A model (in eval mode) and, on demand, its data; every method returns a ``Picture``."""

    def __init__(self, model: torch.nn.Module, data: Callable[[], Any] | None = None, seed: int = 0) -> None:
        """``data``: builds the datamodule when first needed (None: the model's data is not known)."""
        self.model = model.eval()
        self._data = data
        self.seed = seed

    # ----- data, loaded on first use ----------------------------------------------------------------
    @cached_property
    def data(self) -> Any:
        """The datamodule, built and checked against the model, its images not loaded yet."""
        if self._data is None:
            raise GenzooError("this picture needs the model's data, which is not known; pass --data NAME")
        dm = self._data()
        check_data_fits(self.model.image_shape, dm.image_shape)
        return dm

    @cached_property
    def datamodule(self) -> Any:
        """The datamodule with its splits loaded."""
        dm = self.data
        dm.prepare_data()
        dm.setup("fit")
        dm.setup("test")
        return dm

    def split(self, name: str = "test") -> Any:
        splits = self.datamodule.splits
        dataset = splits.get(name) if name in splits and len(splits[name]) else None
        if dataset is None:  # a folder of images may have no test split: fall back on the others
            dataset = next((d for d in splits.values() if len(d)), None)
        if dataset is None:
            raise GenzooError("the data has no images")
        return dataset

    @property
    def class_names(self) -> list[str]:
        names = getattr(self.model, "class_names", None)
        if not names and self._data is not None:
            names = getattr(self.datamodule, "class_names", None)
        return list(names or [str(k) for k in range(int(getattr(self.model, "num_classes", 0) or 0))])

    @property
    def multi_label(self) -> bool:
        return bool(getattr(self.model, "multi_label", False))

    def as_floats(self, images: torch.Tensor) -> torch.Tensor:
        return to_unit_float(images, self.model.device)

    @cached_property
    def test_codes(self) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor, str]:
        """(codes (N, D), labels (N,) or None, images (N, C, H, W) uint8, what they are), N <= MAX_CODES.

        Models with an encoder: the codes of the first test images. The GAN: prior samples and the images
        they decode to (GANSpace's way of finding directions without an encoder, Härkönen et al. 2020).
        """
        if not getattr(self.model, "has_encoder", True):
            z = self.model.prior_sample(MAX_CODES, torch.Generator().manual_seed(self.seed))
            with torch.no_grad():
                images = torch.cat([self.model.decode(chunk) for chunk in z.split(500)])
            return z, None, images, "prior samples"
        test = self.split("test")
        images, labels = test.images[:MAX_CODES], test.labels[:MAX_CODES]
        codes = self.model.encode_all(images, labels).to(self.model.device)
        labelled = labels if labels.dim() == 1 and bool((labels >= 0).any()) else None
        return codes, labelled, images, "test codes"

    # ----- what the user gives ----------------------------------------------------------------------
    def images(self, spec: str) -> tuple[torch.Tensor, torch.Tensor | None, str]:
        """``3`` / ``3,5,9`` (test indices) or image files (comma-separated) -> (images, labels or None, words).

        Labels come with test images only; image files have none (a conditional model needs ``--cond``).
        """
        items = [s.strip() for s in spec.split(",") if s.strip()]
        if not items:
            raise GenzooError(f"no image given in {spec!r}: give test indices (3,5) or image files")
        if all(s.isdigit() for s in items):
            test = self.split("test")
            bad = [int(s) for s in items if int(s) >= len(test)]
            if bad:
                raise GenzooError(f"test index {bad[0]} is out of range: the test split has {len(test)} images")
            index = torch.tensor([int(s) for s in items])
            what = f"test image{'s' if len(items) > 1 else ''} {', '.join(items)}"
            return self.as_floats(test.images[index]), test.labels[index], what
        x = torch.stack([read_image(s, tuple(self.model.image_shape)) for s in items]).to(self.model.device)
        return x, None, ", ".join(Path(s).name for s in items)

    def first_test_images(self, n: int) -> tuple[torch.Tensor, torch.Tensor, str]:
        test = self.split("test")
        n = min(n, len(test))
        return self.as_floats(test.images[:n]), test.labels[:n], f"test images 0-{n - 1}"

    def condition(self, spec: str | None, labels: torch.Tensor | None, n: int) -> torch.Tensor | None:
        """The condition of a conditional model: ``--cond`` if given, else the images' own labels, else the
        model's default conditions for samples; None for unconditional models."""
        if not getattr(self.model, "conditional", False):
            if spec:
                raise GenzooError(f"--cond: {type(self.model).__name__} is not a conditional model")
            return None
        if spec:
            defaults = self.default_labels(n) if self.multi_label else None
            return parse_condition(spec, self.class_names, self.multi_label, n, defaults)
        if labels is not None and bool((labels >= 0).all()):
            return labels
        return None

    def default_labels(self, n: int) -> torch.Tensor:
        """Conditions for samples when the user named none: the model's own (classes in turn, or attributes
        at their training frequencies)."""
        g = torch.Generator().manual_seed(self.seed)
        if hasattr(self.model, "default_labels"):
            return self.model.default_labels(n, g)
        return torch.arange(n) % int(self.model.num_classes)

    def labels_for_files(self, spec: str | None, labels: torch.Tensor | None, n: int) -> torch.Tensor | None:
        y = self.condition(spec, labels, n)
        if y is None and getattr(self.model, "conditional", False):
            raise GenzooError(
                f"{type(self.model).__name__} is conditional and image files carry no label: say which with --cond "
                "(e.g. --cond digit=7, or Smiling=1)"
            )
        return y

    def direction(self, dim: int | None = None, spec: str | None = None) -> ops.Direction:
        """``--dim K``, ``--direction pca:K`` or ``--direction attr:NAME`` -> a Direction in code space."""
        if (dim is None) == (spec is None):
            raise GenzooError("say which way to walk: --dim K, or --direction pca:K or attr:NAME")
        codes = self.test_codes[0]
        if dim is not None:
            return ops.dimension_direction(codes, dim)
        kind, _, arg = spec.partition(":")
        if kind == "pca" and arg.strip().isdigit():
            return ops.pca_direction(codes, int(arg))
        if kind == "attr" and arg.strip():
            return self.attribute_direction(arg.strip())
        raise GenzooError(f"unknown direction {spec!r}; use pca:K (K = 0, 1, ...) or attr:NAME (e.g. attr:Smiling)")

    def attribute_direction(self, name: str, max_images: int = MAX_GROUP) -> ops.Direction:
        """Mean training code with the attribute minus mean code without it (``Smiling``, ``Smiling=0``);
        single-label data: ``7`` (class 7 against all others) or ``3:8`` (class 8 minus class 3)."""
        ops.require_encoder(self.model, "find attribute directions (they are measured on codes of real images)")
        names = list(getattr(self.datamodule, "class_names", None) or self.class_names)
        multi = bool(getattr(self.datamodule, "multi_label", False))
        if multi or ":" in name.split("=")[-1]:
            return self.edit_direction(parse_edit(name, names, multi), max_images)
        train = self.split("train")
        k = find_name(name.split("=")[-1], names, "class") if names else -1
        target, source = train.labels == k, (train.labels != k) & (train.labels >= 0)
        label = f"attribute '{names[k]}' (class {names[k]} minus the others)"
        return ops.group_direction(self.model, label, train.images, train.labels, target, source, max_images)

    def edit_direction(self, edit: Edit, max_images: int = MAX_GROUP) -> ops.Direction:
        """The direction of an edit: the mean training code of its target group minus that of its source."""
        train = self.split("train")
        target, source = edit.has_target(train.labels), edit.has_source(train.labels)
        label = f"attribute '{edit.name}'"
        return ops.group_direction(self.model, label, train.images, train.labels, target, source, max_images)

    def edit(
        self,
        x: torch.Tensor,
        y: torch.Tensor,
        edit: Edit,
        method: EditMethod = "auto",
        steps: int = 7,
        strength: float = 1.5,
        max_images: int = MAX_GROUP,
    ) -> tuple[torch.Tensor, str]:
        """Images x (floats in [0, 1]) with labels y, each edited in ``steps`` steps: (B, steps, C, H, W), and
        how the edit was made.

        ``latent`` walks t = 0 .. strength along the edit's direction (0 is the plain reconstruction; 1 moves
        the code by the whole difference of the group means); ``condition`` keeps each code and steps the
        condition from the old labels to the edited ones (strength is not used: the condition ends at the
        edited value). ``auto``: condition for conditional models, latent otherwise.
        """
        ops.require_encoder(self.model, "edit attributes")
        conditional = bool(getattr(self.model, "conditional", False))
        method = ("condition" if conditional else "latent") if method == "auto" else method
        c = ops.condition_vectors(self.model, y, len(x))
        if method == "condition":
            if not conditional:
                raise GenzooError(
                    f"--method condition needs a conditional model (cvae); {type(self.model).__name__} is not"
                )
            edited = ops.condition_vectors(self.model, edit.apply(y), len(x))
            return ops.condition_walk(self.model, x, c, edited, torch.linspace(0, 1, steps)), "condition flipped"
        way = self.edit_direction(edit, max_images)
        with torch.no_grad():
            z0 = self.model.encode(x, c)
        images, _ = ops.traverse(self.model, z0, way, torch.linspace(0, strength, steps), c)
        n_target, n_source = way.group_sizes or (0, 0)
        return images, f"latent direction from {n_target} vs {n_source} train images, |d| = {way.scale:.2f}"

    # ----- the pictures -----------------------------------------------------------------------------
    def reconstruct(self, spec: str | None = None, num: int = 16, cond: str | None = None) -> Picture:
        ops.require_encoder(self.model, "reconstruct images")
        x, labels, what = self.images(spec) if spec else self.first_test_images(num)
        return reconstruction_picture(self.model, x, self.labels_for_files(cond, labels, len(x)), what)

    def interpolate(
        self,
        start: str | None = None,
        end: str | None = None,
        steps: int = 10,
        mode: ops.Mode = "lerp",
        mirror: bool = False,
        num: int = 4,
        cond: str | None = None,
    ) -> Picture:
        """Between images (``start`` -> ``end``), an image and its mirror, or (no images) prior samples."""
        ops.steps_between(steps)  # --steps 1 fails before any work
        if mirror:
            if end:
                raise GenzooError("--mirror walks from each --from image to its mirror image; leave out --to")
            x, labels, what = self.images(start) if start else self.first_test_images(num)
            y = self.labels_for_files(cond, labels, len(x))
            images, codes = ops.interpolate_mirror(self.model, x, steps, mode, y)
            return interpolation_picture(self.model, images, codes, f"{what} and their mirror images", mode)
        if start or end:
            if not (start and end):
                raise GenzooError("give both ends, --from and --to (or neither, to interpolate between samples)")
            ops.require_encoder(self.model, "interpolate between real images")
            x_a, labels_a, what_a = self.images(start)
            x_b, labels_b, what_b = self.images(end)
            if len(x_a) != len(x_b):
                raise GenzooError(f"--from gives {len(x_a)} images but --to gives {len(x_b)}; give as many of each")
            y_a = self.labels_for_files(cond, labels_a, len(x_a))
            y_b = self.labels_for_files(cond, labels_b, len(x_b))
            images, codes = ops.interpolate(self.model, x_a, x_b, steps, mode, y_a, y_b)
            return interpolation_picture(self.model, images, codes, f"{what_a} and {what_b}", mode)
        y = self.condition(cond, None, num)
        if y is None and getattr(self.model, "conditional", False):
            y = self.default_labels(num)
        g = torch.Generator().manual_seed(self.seed)
        images, codes = ops.interpolate_prior(self.model, num, steps, mode, g, y)
        return interpolation_picture(self.model, images, codes, f"{num} pairs of prior samples", mode)

    def start_codes(self, spec: str | None, num: int, cond: str | None) -> tuple[torch.Tensor, Any, str]:
        """Codes to start a traversal from: encoded images, else (no encoder) prior samples."""
        if not getattr(self.model, "has_encoder", True):
            if spec:
                ops.require_encoder(self.model, "start a traversal from real images")
            z = self.model.prior_sample(num, torch.Generator().manual_seed(self.seed))
            y = self.condition(cond, None, num)
            return z, y, "prior samples"
        x, labels, what = self.images(spec) if spec else self.first_test_images(num)
        y = self.labels_for_files(cond, labels, len(x))
        c = ops.condition_vectors(self.model, y, len(x))
        with torch.no_grad():
            return self.model.encode(x, c), y, what

    def traverse(
        self,
        dim: int | None = None,
        direction: str | None = None,
        value_range: tuple[float, float] | None = None,
        steps: int = 9,
        start: str | None = None,
        num: int = 4,
        cond: str | None = None,
    ) -> Picture:
        ops.steps_between(steps)
        way = self.direction(dim, direction)
        low, high = value_range or ((-2.0, 2.0) if way.unit == "mean differences" else (-3.0, 3.0))
        z0, y, what = self.start_codes(start, num, cond)
        c = ops.condition_vectors(self.model, y, len(z0)) if y is not None else None
        if c is None and getattr(self.model, "conditional", False):
            c = ops.condition_vectors(self.model, self.default_labels(len(z0)), len(z0))
        values = torch.linspace(low, high, steps)
        images, codes = ops.traverse(self.model, z0, way, values, c)
        return traversal_picture(self.model, images, codes, way, values, what)

    def explore(self, projection: str = "auto", cond: str | None = None) -> Picture:
        """2-D codes: the decoded plane and the code scatter; otherwise (or ``pca``) a PCA map with thumbnails."""
        if projection not in ("auto", "none", "pca"):
            raise GenzooError(f"--projection {projection!r}: choose auto, none or pca")
        two_d = int(self.model.latent_dim) == 2
        if projection == "none" or (projection == "auto" and two_d):
            ops.require_2d(self.model, "a 2-D plot without projection")
            c = None
            if getattr(self.model, "conditional", False):
                c = ops.condition_vectors(
                    self.model, self.condition(cond, None, 1) if cond else self.default_labels(1), 1
                )
            codes, labels = (None, None)
            if getattr(self.model, "has_encoder", True):
                codes, labels, _, _ = self.test_codes
            return plane_picture(self.model, codes, labels, self.class_names, c=c)
        codes, labels, images, what = self.test_codes
        return projection_picture(self.model, codes, labels, self.as_floats(images), self.class_names, what)
