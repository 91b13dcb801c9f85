"""``genzoo app --ckpt C [--port P]``: the web explorer (genzoo/app.py), served on 127.0.0.1 only."""

from __future__ import annotations

import os
import sys

from genzoo.commands.args import CKPT_HELP, CommandParser
from genzoo.commands.latent_args import DATA_HELP
from genzoo.errors import GenzooError

DEFAULT_PORT = 7860  # Gradio's own default; here, not in genzoo.app, which loads torch and gradio


def port_number(text: str) -> int:
    import argparse

    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port number from 1 to 65535, got {text!r}")
    return int(text)


def app_command(argv: list[str]) -> int:
    parser = CommandParser(prog="genzoo app", description="Serve the latent explorer of a checkpoint on 127.0.0.1.",
                           allow_abbrev=False)  # fmt: skip
    parser.add_argument("--ckpt", required=True, help=CKPT_HELP)
    parser.add_argument("--port", type=port_number, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    parser.add_argument("--data", default=None, help=DATA_HELP)
    args, data_flags = parser.parse_known_args(argv)
    try:
        import gradio  # noqa: F401
    except ImportError:
        raise GenzooError("genzoo app needs gradio: pip install 'genzoo[app]' (or make test-app)") from None
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    from genzoo.app import serve
    from genzoo.commands.latent_args import open_explorer

    explorer = open_explorer(args.ckpt, args.data, data_flags, parser.prog)
    print(f"genzoo app: serving {args.ckpt} on http://127.0.0.1:{args.port} (Ctrl+C stops)", file=sys.stderr)
    try:
        serve(explorer, args.port)
    except OSError as err:
        raise GenzooError(f"cannot serve on 127.0.0.1:{args.port} ({err}); try another --port") from None
    return 0
