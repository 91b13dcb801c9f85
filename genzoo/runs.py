"""Run folders: ``<root>/<model>-<data>/version_N/`` and everything that finds, claims, resumes or cleans one.

A run folder holds ``config.yaml`` (the complete config), ``metrics.csv``, ``checkpoints/last.ckpt``
(written whole or not at all, at every epoch end and every few minutes within one: ``genzoo.checkpointing``)
and ``images/``. ``genzoo fit ... --ckpt_path last`` continues the newest run of that model and data under
the root, in its own folder, from its ``last.ckpt``: epoch, position in the epoch, step, optimizers,
schedulers, moving averages and every rank's random-number states. One process at a time trains in a run
folder (``lock_run``). A run that fails before its first checkpoint leaves no folder behind.
"""

from __future__ import annotations

import argparse
import csv
import inspect
import netrc
import os
import shutil
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
from lightning_fabric.loggers.logger import rank_zero_experiment
from pytorch_lightning.loggers import CSVLogger
from pytorch_lightning.loggers.csv_logs import ExperimentWriter
from pytorch_lightning.plugins.io import TorchCheckpointIO

from genzoo.atomic import atomic_path
from genzoo.errors import GenzooError, condense_argument_error
from genzoo.registry import DATAMODULES, Registry

LAST_CHECKPOINT = "last.ckpt"
RESUME = "last"  # the --ckpt_path value that means "the newest run's last.ckpt"
LOCK_FILE = ".lock"

# The folder this process created for its run (rank 0 only), and the parents it created for it, so a
# failure can take them back.
_claimed: Path | None = None
_created: list[Path] = []


def import_class(path: str) -> type:
    """``package.module.Name`` -> the class."""
    module, _, name = path.rpartition(".")
    return getattr(__import__(module, fromlist=[name]), name)


# ----- version folders -------------------------------------------------------------------------------
def versions(root: Path, name: str) -> list[int]:
    """The N of every ``version_N`` folder under root/name, ascending."""
    found = (p.name.split("_", 1)[1] for p in (Path(root) / name).glob("version_*"))
    return sorted(int(v) for v in found if v.isdigit())


def run_dir(root: Path, name: str, version: int) -> Path:
    return Path(root) / name / f"version_{version}"


#: what launchers set to tell a process its rank: torchrun, Lightning's own launcher (on one node or many), Slurm
RANK_VARIABLES = ("RANK", "LOCAL_RANK", "NODE_RANK", "GROUP_RANK", "SLURM_PROCID")


def launched_as_rank_zero() -> bool:
    """Whether this process is (or will become) global rank 0, as its launcher's environment says.

    Read before any process group exists, to decide which process creates the run folder. Each launcher
    says it differently: torchrun sets RANK; Lightning's own launcher (one node or many) LOCAL_RANK and
    NODE_RANK; Slurm SLURM_PROCID. A process none of them marks is rank 0 (a plain run).
    """
    return all(os.environ.get(key, "0") in ("0", "") for key in RANK_VARIABLES)


def claim_next_version(root: Path, name: str) -> int:
    """Create the first unused ``version_N`` under root/name and return N.

    Created here, before the run starts, so that two runs started at once cannot take the same folder
    (``mkdir`` succeeds for one of them only); the creator can take it back if the run fails early.
    """
    global _claimed, _created
    while True:
        version = max(versions(root, name), default=-1) + 1
        folder = run_dir(root, name, version)
        created = [p for p in (Path(root) / name, Path(root)) if not p.exists()]
        try:
            folder.mkdir(parents=True)
        except FileExistsError:
            continue  # another run took it between the listing and the mkdir
        except OSError as err:
            raise GenzooError(
                f"--trainer.default_root_dir {root}: cannot create the run folder {folder} ({err.strerror}); "
                "give a folder you can write to"
            ) from None
        _claimed, _created = folder, created
        return version


# The lock of the run folder this process trains in (held open: the kernel releases it when the process
# ends, however it ends, so a killed run never leaves the folder locked).
_lock: Any = None


