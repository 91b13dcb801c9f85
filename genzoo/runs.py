"""Run folders: ``<root>/<model>-<data>/version_N/``, the loggers that write them, and reading them back.

Every ``genzoo fit`` gets its own version folder (config.yaml, metrics, checkpoints, images); bench,
eval and edit read what a run left there.
"""

from __future__ import annotations

import csv
import netrc
import os
from pathlib import Path
from typing import Any

RUN_VERSION_ENV = "GENZOO_RUN_VERSION"  # lets DDP worker processes join the run folder of rank 0


def read_metrics_csv(path: Path) -> list[dict[str, float]]:
    """Rows of a CSVLogger metrics.csv, empty cells dropped, values as floats."""
    if not path.is_file():
        return []
    with open(path, newline="") as f:
        return [{k: float(v) for k, v in row.items() if v not in ("", None)} for row in csv.DictReader(f)]


def configure_wandb_offline() -> None:
    """wandb must work without an account: offline unless the user configured it."""
    if "WANDB_MODE" in os.environ or "WANDB_API_KEY" in os.environ:
        return
    try:
        if netrc.netrc().authenticators("api.wandb.ai"):
            return
    except (OSError, netrc.NetrcParseError):
        pass
    os.environ["WANDB_MODE"] = "offline"


def next_run_version(root: Path, name: str) -> int:
    """The first unused version_N under root/name (shared by DDP ranks through the environment)."""
    if os.environ.get(RUN_VERSION_ENV):
        return int(os.environ[RUN_VERSION_ENV])
    existing = [int(p.name.split("_")[1]) for p in (root / name).glob("version_*") if p.name.split("_")[1].isdigit()]
    version = max(existing, default=-1) + 1
    (root / name / f"version_{version}").mkdir(parents=True, exist_ok=True)  # claim it now
    os.environ[RUN_VERSION_ENV] = str(version)
    return version


def build_logger(choice: str, root: Path, name: str) -> Any:
    """A logger writing into root/name/version_N, the run folder."""
    from pytorch_lightning.loggers import CSVLogger, TensorBoardLogger, WandbLogger

    version = next_run_version(root, name)
    if choice == "tensorboard":
        return TensorBoardLogger(save_dir=root, name=name, version=version, default_hp_metric=False)
    if choice == "wandb":
        configure_wandb_offline()
        run_dir = root / name / f"version_{version}"
        return WandbLogger(save_dir=str(run_dir), project="genzoo", name=f"{name}-v{version}")
    return CSVLogger(save_dir=root, name=name, version=version)
