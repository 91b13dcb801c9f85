"""``genzoo app --ckpt C [--port P] [--host H]``: the web explorer (genzoo/app.py), served on 127.0.0.1 unless
``--host`` names another address; a warning says so when other machines can reach it."""

from __future__ import annotations

import os
import sys

from genzoo.commands.args import CKPT_HELP, CommandParser
from genzoo.commands.latent_args import DATA_HELP
from genzoo.errors import GenzooError
from genzoo.uploads import LOCAL_HOST

DEFAULT_PORT = 7860  # Gradio's own default; here, not in genzoo.app, which loads torch and gradio


def port_number(text: str) -> int:
    import argparse

    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port number from 1 to 65535, got {text!r}")
    return int(text)


def app_parser() -> CommandParser:
    parser = CommandParser(prog="genzoo app", description="Serve the latent explorer of a checkpoint (on 127.0.0.1).",
                           allow_abbrev=False)  # fmt: skip
    parser.add_argument("--ckpt", required=True, help=CKPT_HELP)
    parser.add_argument("--port", type=port_number, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    parser.add_argument(
        "--host", default=LOCAL_HOST,
        help=f"address to listen on (default {LOCAL_HOST}: this machine only; 0.0.0.0: all networks, with a warning)",
    )  # fmt: skip
    parser.add_argument("--data", default=None, help=DATA_HELP)
    return parser


def app_command(argv: list[str]) -> int:
    parser = app_parser()
    args, data_flags = parser.parse_known_args(argv)
    from importlib.util import find_spec

    from genzoo.commands.latent_args import open_explorer
    from genzoo.uploads import exposure_warning

    explorer = open_explorer(args.ckpt, args.data, data_flags, parser.prog)  # the checkpoint first: read as data
    if find_spec("gradio") is None:
        raise GenzooError("genzoo app needs gradio: pip install 'genzoo[app]' (or make test-app)")
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    from genzoo.app import serve

    address = f"[{args.host}]:{args.port}" if ":" in args.host else f"{args.host}:{args.port}"
    warning = exposure_warning(args.host, args.port)
    if warning:
        print(warning, file=sys.stderr)
    print(f"genzoo app: serving {args.ckpt} on http://{address} (Ctrl+C stops)", file=sys.stderr)
    try:
        serve(explorer, args.port, host=args.host)
    except OSError as err:
        raise GenzooError(f"cannot serve on {address} ({err}); try another --port or --host") from None
    return 0
