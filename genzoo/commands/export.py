"""``genzoo export --ckpt C --out DIR``: a checkpoint as a folder that is safe to share, in the Hugging Face
hub's layout (model.safetensors + config.json; see genzoo/exported.py). Every command that takes --ckpt
takes the folder, and ``genzoo.hub.GenzooPretrained.from_pretrained`` loads it, or a hub repository of it."""

from __future__ import annotations

from importlib.util import find_spec
from pathlib import Path

from genzoo.commands.args import CKPT_HELP, CommandParser
from genzoo.errors import GenzooError
from genzoo.exported import read_saved


def export_command(argv: list[str]) -> int:
    parser = CommandParser(
        prog="genzoo export", description="Write a checkpoint's weights (safetensors) and config (JSON) to a folder."
    )
    parser.add_argument("--ckpt", required=True, help=CKPT_HELP)
    parser.add_argument(
        "--out", required=True, type=Path,
        help="folder to write (made if missing); an earlier export there is replaced, its README.md kept",
    )  # fmt: skip
    args = parser.parse_args(argv)
    missing = [name for name in ("safetensors", "huggingface_hub") if find_spec(name) is None]
    if missing:
        raise GenzooError(f"genzoo export needs {' and '.join(missing)}: pip install 'genzoo[hub]'")
    saved = read_saved(args.ckpt)  # before the models are imported: a bad or unsafe file is refused at once

    from genzoo.hub import export_checkpoint

    written = export_checkpoint(args.ckpt, args.out, saved)
    print(f"wrote {', '.join(written)} to {args.out}")
    return 0
