"""``genzoo edit --ckpt C --attr Smiling --out strip.png``: attribute-editing strips from a checkpoint.

Each row of the PNG is one real image: the input, then the edit in ``--steps`` steps (the first step is the
plain reconstruction). The data defaults to the run's own (its config.yaml); ``--data NAME`` and any
``--data.KEY VALUE`` (the same options as ``genzoo fit``) choose another. See ``genzoo.edit`` for the method
and ``LatentExplorer.edit`` for the walk.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from genzoo.checks import check_output_file
from genzoo.commands.args import CKPT_HELP, CommandParser, positive_int
from genzoo.errors import GenzooError
from genzoo.exported import read_saved, weights_file
from genzoo.registry import MODELS

if TYPE_CHECKING:  # torch and the run folders load when the command runs: --help answers at once
    import torch


def pick_sources(dm: Any, edit: Any, split: str, num: int, seed: int) -> tuple[torch.Tensor, torch.Tensor, str]:
    """``num`` images of the edit's source group from ``split`` (else from train), with labels and a note."""
    import torch

    for name in dict.fromkeys([split, "train"]):
        dataset = dm.splits.get(name)
        if dataset is None or len(dataset) == 0:
            continue
        where = edit.has_source(dataset.labels).nonzero().squeeze(1)
        if len(where):
            where = where[torch.randperm(len(where), generator=torch.Generator().manual_seed(seed))[:num]]
            note = "" if name == split else f" (the {split} split has no labelled source image: took them from train)"
            return dataset.images[where], dataset.labels[where], f"{len(where)} {name} images{note}"
    raise GenzooError(f"no labelled image to edit for '{edit.name}' in the {split} or train split")


def edit_command(argv: list[str]) -> int:
    parser = CommandParser(
        prog="genzoo edit",
        description="Attribute-editing strips: encode real images, move them along an attribute, decode.",
        allow_abbrev=False,
    )
    parser.add_argument("--ckpt", required=True, help=f"{CKPT_HELP}, of a model with an encoder")
    parser.add_argument(
        "--attr", required=True, help="Smiling (add), Smiling=0 (remove) for attribute data; 3:8 (class 3 -> 8)"
    )
    parser.add_argument("--out", required=True, type=Path, help="output .png: one row per image, input first")
    parser.add_argument("--data", default=None, help="dataset name (default: the run's own); --data.KEY VALUE too")
    parser.add_argument("--num", type=positive_int, default=8, help="how many images (rows), default 8")
    parser.add_argument("--steps", type=positive_int, default=7, help="edit steps per row, default 7")
    parser.add_argument("--strength", type=float, default=1.5, help="latent walk length in direction units (1.5)")
    parser.add_argument(
        "--method", choices=("auto", "latent", "condition"), default="auto",
        help="latent direction, or the condition of a conditional model (auto: condition if any)",
    )  # fmt: skip
    parser.add_argument("--split", choices=("train", "val", "test"), default="val", help="images to edit (val)")
    parser.add_argument("--max-images", type=positive_int, default=5000, help="images per group for the direction")
    parser.add_argument("--seed", type=int, default=0, help="which source images are picked (default 0)")
    args, data_flags = parser.parse_known_args(argv)
    check_output_file(args.out, "--out", (".png",))
    saved = read_saved(args.ckpt)  # before the models are imported: a bad or unsafe file is refused at once

    import torch

    from genzoo.edit import parse_edit
    from genzoo.latent.explorer import LatentExplorer
    from genzoo.models.loading import load_model
    from genzoo.runs import build_data_from_flags
    from genzoo.viz import write_images

    model = load_model(saved)
    if not model.has_encoder:
        name = MODELS.name_of(model) or type(model).__name__
        raise GenzooError(
            f"genzoo edit needs a model that encodes images; {args.ckpt} is a {name}, which only decodes "
            "(use a checkpoint of ae, vae, cvae, aae, aegan or alae)"
        )
    explorer = LatentExplorer(model, lambda: build_data_from_flags(weights_file(args.ckpt), args.data, data_flags))
    dm = explorer.data  # checked against the model before its images load
    edit = parse_edit(args.attr, list(dm.class_names or []), bool(getattr(dm, "multi_label", False)))
    x, y, picked = pick_sources(explorer.datamodule, edit, args.split, args.num, args.seed)
    x = explorer.as_floats(x)
    walk, how = explorer.edit(x, y.to(model.device), edit, args.method, args.steps, args.strength, args.max_images)
    strip = torch.cat([x[:, None], walk], 1)  # (B, 1 + steps, C, H, W): each row starts with its input
    write_images(strip.flatten(0, 1), args.out, nrow=args.steps + 1)
    print(f"wrote {args.out}: '{edit.name}' on {picked}, {args.steps} steps ({how}); each row: input, then the steps")
    return 0