def lock_run(folder: Path) -> None:
    """Take the run folder for this process, or refuse in one line naming the process that holds it."""
    import fcntl
    import socket

    global _lock
    path = Path(folder) / LOCK_FILE
    if _lock is not None and not _lock.closed:
        if Path(_lock.name) == path:
            return  # this process holds it already (a run configured twice in one Python session)
        _lock.close()  # one run per process: the previous run's folder is free again
    try:
        handle = open(path, "a+")  # held for the life of the process
    except OSError as err:
        raise GenzooError(f"cannot use the run folder {folder} ({err.strerror}); is it writable?") from None
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        raise GenzooError(
            f"the run folder {folder} is in use by {holder}; wait for it to finish, or stop it first"
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"process {os.getpid()} on {socket.gethostname()}\n")
    handle.flush()
    _lock = handle


def latest_checkpoint(root: Path, name: str) -> tuple[int, Path] | None:
    """(version, path) of the newest run under root/name that has a ``last.ckpt``; None if none has."""
    for version in reversed(versions(root, name)):
        path = run_dir(root, name, version) / "checkpoints" / LAST_CHECKPOINT
        if path.is_file():
            return version, path
    return None


def discard_failed_run() -> Path | None:
    """Remove the run folder this process created if it holds no checkpoint; returns it if removed.

    A run that stopped before its first checkpoint (a bad value found late, a crash, Ctrl-C in the first
    epoch) leaves nothing worth keeping, and an empty ``version_N`` would make the next run ``version_N+1``,
    so that the paths in the README and in the user's notes no longer match.
    """
    global _claimed
    folder, _claimed = _claimed, None
    if folder is None or not folder.is_dir() or any(folder.rglob("*.ckpt")):
        return None
    shutil.rmtree(folder, ignore_errors=True)
    for parent in _created:  # <model>-<data>/ and the root, if this run created them and they are empty now
        try:
            parent.rmdir()
        except OSError:
            break
    return folder


# ----- a run's recorded config -----------------------------------------------------------------------
def run_config_path(checkpoint: Path) -> Path | None:
    """The config.yaml LightningCLI saved for the run that wrote ``checkpoint`` (run/checkpoints/x.ckpt)."""
    checkpoint = Path(checkpoint)
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
    recorded = data.get("class_path") if isinstance(data, dict) else None
    if not recorded:
        return None
    name = DATAMODULES.name_for_path(recorded)
    if name is not None:
        return name, dict(data.get("init_args") or {})
    raise GenzooError(f"{config_path} names data {recorded}, which is not a registered dataset; pass --data NAME")


def build_datamodule(name: str, init_args: dict[str, Any]) -> Any:
    """The registered datamodule ``name`` built with those of ``init_args`` it accepts."""
    cls = DATAMODULES.get(name)
    accepted = inspect.signature(cls.__init__).parameters
    return cls(**{k: v for k, v in init_args.items() if k in accepted})


def build_data_from_flags(ckpt: Path, name: str | None, flags: list[str], prog: str = "genzoo edit") -> Any:
    """The datamodule named ``name`` (default: the run's own, from its config.yaml) with ``--data.KEY VALUE``
    flags applied on top of what the run recorded, parsed and type-checked like ``genzoo fit`` does."""
    from jsonargparse import ArgumentParser

    from genzoo.ranges import out_of_range

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
        line = out_of_range(str(err)) or condense_argument_error(str(err)).replace("genzoo fit", prog)
        raise GenzooError(line) from None
    return cls(**cfg.data.as_dict())


def read_metrics_csv(path: Path) -> list[dict[str, float]]:
    """Rows of a CSVLogger metrics.csv, empty cells dropped, values as floats."""
    if not path.is_file():
        return []
    with open(path, newline="") as f:
        return [{k: float(v) for k, v in row.items() if v not in ("", None)} for row in csv.DictReader(f)]


