"""What ``genzoo reconstruct|interpolate|traverse|explore`` share: their common flags and the last step
(write the picture, say where). Each command is a small file beside this one; the work is done by
``genzoo.latent.LatentExplorer``, which ``open_explorer`` makes from a checkpoint (also for the app)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from genzoo.checks import check_image_output
from genzoo.commands.args import CKPT_HELP, CommandParser

DATA_HELP = "dataset name (default: the run's own, from its config.yaml); --data.KEY VALUE flags as in genzoo fit"


def latent_parser(prog: str, description: str, out_help: str) -> CommandParser:
    parser = CommandParser(prog=prog, description=description, allow_abbrev=False)
    parser.add_argument("--ckpt", required=True, help=CKPT_HELP)
    parser.add_argument("--out", required=True, type=Path, help=out_help + "; .npz: raw uint8 images and codes")
    parser.add_argument("--data", default=None, help=DATA_HELP)
    parser.add_argument("--seed", type=int, default=0, help="seed of prior samples (default 0)")
    parser.add_argument(
        "--cond", default=None,
        help="condition of a conditional model: digit=7, Smiling=1 (default: the test images' own labels)",
    )  # fmt: skip
    return parser


def open_explorer(
    ckpt: str | Path, data: str | None = None, data_flags: list[str] | None = None, prog: str = "genzoo"
) -> Any:
    """The ``LatentExplorer`` of a checkpoint: its model now, its data (the run's own, or ``data`` with
    ``--data.KEY VALUE`` flags) when a picture first needs it."""
    from genzoo.exported import read_saved, weights_file

    saved = read_saved(ckpt)  # before the models are imported: a bad or unsafe file is refused at once

    from genzoo.latent.explorer import LatentExplorer
    from genzoo.models.loading import load_model
    from genzoo.runs import build_data_from_flags

    model = load_model(saved)
    return LatentExplorer(model, lambda: build_data_from_flags(weights_file(ckpt), data, list(data_flags or []), prog))


def parse_latent_args(parser: CommandParser, argv: list[str]) -> tuple[argparse.Namespace, object]:
    """Parsed flags and the explorer of ``--ckpt`` (model loaded; data loaded when a picture needs it)."""
    args, data_flags = parser.parse_known_args(argv)  # before any import of torch: --help answers at once
    check_image_output(args.out)
    explorer = open_explorer(args.ckpt, args.data, data_flags, parser.prog)
    explorer.seed = args.seed
    return args, explorer


def write(picture: object, out: Path) -> int:
    from genzoo.latent.pictures import write_picture

    write_picture(picture, out)
    print(f"wrote {picture.title} to {out}")
    return 0
