"""``genzoo explore --ckpt C --out F``: a map of the code space. 2-D codes: the decoded latent plane over the
prior's range beside the scatter of test codes by label; more dimensions: the codes on their top two
principal components, with thumbnails of the images at their points."""

from __future__ import annotations

from genzoo.commands.latent_args import latent_parser, parse_latent_args, write


def explore_command(argv: list[str]) -> int:
    parser = latent_parser(
        "genzoo explore", "Map the code space: 2-D plane and scatter, or a PCA map with thumbnails.",
        "output .png: the map",
    )  # fmt: skip
    parser.add_argument(
        "--projection", choices=("auto", "none", "pca"), default="auto",
        help="none: plot the 2-D codes themselves; pca: top two principal components (auto: none for 2-D codes)",
    )  # fmt: skip
    args, explorer = parse_latent_args(parser, argv)
    return write(explorer.explore(args.projection, args.cond), args.out)
