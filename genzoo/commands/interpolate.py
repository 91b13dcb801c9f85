"""``genzoo interpolate --ckpt C --out F``: walks between two images' codes, an image and its mirror, or two
prior samples (the only walk a model without an encoder, the GAN, can make)."""

from __future__ import annotations

from genzoo.commands.args import positive_int
from genzoo.commands.latent_args import latent_parser, parse_latent_args, write
from genzoo.latent import MODES


def interpolate_command(argv: list[str]) -> int:
    parser = latent_parser(
        "genzoo interpolate", "Interpolate between codes: real images (--from/--to), mirror images, or samples.",
        "output .png: one row per path",
    )  # fmt: skip
    parser.add_argument("--from", dest="start", default=None, help="test indices (3 or 3,5) or image files")
    parser.add_argument("--to", dest="end", default=None, help="as many test indices or image files as --from")
    parser.add_argument("--mirror", action="store_true", help="from each --from image to its horizontal mirror")
    parser.add_argument("--steps", type=int, default=10, help="images per path, both ends included (default 10)")
    parser.add_argument("--mode", choices=MODES, default="lerp", help="straight line or great circle (lerp)")
    parser.add_argument("--num", type=positive_int, default=4, help="paths between samples, or mirror rows (4)")
    args, explorer = parse_latent_args(parser, argv)
    picture = explorer.interpolate(args.start, args.end, args.steps, args.mode, args.mirror, args.num, args.cond)
    return write(picture, args.out)
