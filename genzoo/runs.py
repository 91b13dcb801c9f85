"""Run folders: ``<root>/<model>-<data>/version_N/``, the loggers that write them, and reading them back.

Every ``genzoo fit`` gets its own version folder (config.yaml, metrics, checkpoints, images); bench,
eval and edit read what a run left there.
"""

from __future__ import annotations

import argparse
import csv
import inspect
import netrc
import os
from pathlib import Path
from typing import Any

from genzoo.errors import GenzooError, condense_argument_error
from genzoo.registry import DATAMODULES

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


def run_config_path(checkpoint: Path) -> Path | None:
    """The config.yaml LightningCLI saved for the run that wrote ``checkpoint`` (run/checkpoints/x.ckpt)."""
    for folder in (checkpoint.parent.parent, checkpoint.parent):
        if (folder / "config.yaml").is_file():
            return folder / "config.yaml"
    return None


def data_from_run(checkpoint: Path) -> tuple[str, dict[str, Any]] | None:
    """(registered data name, init args) recorded in the run's config.yaml, or None if not recorded."""
    import yaml

    config_path = run_config_path(checkpoint)
    if config_path is None:
        return None
    config = yaml.safe_load(config_path.read_text()) or {}
    data = config.get("data") or {}
    class_path = data.get("class_path") if isinstance(data, dict) else None
    if not class_path:
        return None
    name = DATAMODULES.name_for_path(class_path)
    if name is not None:
        return name, dict(data.get("init_args") or {})
    raise GenzooError(f"{config_path} names data {class_path}, which is not a registered dataset; pass --data NAME")


def build_data_from_flags(ckpt: Path, name: str | None, flags: list[str], prog: str = "genzoo edit") -> Any:
    """The datamodule named ``name`` (default: the run's own, from its config.yaml) with ``--data.KEY VALUE``
    flags applied on top of what the run recorded, parsed and type-checked like ``genzoo fit`` does."""
    from jsonargparse import ArgumentParser

    recorded = data_from_run(ckpt)
    if name is None and recorded is None:
        raise GenzooError(f"no config.yaml found for {ckpt}; say which data to use with --data NAME (--data.root DIR)")
    name = name or recorded[0]
    cls = DATAMODULES.get(name)
    bad = [f for f in flags if f.startswith("-") and not f.startswith("--data.")]
    if bad:
        raise GenzooError(f"{prog}: unrecognized arguments: {' '.join(bad)} (see '{prog} --help')")
    parser = ArgumentParser(prog=prog, exit_on_error=False)
    parser.add_class_arguments(cls, "data")
    if recorded and recorded[0] == name:  # start from what the run trained on
        accepted = inspect.signature(cls.__init__).parameters
        parser.set_defaults({f"data.{k}": v for k, v in recorded[1].items() if k in accepted})
    try:
        cfg = parser.parse_args(flags)
    except argparse.ArgumentError as err:
        raise GenzooError(condense_argument_error(str(err)).replace("genzoo fit", prog)) from None
    return cls(**cfg.data.as_dict())