# ----- loggers ---------------------------------------------------------------------------------------
#: the loggers ``--trainer.logger csv|tensorboard|wandb`` names; config.yaml records them by class path
LOGGERS: Registry[Any] = Registry("logger")
LOGGERS.add("csv", "pytorch_lightning.loggers:CSVLogger", "metrics.csv in the run folder (always written)")
LOGGERS.add("tensorboard", "pytorch_lightning.loggers:TensorBoardLogger", "TensorBoard event files")
LOGGERS.add("wandb", "pytorch_lightning.loggers:WandbLogger", "Weights & Biases (offline without an account)")


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


def build_logger(choice: str, root: Path, name: str, version: int | None) -> list[Any]:
    """Loggers writing into root/name/version_N, the run folder: CSV always (metrics.csv, which bench and
    the docs rely on), first, so that the trainer's log_dir (config.yaml, checkpoints) is the run folder;
    then TensorBoard or wandb if chosen.

    ``version`` None: a new run. The process that will be global rank 0 creates its folder and locks it;
    the other ranks (other processes on this node, other nodes) never write logs, and learn the run folder
    from rank 0 once the processes are connected (``trainer.log_dir`` is broadcast).
    """
    from pytorch_lightning.loggers import TensorBoardLogger, WandbLogger  # wandb is slow to import: only here

    if launched_as_rank_zero():
        if version is None:
            version = claim_next_version(root, name)
        lock_run(run_dir(root, name, version))
    loggers: list[Any] = [RunCSVLogger(save_dir=root, name=name, version=version)]
    if choice == "tensorboard":
        loggers.append(TensorBoardLogger(save_dir=root, name=name, version=version, default_hp_metric=False))
    if choice == "wandb":
        configure_wandb_offline()
        folder = run_dir(root, name, version if version is not None else 0)
        loggers.append(WandbLogger(save_dir=str(folder), project="genzoo", name=f"{name}-v{version}"))
    return loggers


# ----- writing checkpoints ---------------------------------------------------------------------------
class AtomicCheckpointIO(TorchCheckpointIO):
    """Checkpoints written whole or not at all: a kill or a full disk during the write keeps the old file.

    Lightning's own save is not enough: it writes into the system's temporary folder and moves the file into
    place, which is a copy over the old checkpoint when that folder is on another filesystem (a node-local
    /tmp, a run folder on shared storage), and needs room for a whole checkpoint in /tmp."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: Any, storage_options: Any | None = None) -> None:
        import torch

        with atomic_path(path) as tmp:
            torch.save(checkpoint, tmp)


class RunGuard(pl.Callback):
    """Notes why a run stopped, for the CLI: Lightning turns Ctrl-C into ``sys.exit(1)`` with no message."""

    interrupted = False

    def on_exception(self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException) -> None:
        if isinstance(exception, KeyboardInterrupt):
            RunGuard.interrupted = True


# ----- metrics.csv that a resumed run continues -----------------------------------------------------
class AppendingExperimentWriter(ExperimentWriter):
    """Lightning's CSV writer deletes an existing metrics.csv when it starts; a resumed run keeps its own: the
    file steps aside while the writer starts, and the writer continues it (its header gives the known keys)."""

    def __init__(self, log_dir: str) -> None:
        path = Path(log_dir) / self.NAME_METRICS_FILE
        aside = path.with_name(".metrics-of-resumed-run.csv")  # also found after a crash in between
        if path.is_file():
            path.replace(aside)
        super().__init__(log_dir=log_dir)
        if aside.is_file():
            with aside.open(newline="") as file:
                self.metrics_keys = next(csv.reader(file), [])  # new keys later rewrite the header
            aside.replace(path)


class RunCSVLogger(CSVLogger):
    """CSVLogger writing ``metrics.csv`` into the run folder, continuing the file of a resumed run."""

    @property
    @rank_zero_experiment
    def experiment(self) -> ExperimentWriter:
        if self._experiment is None:
            self._fs.makedirs(self.root_dir, exist_ok=True)
            self._experiment = AppendingExperimentWriter(log_dir=self.log_dir)
        return self._experiment
