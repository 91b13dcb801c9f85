"""``genzoo sample --ckpt PATH --num N --out FILE``: new images from any checkpoint.

``.png`` writes one grid; ``.npz`` writes ``images`` (uint8, N x C x H x W). The file is written to a
temporary name and moved into place, so an interrupted run never leaves half a file.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

from genzoo.checks import check_image_output
from genzoo.commands.args import CKPT_HELP, CommandParser, positive_int
from genzoo.errors import GenzooError
from genzoo.exported import read_saved

if TYPE_CHECKING:
    import torch

# torch is imported inside the functions that run, so that `genzoo sample --help` answers at once.


MAX_OUTPUT_BYTES = 2 * 2**30  # what one output file may hold (uint8 pixels): far beyond any grid worth viewing
SAMPLE_CHUNK = 4096  # images decoded at once: bounds the float memory of a large --num


def check_sample_size(num: int, image_shape: tuple[int, ...]) -> None:
    """Refuse a --num whose output would not fit in one file, saying how large it would be."""
    size = num * math.prod(image_shape)
    if size > MAX_OUTPUT_BYTES:
        most = MAX_OUTPUT_BYTES // math.prod(image_shape)
        raise GenzooError(
            f"--num {num}: {size / 2**30:.1f} GiB of {'x'.join(map(str, image_shape))} images, more than the "
            f"{MAX_OUTPUT_BYTES / 2**30:.0f} GiB one output file may hold; use --num {most} or less (and several runs)"
        )


def sample_images(model, num: int, generator: torch.Generator, y: torch.Tensor | None) -> torch.Tensor:
    """``num`` samples as uint8, decoded in chunks so that a large --num never holds them all as floats."""
    import torch

    from genzoo.viz import to_uint8

    if num <= SAMPLE_CHUNK:  # one call: the same images as model.sample(num) for a given seed
        return to_uint8(model.sample(num, generator=generator, y=y)).cpu()
    chunks = []
    for start in range(0, num, SAMPLE_CHUNK):
        part = None if y is None else y[start : start + SAMPLE_CHUNK]
        chunks.append(to_uint8(model.sample(min(SAMPLE_CHUNK, num - start), generator=generator, y=part)).cpu())
    return torch.cat(chunks)


def conditions_for(model, spec: str | None, unset: str, n: int, generator: torch.Generator) -> torch.Tensor | None:
    """Labels for ``model.sample`` from ``--cond`` (None: the model's own default conditions)."""
    if spec is None:
        return None
    if not model.conditional:
        raise GenzooError(f"--cond: {type(model).__name__} is not a conditional model; train a cvae to sample by label")
    import torch

    from genzoo.edit import parse_condition

    defaults = model.default_labels(n, generator) if model.multi_label else None
    if model.multi_label and unset == "zero":
        defaults = torch.zeros_like(defaults)
    return parse_condition(spec, model.class_names, model.multi_label, n, defaults)


def sample_command(argv: list[str]) -> int:
    parser = CommandParser(prog="genzoo sample", description="Write samples from a trained checkpoint.")
    parser.add_argument("--ckpt", required=True, help=CKPT_HELP)
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
    check_image_output(args.out)
    saved = read_saved(args.ckpt)  # before the models are imported: a bad or unsafe file is refused at once

    import torch

    from genzoo.models.loading import load_model
    from genzoo.viz import write_images

    model = load_model(saved)
    check_sample_size(args.num, model.image_shape)
    generator = torch.Generator().manual_seed(args.seed)
    y = conditions_for(model, args.cond, args.unset, args.num, generator)
    write_images(sample_images(model, args.num, generator, y), args.out)
    print(f"wrote {args.num} samples to {args.out}")
    return 0
