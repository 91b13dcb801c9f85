"""``genzoo fit|validate|test``: LightningCLI with genzoo's run folders, data->model links and defaults.

Before LightningCLI sees the arguments they are rewritten (``genzoo.cli.arguments``). Then
``GenzooCLI``, before building anything, links the data to the model (the model is told the image
shape and label count of its data), applies the model's own training length, and checks the data;
it builds the run folder's logger and adds the callbacks every run gets; after ``fit`` it reports the
test metrics.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import warnings
from operator import attrgetter
from pathlib import Path
from typing import Any

from pytorch_lightning.callbacks import Checkpoint, ProgressBar, TQDMProgressBar
from pytorch_lightning.cli import LightningCLI, SaveConfigCallback
from pytorch_lightning.utilities.exceptions import MisconfigurationException, SIGTERMException

from genzoo import runs
from genzoo.atomic import failed_write
from genzoo.callbacks import EpochThroughput
from genzoo.checkpointing import DEFAULT_EVERY_MINUTES, LastCheckpoint, RunStopped, SignalStop, report_stop
from genzoo.checks import check_checkpoint_file, check_checkpoint_fits, check_checkpoint_model, check_trainer
from genzoo.cli.arguments import rewrite_arguments
from genzoo.commands import LIGHTNING_COMMANDS
from genzoo.datamodules.base import InMemoryImageDataModule
from genzoo.distributed import check_multi_node_environment
from genzoo.divergence import DivergenceStop
from genzoo.errors import GenzooError, condense_argument_error
from genzoo.latent.callback import LatentPictures
from genzoo.models.base import GenerativeModule
from genzoo.random_streams import RandomStreams
from genzoo.ranges import out_of_range
from genzoo.registry import BACKBONES, DATAMODULES, MODELS
from genzoo.runs import LOGGERS, build_logger, configure_wandb_offline

DEFAULT_ROOT_DIR = "runs"
DEFAULT_SEED = 0
PROGRESS_BAR_REFRESH = 10  # batches between progress-bar redraws
#: what a datamodule tells the model it feeds (when the model's __init__ takes it)
DATA_TO_MODEL = ("image_shape", "num_classes", "class_names", "multi_label")


class GenzooSaveConfig(SaveConfigCallback):
    """Saves config.yaml with the logger the run really used (LightningCLI would record ``logger: null``,
    since genzoo builds the logger itself), so ``--config config.yaml`` reruns it with the same one."""

    logger_choice = "csv"

    def setup(self, trainer: Any, pl_module: Any, stage: str) -> None:
        from jsonargparse import Namespace

        self.config["trainer"]["logger"] = Namespace(
            class_path=LOGGERS.class_path(self.logger_choice), init_args=Namespace(save_dir=trainer.default_root_dir)
        )
        super().setup(trainer, pl_module, stage)


class GenzooCLI(LightningCLI):
    """LightningCLI with genzoo's run folders, value checks, resume, data->model links and a test after fit."""

    def __init__(self, logger_choice: str | None, args: list[str], run: bool = True) -> None:
        self.logger_choice = logger_choice
        self.checkpoint: dict[str, Any] | None = None  # the --ckpt_path checkpoint, read once and checked
        self.run_version: int | None = None  # the run folder's N: set when resuming; None: a new run
        super().__init__(
            GenerativeModule,
            InMemoryImageDataModule,
            subclass_mode_model=True,
            subclass_mode_data=True,
            trainer_defaults={"default_root_dir": DEFAULT_ROOT_DIR},
            seed_everything_default=DEFAULT_SEED,  # a default run is reproducible, as its recipe
            save_config_callback=GenzooSaveConfig,
            save_config_kwargs={"overwrite": True},  # a resumed run rewrites its own config.yaml
            args=args,
            parser_kwargs={"exit_on_error": False},
            auto_configure_optimizers=False,
            run=run,
        )

    @staticmethod
    def subcommands() -> dict[str, set[str]]:
        # No ``predict``: a generative model has nothing to predict from a data set; sample, eval and edit
        # are the commands that produce its outputs.
        return {k: v for k, v in LightningCLI.subcommands().items() if k in LIGHTNING_COMMANDS}

    def add_arguments_to_parser(self, parser: Any) -> None:
        from jsonargparse.typing import NonNegativeFloat

        parser.add_argument(
            "--test_after_fit", type=bool, default=True,
            help="after fit, evaluate the trained model on the test split and print the results",
        )  # fmt: skip
        parser.add_argument(
            "--checkpoint_every_minutes", type=NonNegativeFloat, default=DEFAULT_EVERY_MINUTES,
            help="also write last.ckpt every this many minutes within an epoch (0: at epoch ends only)",
        )  # fmt: skip
        # Data -> model links: the model is told the image shape and labels of the datamodule that is built,
        # when it is built (a model without such an argument, e.g. the AE's num_classes, is left alone).
        for key in DATA_TO_MODEL:
            parser.link_arguments("data", f"model.init_args.{key}", compute_fn=attrgetter(key), apply_on="instantiate")

    def _section(self) -> Any:
        return self.config[self.subcommand] if self.subcommand else self.config

    def _setting(self, key: str, default: Any) -> Any:
        """A value of this command's instantiated config (``--test_after_fit``, ``trainer``...)."""
        section = self.config_init[self.subcommand] if self.subcommand else self.config_init
        return section.get(key, default)

    def before_instantiate_classes(self) -> None:
        cfg = self._section()
        model_cls = runs.import_class(cfg["model"]["class_path"])
        self.run_name = run_name_of(cfg)
        apply_training_length_default(cfg["trainer"], model_cls)
        self._take_recorded_logger(cfg["trainer"])
        check_trainer(cfg["trainer"])
        check_multi_node_environment(cfg["trainer"].get("num_nodes"))
        # The one model -> data link: a model that needs labels (CVAE) gets the labelled images only.
        data_args = cfg["data"].get("init_args")
        if model_cls.needs_labels and data_args and data_args.get("labelled_only", False) is None:
            data_args["labelled_only"] = True
        init_args = cfg["model"]["init_args"]
        if "backbone" in init_args:
            BACKBONES.get(init_args["backbone"])  # an unknown name fails here, listing the known ones

    def _take_recorded_logger(self, trainer_cfg: Any) -> None:
        """A config.yaml saved by genzoo names its logger by class (see GenzooSaveConfig): use that choice."""
        logger = trainer_cfg.get("logger")
        recorded = getattr(logger, "class_path", None) if logger is not None else None
        choice = LOGGERS.name_for_path(recorded) if recorded else None
        if choice is not None and getattr(logger.init_args, "version", None) is None:
            self.logger_choice = self.logger_choice or choice
            trainer_cfg["logger"] = None

    def parse_arguments(self, parser: Any, args: Any) -> None:
        super().parse_arguments(parser, args)
        # Next, LightningCLI reads the --ckpt_path checkpoint's hyper-parameters, its model class included
        # (so `fit --model aae --ckpt_path vae.ckpt` would train the VAE): resolve and check it first.
        subcommand = self.config.get("subcommand")
        if subcommand in LIGHTNING_COMMANDS:
            cfg = self.config[subcommand]
            self.run_name = run_name_of(cfg)
            self._resolve_checkpoint(cfg, subcommand)
            if self.checkpoint is not None:
                model_cls = runs.import_class(cfg["model"]["class_path"])
                check_checkpoint_model(self.checkpoint, self.checkpoint_path, MODELS.name_of(model_cls))

    def _resolve_checkpoint(self, cfg: Any, subcommand: str) -> None:
        """--ckpt_path last: the newest run's last.ckpt (and, for fit, that run's folder); any path: read it."""
        # Lightning loads the file again to restore it; without weights_only=True its torch.load could run
        # code (older torch, TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD, or this flag). genzoo's checkpoints are plain.
        if cfg.get("weights_only") is False:
            raise GenzooError("--weights_only false: genzoo reads checkpoints as plain data only; drop the flag")
        cfg["weights_only"] = True
        ckpt_path = cfg.get("ckpt_path")
        root = Path(cfg["trainer"].get("default_root_dir") or DEFAULT_ROOT_DIR)
        if ckpt_path == runs.RESUME:
            found = runs.latest_checkpoint(root, self.run_name)
            if found is None and subcommand == "fit":
                print(f"genzoo: no {self.run_name} run with a last.ckpt under {root}; starting a new run",
                      file=sys.stderr)  # fmt: skip
                cfg["ckpt_path"] = None
                return
            if found is None:
                raise GenzooError(f"--ckpt_path last: no {self.run_name} run with a last.ckpt under {root}")
            version, ckpt_path = found
            cfg["ckpt_path"] = str(ckpt_path)
            if subcommand == "fit":
                self.run_version = version  # the resumed run continues in its own folder
                if runs.launched_as_rank_zero():
                    print(f"genzoo: resuming {ckpt_path.parent.parent}", file=sys.stderr)
        if ckpt_path is not None and ckpt_path not in ("best", "hpc", "registry"):
            self.checkpoint = check_checkpoint_file(ckpt_path)
            self.checkpoint_path = ckpt_path

    def _check_before_run(self) -> None:
        if self.checkpoint is not None:
            check_checkpoint_fits(self.checkpoint, self.checkpoint_path, self.model)
            self.checkpoint = None  # free the weights: Lightning reads the file itself

    def before_fit(self) -> None:
        self._check_before_run()
        datamodule = self.datamodule
        datamodule.setup("fit")
        train = datamodule.splits.get("train")
        size = 0 if train is None else len(train)
        if size < datamodule.batch_size:
            raise GenzooError(
                f"the training split holds {size} image(s), fewer than one batch (--data.batch_size "
                f"{datamodule.batch_size}), so training would see no batch; use a smaller batch size or more data"
            )

    def before_validate(self) -> None:
        self._check_before_run()

    def before_test(self) -> None:
        self._check_before_run()

    def instantiate_trainer(self, **kwargs: Any) -> Any:
        if self.subcommand in LIGHTNING_COMMANDS and os.environ.get("LOCAL_RANK", "0") == "0":
            # Check (or fetch, or decode) the data once the model is built, so that a model that cannot take
            # it (--data.size 31 for a conv backbone) is refused first, and before any run folder, logger or
            # checkpoint is created, so that a missing or corrupt file stops the run with nothing written.
            # DDP workers skip this.
            self.datamodule.prepare_data()
        trainer_cfg = self._setting("trainer", {})
        root = Path(trainer_cfg.get("default_root_dir") or DEFAULT_ROOT_DIR)
        custom_logger = not (self.logger_choice or trainer_cfg.get("logger") in (None, True))
        if self.subcommand in ("validate", "test"):
            # validate and test report metrics; they make no run folder (only training makes a run).
            if not custom_logger:
                kwargs["logger"] = False
            self.save_config_callback = None
            kwargs["enable_checkpointing"] = False
            kwargs["callbacks"] = [*(trainer_cfg.get("callbacks") or []), runs.RunGuard()]
            return super().instantiate_trainer(**kwargs)
        if not custom_logger:
            kwargs["logger"] = build_logger(self.logger_choice or "csv", root, self.run_name, self.run_version)
        GenzooSaveConfig.logger_choice = self.logger_choice or "csv"
        if custom_logger:  # the user's own logger object: record what they gave (LightningCLI's default)
            self.save_config_callback = SaveConfigCallback
        callbacks = list(trainer_cfg.get("callbacks") or [])
        if trainer_cfg.get("enable_progress_bar") is not False and not any(
            isinstance(c, ProgressBar) for c in callbacks
        ):
            # Redrawing the bar after every batch costs small models measurable speed.
            callbacks.append(TQDMProgressBar(refresh_rate=PROGRESS_BAR_REFRESH))
        if not any(isinstance(c, EpochThroughput) for c in callbacks):
            callbacks.append(EpochThroughput())
        if trainer_cfg.get("enable_checkpointing") is not False and not any(
            isinstance(c, Checkpoint) for c in callbacks
        ):
            # last.ckpt in the run folder whatever the logger (wandb would put it under its own run id).
            minutes = self._setting("checkpoint_every_minutes", DEFAULT_EVERY_MINUTES)
            callbacks.append(LastCheckpoint(every_minutes=minutes or None))
        elif not any(isinstance(c, SignalStop) for c in callbacks):
            callbacks.append(SignalStop())  # no checkpoint to write, but a signal still stops the run cleanly
        # What every training run gets beside the model's own callbacks (GenerativeModule.configure_callbacks):
        # one-line stop on NaN losses, each rank's random streams (DDP seeds, exact resume), per-epoch pictures.
        for run_callback in (DivergenceStop, RandomStreams, LatentPictures):
            if not any(isinstance(c, run_callback) for c in callbacks):
                callbacks.append(run_callback())
        callbacks.append(runs.RunGuard())
        kwargs["callbacks"] = callbacks
        plugins = list(trainer_cfg.get("plugins") or [])
        kwargs["plugins"] = [*plugins, runs.AtomicCheckpointIO()]
        return super().instantiate_trainer(**kwargs)

    def after_fit(self) -> None:
        if self.trainer.interrupted:
            return
        results = []
        if self._setting("test_after_fit", True):
            results = self.trainer.test(self.model, datamodule=self.datamodule, verbose=False)
        log_dir = self.trainer.log_dir  # a collective under DDP (rank 0 broadcasts it): every rank asks
        if self.trainer.is_global_zero:
            if results:
                metrics = {k: round(float(v), 6) for k, v in results[0].items()}
                print(f"test metrics: {json.dumps(metrics)}")
            print(f"run folder: {log_dir}")


