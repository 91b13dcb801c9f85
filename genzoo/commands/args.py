"""An argparse parser whose errors are GenzooErrors (one line, exit code 2) instead of usage dumps."""

from __future__ import annotations

import argparse
from typing import NoReturn

from genzoo.errors import GenzooError


class CommandParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise GenzooError(f"{self.prog}: {message} (see '{self.prog} --help')")


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


CKPT_HELP = "checkpoint (.ckpt) written by genzoo fit, or a folder written by genzoo export"
