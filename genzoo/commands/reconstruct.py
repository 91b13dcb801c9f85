"""``genzoo reconstruct --ckpt C --out F [--images 3,5 | a.png,b.png]``: inputs above their reconstructions."""

from __future__ import annotations

from genzoo.commands.args import positive_int
from genzoo.commands.latent_args import latent_parser, parse_latent_args, write


def reconstruct_command(argv: list[str]) -> int:
    parser = latent_parser(
        "genzoo reconstruct", "Encode images and decode their codes: inputs above reconstructions.",
        "output .png: rows of inputs above rows of their reconstructions",
    )  # fmt: skip
    parser.add_argument("--images", default=None, help="test indices (3,5,9) or image files (default: the first --num)")
    parser.add_argument("--num", type=positive_int, default=16, help="how many test images without --images (16)")
    args, explorer = parse_latent_args(parser, argv)
    return write(explorer.reconstruct(args.images, args.num, args.cond), args.out)
