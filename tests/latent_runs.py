"""Tiny trained checkpoints of every registered model (and a 2-D AAE), built once per test session in this
process: real run folders (config.yaml, checkpoints) exactly as ``genzoo fit`` writes them."""

from __future__ import annotations

import warnings
from pathlib import Path

import torch
from conftest import TINY_RUN
from tiny import tiny_cli_args

from genzoo.registry import MODELS

RUNS: dict[str, list[str]] = {name: ["--model", name, *tiny_cli_args(name)] for name in MODELS.names()}
RUNS["aae_2d"] = ["--model", "aae", "--model.latent_dim", "2", *tiny_cli_args("aae")]


def train_tiny(root: Path, key: str, batches: int = 20) -> Path:
    """Train RUNS[key] for ``batches`` batches under ``root``; the checkpoint's path."""
    from genzoo.cli import configure

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        cli = configure([*RUNS[key], *TINY_RUN, "--trainer.limit_train_batches", str(batches),
                         "--trainer.default_root_dir", str(root / key)])  # fmt: skip
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cli.trainer.fit(cli.model, datamodule=cli.datamodule)
    finally:
        torch.set_num_threads(threads)
    (ckpt,) = (root / key).glob("*/version_0/checkpoints/*.ckpt")
    return ckpt