def run_name_of(cfg: Any) -> str:
    """``<model>-<data>``, the folder of a configuration's runs under the root (``vae-mnist``)."""
    model_cls = runs.import_class(cfg["model"]["class_path"])
    data_cls = runs.import_class(cfg["data"]["class_path"])
    model = MODELS.name_of(model_cls) or model_cls.__name__.lower()
    return f"{model}-{DATAMODULES.name_of(data_cls) or data_cls.__name__.lower()}"


def apply_training_length_default(trainer_cfg: Any, model_cls: type) -> None:
    """No --trainer.max_epochs / max_steps / max_time given: train for the model's own number of epochs.

    Lightning's fallback is 1000 epochs, which nobody wants by accident; every model knows how long its
    defaults are tuned to train (``default_max_epochs``), so a plain ``genzoo fit --model X`` is its recipe.
    """
    unbounded = trainer_cfg.get("max_steps", -1) in (-1, None) and trainer_cfg.get("max_time") is None
    if trainer_cfg.get("max_epochs") is None and unbounded:
        trainer_cfg["max_epochs"] = getattr(model_cls, "default_max_epochs", None)


def configure(argv: list[str]) -> Any:
    """Parse ``genzoo fit ARGV`` and build its model, data and trainer without training (tools, tests).

    The objects are exactly those ``genzoo fit ARGV`` would train; the run folder is created.
    """
    args, logger_choice = rewrite_arguments(["fit", *argv])
    return GenzooCLI(logger_choice, args[1:], run=False)


