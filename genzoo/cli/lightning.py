"""``genzoo fit|validate|test``: LightningCLI with genzoo's run folders, data->model links and defaults.

Before LightningCLI sees the arguments they are rewritten (``genzoo.cli.arguments``). Then
``GenzooCLI``, before building anything, links the data to the model (the model is told the image
shape and label count of its data), applies the model's own training length, and checks the data;
it builds the run folder's logger and adds the callbacks every run gets; after ``fit`` it reports the
test metrics.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import warnings
from pathlib import Path
from typing import Any

from pytorch_lightning.callbacks import ProgressBar, TQDMProgressBar
from pytorch_lightning.cli import LightningCLI

from genzoo.callbacks import ThroughputMonitor
from genzoo.cli.arguments import rewrite_arguments
from genzoo.commands import LIGHTNING_COMMANDS
from genzoo.datamodules.base import InMemoryImageDataModule
from genzoo.errors import GenzooError, condense_argument_error
from genzoo.models.base import GenerativeModule
from genzoo.registry import BACKBONES, DATAMODULES, MODELS
from genzoo.runs import build_logger, configure_wandb_offline

DEFAULT_ROOT_DIR = "runs"
DEFAULT_SEED = 0
PROGRESS_BAR_REFRESH = 10  # batches between progress-bar redraws


class GenzooCLI(LightningCLI):
    """LightningCLI with genzoo's run folders, data->model links and a test after fit."""

    def __init__(self, logger_choice: str | None, args: list[str], run: bool = True) -> None:
        self.logger_choice = logger_choice
        super().__init__(
            GenerativeModule,
            InMemoryImageDataModule,
            subclass_mode_model=True,
            subclass_mode_data=True,
            trainer_defaults={"default_root_dir": DEFAULT_ROOT_DIR},
            seed_everything_default=DEFAULT_SEED,  # a default run is reproducible, as its recipe
            args=args,
            parser_kwargs={"exit_on_error": False},
            auto_configure_optimizers=False,
            run=run,
        )

    def add_arguments_to_parser(self, parser: Any) -> None:
        parser.add_argument(
            "--test_after_fit", type=bool, default=True,
            help="after fit, evaluate the trained model on the test split and print the results",
        )  # fmt: skip

    def _section(self) -> Any:
        return self.config[self.subcommand] if self.subcommand else self.config

    def before_instantiate_classes(self) -> None:
        cfg = self._section()
        data_cls = _import(cfg["data"]["class_path"])
        model_cls = _import(cfg["model"]["class_path"])
        apply_training_length_default(cfg["trainer"], model_cls)
        # Data -> model links: the model is told the image shape and label count of its data.
        data_args = cfg["data"].get("init_args")
        if model_cls.needs_labels and data_args and data_args.get("labelled_only", False) is None:
            data_args["labelled_only"] = True  # a model that needs labels (CVAE) gets the labelled images only
        datamodule = data_cls(**dict(cfg["data"].get("init_args") or {}))
        accepted = inspect.signature(model_cls.__init__).parameters
        init_args = cfg["model"]["init_args"]
        if "backbone" in init_args:
            BACKBONES.get(init_args["backbone"])  # an unknown name fails here, listing the known ones
        for key in ("image_shape", "num_classes", "class_names", "multi_label"):
            if key in accepted and hasattr(datamodule, key):
                init_args[key] = getattr(datamodule, key)
        if self.subcommand in LIGHTNING_COMMANDS and os.environ.get("LOCAL_RANK", "0") == "0":
            # Check (or fetch) the data before any run folder, logger or checkpoint is created, so
            # a missing or corrupt file stops the run with nothing written. DDP workers skip this.
            datamodule.prepare_data()
        self.run_name = f"{MODELS.name_of(model_cls) or model_cls.__name__.lower()}-" + (
            DATAMODULES.name_of(data_cls) or data_cls.__name__.lower()
        )

    def instantiate_trainer(self, **kwargs: Any) -> Any:
        trainer_cfg = self._get(self.config_init, "trainer", default={})
        if self.logger_choice or trainer_cfg.get("logger") in (None, True):
            root = Path(trainer_cfg.get("default_root_dir") or DEFAULT_ROOT_DIR)
            kwargs["logger"] = build_logger(self.logger_choice or "csv", root, self.run_name)
        if trainer_cfg.get("strategy") == "ddp" and getattr(self.model, "multi_phase", False):
            # Multi-optimizer models leave some parameters without gradient in some phases;
            # plain DDP stops on that, so give the user the variant that works.
            kwargs["strategy"] = "ddp_find_unused_parameters_true"
        callbacks = list(trainer_cfg.get("callbacks") or [])
        if trainer_cfg.get("enable_progress_bar") is not False and not any(
            isinstance(c, ProgressBar) for c in callbacks
        ):
            # Redrawing the bar after every batch costs small models measurable speed.
            callbacks.append(TQDMProgressBar(refresh_rate=PROGRESS_BAR_REFRESH))
        if not any(isinstance(c, ThroughputMonitor) for c in callbacks):
            callbacks.append(ThroughputMonitor())
        kwargs["callbacks"] = callbacks
        return super().instantiate_trainer(**kwargs)

    def after_fit(self) -> None:
        if not self._get(self.config_init, "test_after_fit", True) or self.trainer.interrupted:
            return
        results = self.trainer.test(self.model, datamodule=self.datamodule, verbose=False)
        log_dir = self.trainer.log_dir  # a collective under DDP (rank 0 broadcasts it): every rank asks
        if self.trainer.is_global_zero and results:
            metrics = {k: round(float(v), 6) for k, v in results[0].items()}
            print(f"test metrics: {json.dumps(metrics)}")
            print(f"run folder: {log_dir}")


