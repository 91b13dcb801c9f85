"""``genzoo traverse --ckpt C (--dim K | --direction pca:K | attr:NAME) --out F``: codes moved along one
direction, one row per start image (or prior sample), one column per offset in ``--range``."""

from __future__ import annotations

import re

from genzoo.commands.args import positive_int
from genzoo.commands.latent_args import latent_parser, parse_latent_args, write

#: a value that starts with a minus and a digit: a number, or a range such as -3,3 or -2.5:1
NEGATIVE_VALUE = re.compile(r"-[0-9.]")


def join_range_value(argv: list[str]) -> list[str]:
    """``--range -3,3`` -> ``--range=-3,3``: argparse reads any word that starts with a minus as an option,
    except a plain negative number, so a negative range would otherwise be refused as a missing value."""
    joined: list[str] = []
    i = 0
    while i < len(argv):
        if argv[i] == "--range" and i + 1 < len(argv) and NEGATIVE_VALUE.match(argv[i + 1]):
            joined.append(f"--range={argv[i + 1]}")
            i += 2
        else:
            joined.append(argv[i])
            i += 1
    return joined


def traverse_command(argv: list[str]) -> int:
    parser = latent_parser(
        "genzoo traverse", "Move codes along a latent dimension, a principal direction or an attribute direction.",
        "output .png: one row per start code, one column per offset",
    )  # fmt: skip
    way = parser.add_mutually_exclusive_group(required=True)
    way.add_argument("--dim", type=int, default=None, help="a code dimension (0 to latent_dim - 1)")
    way.add_argument(
        "--direction", default=None,
        help="pca:K (principal component K of the test codes, 0 the largest) or attr:NAME (Smiling, 7, 3:8)",
    )  # fmt: skip
    parser.add_argument(
        "--range", dest="value_range", type=str, default=None,
        help="LOW,HIGH offsets; units: sd of the codes along the direction (default -3,3), or attribute "
        "mean differences (default -2,2)",
    )  # fmt: skip
    parser.add_argument("--steps", type=int, default=9, help="offsets per row (default 9)")
    parser.add_argument("--from", dest="start", default=None, help="test indices or image files to start from")
    parser.add_argument("--num", type=positive_int, default=4, help="rows without --from (default 4)")
    args, explorer = parse_latent_args(parser, join_range_value(argv))
    from genzoo.latent.explorer import parse_range

    value_range = parse_range(args.value_range) if args.value_range else None
    picture = explorer.traverse(args.dim, args.direction, value_range, args.steps, args.start, args.num, args.cond)
    return write(picture, args.out)