def show_help(logger_choice: str | None, args: list[str]) -> None:
    """LightningCLI's help, then the own arguments of the --model (and --data) named, which it only lists
    as ``--model.help CLASS``: ``genzoo fit --model vae --help`` shows --model.beta and the rest."""
    requests = [args]
    for flag in ("--model", "--data"):
        if flag in args[:-1]:
            requests.append([args[0], f"{flag}.help", args[args.index(flag) + 1]])
    for request in requests:
        try:
            GenzooCLI(logger_choice, request)
        except SystemExit as done:
            if done.code not in (0, None):
                raise
        print()


def prepare_lightning() -> None:
    configure_wandb_offline()
    # We hand LightningCLI the rewritten arguments on purpose; sys.argv stays intact for DDP workers.
    warnings.filterwarnings("ignore", message="LightningCLI's args parameter is intended")


def print_help(args: list[str], logger_choice: str | None) -> None:
    """``genzoo fit --help`` the slow way (the front door keeps the text: ``genzoo.cli.help_cache``)."""
    prepare_lightning()
    show_help(logger_choice, args)


def run_lightning(args: list[str], logger_choice: str | None) -> None:
    """Run LightningCLI on arguments already rewritten by ``genzoo.cli.arguments.rewrite_arguments``."""
    prepare_lightning()
    try:
        try:
            GenzooCLI(logger_choice, args)
        except BaseException:
            runs.discard_failed_run()
            raise
        close_process_group()
    except MisconfigurationException as err:
        raise GenzooError(explain_misconfiguration(str(err))) from None
    except RunStopped as stopped:
        close_process_group()  # every rank stopped at the same batch
        report_stop(stopped)
        raise SystemExit(stopped.code) from None
    except SIGTERMException:  # Lightning's own handler caught SIGTERM before training began (exits 0 itself)
        report_stop(RunStopped(signal.SIGTERM, 0, 0, None))
        raise SystemExit(128 + signal.SIGTERM) from None
    except SystemExit:
        if runs.RunGuard.interrupted:
            raise KeyboardInterrupt from None  # Lightning's sys.exit(1) after Ctrl-C: say so, exit 130
        raise
    except argparse.ArgumentError as err:
        raise GenzooError(out_of_range(str(err)) or condense_argument_error(str(err))) from None
    except ValueError as err:
        # jsonargparse wraps errors raised in a model's __init__ (e.g. "cvae needs labelled data"): unwrap ours.
        cause = err.__cause__ or err.__context__
        while cause is not None and not isinstance(cause, GenzooError):
            cause = cause.__cause__ or cause.__context__
        if cause is None:
            raise
        raise cause from None
    except (OSError, RuntimeError) as err:
        failed = failed_write(err)  # a full disk while Lightning or torch wrote a file of the run
        if failed is None:
            raise
        raise failed from None


def explain_misconfiguration(message: str) -> str:
    """Lightning's MisconfigurationException, for settings a user gave, as one line naming the flag."""
    import re

    past_end = re.search(r"checkpoint with current_epoch=(\d+), but you have set Trainer\(max_epochs=(\d+)\)", message)
    if past_end:
        done, asked = past_end.groups()
        return (
            f"--trainer.max_epochs {asked}: the run to resume already trained {done} epochs; "
            f"give --trainer.max_epochs above {done} to train it further"
        )
    return " ".join(message.split())


def close_process_group() -> None:
    """End the DDP process group together, on every rank, before the interpreter exits.

    Lightning leaves it open after the run. A rank that exits with its gloo connections still open can take
    its peer down: the peer's background threads fail on the closed sockets while the interpreter shuts
    down, where C++ can only abort. After a barrier, no rank has work in flight; then each closes its side.
    Only after a run that every rank finished (or stopped at the same batch): a rank that failed alone
    would leave the others waiting at the barrier.
    """
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