def apply_training_length_default(trainer_cfg: Any, model_cls: type) -> None:
    """No --trainer.max_epochs / max_steps / max_time given: train for the model's own number of epochs.

    Lightning's fallback is 1000 epochs, which nobody wants by accident; every model knows how long its
    defaults are tuned to train (``default_max_epochs``), so a plain ``genzoo fit --model X`` is its recipe.
    """
    unbounded = trainer_cfg.get("max_steps", -1) in (-1, None) and trainer_cfg.get("max_time") is None
    if trainer_cfg.get("max_epochs") is None and unbounded:
        trainer_cfg["max_epochs"] = getattr(model_cls, "default_max_epochs", None)


def _import(path: str) -> type:
    module, _, name = path.rpartition(".")
    return getattr(__import__(module, fromlist=[name]), name)


def configure(argv: list[str]) -> Any:
    """Parse ``genzoo fit ARGV`` and build its model, data and trainer without training (tools, tests).

    The objects are exactly those ``genzoo fit ARGV`` would train; the run folder is created.
    """
    args, logger_choice = rewrite_arguments(["fit", *argv])
    return GenzooCLI(logger_choice, args[1:], run=False)


def run_lightning(args: list[str], logger_choice: str | None) -> None:
    """Run LightningCLI on arguments already rewritten by ``genzoo.cli.arguments.rewrite_arguments``."""
    configure_wandb_offline()
    # We hand LightningCLI the rewritten arguments on purpose; sys.argv stays intact for DDP workers.
    warnings.filterwarnings("ignore", message="LightningCLI's args parameter is intended")
    try:
        GenzooCLI(logger_choice, args)
    except argparse.ArgumentError as err:
        raise GenzooError(condense_argument_error(str(err))) from None
    except ValueError as err:
        # jsonargparse wraps errors raised in a model's __init__ (e.g. "cvae needs labelled data"): unwrap ours.
        cause = err.__cause__ or err.__context__
        while cause is not None and not isinstance(cause, GenzooError):
            cause = cause.__cause__ or cause.__context__
        if cause is None:
            raise
        raise cause from None
