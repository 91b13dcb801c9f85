"""``genzoo sample --ckpt PATH --num N --out FILE``: new images from any checkpoint.

``.png`` writes one grid; ``.npz`` writes ``images`` (uint8, N x C x H x W). The file is written to a
temporary name and moved into place, so an interrupted run never leaves half a file.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from genzoo.atomic import atomic_path
from genzoo.commands.args import CommandParser, positive_int
from genzoo.errors import GenzooError

OUTPUT_SUFFIXES = (".png", ".npz")


def write_images(images: torch.Tensor, out: Path, nrow: int | None = None) -> None:
    """Write images in [0, 1] as a .png grid (``nrow`` per row, default square) or .npz array, atomically."""
    from genzoo.viz import save_png, to_uint8

    with atomic_path(out) as tmp:
        if out.suffix == ".png":
            save_png(images, tmp, nrow=nrow or max(1, int(math.ceil(math.sqrt(len(images))))))
        else:
            np.savez_compressed(tmp, images=to_uint8(images).cpu().numpy())


def check_output_path(out: Path) -> None:
    if out.suffix.lower() not in OUTPUT_SUFFIXES:
        raise GenzooError(f"--out {out}: unsupported suffix {out.suffix or '(none)'!r}; use .png or .npz")


def conditions_for(model, spec: str | None, unset: str, n: int, generator: torch.Generator) -> torch.Tensor | None:
    """Labels for ``model.sample`` from ``--cond`` (None: the model's own default conditions)."""
    if spec is None:
        return None
    if not model.conditional:
        raise GenzooError(f"--cond: {type(model).__name__} is not a conditional model; train a cvae to sample by label")
    from genzoo.edit import parse_condition

    defaults = model.default_labels(n, generator) if model.multi_label else None
    if model.multi_label and unset == "zero":
        defaults = torch.zeros_like(defaults)
    return parse_condition(spec, model.class_names, model.multi_label, n, defaults)


def sample_command(argv: list[str]) -> int:
    parser = CommandParser(prog="genzoo sample", description="Write samples from a trained checkpoint.")
    parser.add_argument("--ckpt", required=True, help="checkpoint (.ckpt) written by genzoo fit")
    parser.add_argument("--num", type=positive_int, default=64, help="how many images (default 64)")
    parser.add_argument("--out", required=True, type=Path, help="output file: .png (grid) or .npz (uint8)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument(
        "--cond", default=None, help="condition of a conditional model: digit=7 (a class), Smiling=1,Eyeglasses=1"
    )
    parser.add_argument(
        "--unset", choices=("freq", "zero"), default="freq",
        help="attributes --cond does not name: drawn at their training frequencies (freq, default) or 0",
    )  # fmt: skip
    args = parser.parse_args(argv)
    check_output_path(args.out)

    from genzoo.models.base import load_model

    model = load_model(args.ckpt)
    generator = torch.Generator().manual_seed(args.seed)
    y = conditions_for(model, args.cond, args.unset, args.num, generator)
    images = model.sample(args.num, generator=generator, y=y)
    write_images(images, args.out)
    print(f"wrote {args.num} samples to {args.out}")
    return 0
