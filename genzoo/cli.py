"""The ``genzoo`` command line.

``genzoo fit|validate|test`` are LightningCLI subcommands: every Trainer flag, ``--config``
recipes, ``--print_config``, a saved config per run. Before LightningCLI sees the arguments, short names
are resolved through the registries (``--model vae`` -> ``genzoo.models.vae.VAE``, ``--data mnist``), the
data defaults to the bundled MNIST, and the datamodule's ``image_shape`` / ``num_classes`` are passed to
the model. Each run gets its own folder ``<default_root_dir>/<model>-<data>/version_N/`` holding the
config, checkpoints, metrics and PNGs.

Other subcommands (``list``, ``sample``, ...) live in ``genzoo.commands``. Every problem with the
user's input is reported as one line on stderr with exit code 2.
"""

from __future__ import annotations

import inspect
import json
import netrc
import os
import sys
from pathlib import Path
from typing import Any

from genzoo import runs
from genzoo.checks import (
    DATA_RANGES,
    MODEL_RANGES,
    check_checkpoint_file,
    check_checkpoint_fits,
    check_checkpoint_model,
    check_trainer,
    check_values,
)
from genzoo.errors import GenzooError
from genzoo.registry import BACKBONES, DATAMODULES, MODELS, Registry, load_all
from genzoo.runs import RUN_VERSION_ENV, class_path, next_run_version

# No ``predict``: a generative model has nothing to predict from a data set; sample, eval and edit
# are the commands that produce its outputs.
LIGHTNING_SUBCOMMANDS = ("fit", "validate", "test")
LOGGER_ALIASES = {
    "csv": "csv", "csvlogger": "csv",
    "tensorboard": "tensorboard", "tensorboardlogger": "tensorboard", "tb": "tensorboard",
    "wandb": "wandb", "wandblogger": "wandb",
}  # fmt: skip
DEFAULT_ROOT_DIR = "runs"
DEFAULT_SEED = 0
PROGRESS_BAR_REFRESH = 10  # batches between progress-bar redraws
__all__ = ["RUN_VERSION_ENV", "class_path", "main", "next_run_version"]


def _resolve_alias(value: str, registry: Registry, flag: str) -> str:
    """A registry short name -> the class path LightningCLI wants; dotted paths pass through."""
    if value in registry:
        return class_path(registry.get(value))
    if "." in value or value.startswith(("{", "[")):
        return value  # a full class path or inline config: LightningCLI's business
    for name in registry.names():  # also accept the class name itself (VAE, MNISTDataModule)
        if registry.get(name).__name__ == value:
            return class_path(registry.get(name))
    raise GenzooError(f"unknown {registry.kind} {value!r} for {flag}; known: {', '.join(registry.names())}")


def rewrite_arguments(argv: list[str]) -> tuple[list[str], str | None]:
    """Resolve short names in a LightningCLI argument list; returns (new argv, logger alias or None)."""
    out: list[str] = []
    logger_choice = None
    has_data = False
    i = 0
    while i < len(argv):
        arg = argv[i]
        flag, eq, value = arg.partition("=")
        if flag in ("--model", "--data", "--trainer.logger") and not eq and i + 1 < len(argv):
            value, i = argv[i + 1], i + 1
        elif flag not in ("--model", "--data", "--trainer.logger") or not eq:
            out.append(arg)
            i += 1
            continue
        if flag == "--model":
            out += [flag, _resolve_alias(value, MODELS, flag)]
        elif flag == "--data":
            has_data = True
            out += [flag, _resolve_alias(value, DATAMODULES, flag)]
        elif value.lower() in LOGGER_ALIASES:
            logger_choice = LOGGER_ALIASES[value.lower()]
        else:
            out += [flag, value]
        i += 1
    if out and out[0] in LIGHTNING_SUBCOMMANDS and not has_data and "--help" not in out and "-h" not in out:
        # Default data: the bundled MNIST. Placed first so a --config recipe can still override it.
        out[1:1] = ["--data", class_path(DATAMODULES.get("mnist"))]
    return out, logger_choice


def _configure_wandb_offline() -> None:
    """wandb must work without an account: offline unless the user configured it."""
    if "WANDB_MODE" in os.environ or "WANDB_API_KEY" in os.environ:
        return
    try:
        if netrc.netrc().authenticators("api.wandb.ai"):
            return
    except (OSError, netrc.NetrcParseError):
        pass
    os.environ["WANDB_MODE"] = "offline"


LOGGER_CLASSES = {
    "csv": "pytorch_lightning.loggers.CSVLogger",
    "tensorboard": "pytorch_lightning.loggers.TensorBoardLogger",
    "wandb": "pytorch_lightning.loggers.WandbLogger",
}


def build_logger(choice: str, root: Path, name: str) -> list[Any]:
    """Loggers writing into root/name/version_N, the run folder: CSV always (metrics.csv, which bench and
    the docs rely on), first, so that the trainer's log_dir (config.yaml, checkpoints) is the run folder;
    then TensorBoard or wandb if chosen."""
    from pytorch_lightning.loggers import TensorBoardLogger, WandbLogger

    version = next_run_version(root, name)
    loggers: list[Any] = [runs.RunCSVLogger(save_dir=root, name=name, version=version)]
    if choice == "tensorboard":
        loggers.append(TensorBoardLogger(save_dir=root, name=name, version=version, default_hp_metric=False))
    if choice == "wandb":
        _configure_wandb_offline()
        folder = runs.run_dir(root, name, version)
        loggers.append(WandbLogger(save_dir=str(folder), project="genzoo", name=f"{name}-v{version}"))
    return loggers


def _lightning_cli_class():
    from pytorch_lightning.cli import LightningCLI, SaveConfigCallback

    from genzoo.datamodules.base import InMemoryImageDataModule
    from genzoo.models.base import GenerativeModule

    class GenzooSaveConfig(SaveConfigCallback):
        """Saves config.yaml with the logger the run really used (LightningCLI would record ``logger: null``,
        since genzoo builds the logger itself), so ``--config config.yaml`` reruns it with the same one."""

        logger_choice = "csv"

        def setup(self, trainer: Any, pl_module: Any, stage: str) -> None:
            from jsonargparse import Namespace

            self.config["trainer"]["logger"] = Namespace(
                class_path=LOGGER_CLASSES[self.logger_choice], init_args=Namespace(save_dir=trainer.default_root_dir)
            )
            super().setup(trainer, pl_module, stage)

    class GenzooCLI(LightningCLI):
        """LightningCLI with genzoo's run folders, value checks, resume, data->model links and a test after fit."""

        def __init__(self, logger_choice: str | None, args: list[str], run: bool = True) -> None:
            self.logger_choice = logger_choice
            self.checkpoint: dict[str, Any] | None = None  # the --ckpt_path checkpoint, read once and checked
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
            return {k: v for k, v in LightningCLI.subcommands().items() if k in LIGHTNING_SUBCOMMANDS}

        def add_arguments_to_parser(self, parser: Any) -> None:
            parser.add_argument(
                "--test_after_fit", type=bool, default=True,
                help="after fit, evaluate the trained model on the test split and print the results",
            )  # fmt: skip

        def _section(self) -> Any:
            return self.config[self.subcommand] if self.subcommand else self.config

        def before_instantiate_classes(self) -> None:
            cfg = self._section()
            data_cls = runs.import_class(cfg["data"]["class_path"])
            model_cls = runs.import_class(cfg["model"]["class_path"])
            self.run_name = run_name_of(cfg)
            apply_training_length_default(cfg["trainer"], model_cls)
            self._take_recorded_logger(cfg["trainer"])
            check_values("model", cfg["model"].get("init_args"), MODEL_RANGES)
            check_values("data", cfg["data"].get("init_args"), DATA_RANGES)
            check_trainer(cfg["trainer"])
            # Data -> model links: the model is told the image shape and label count of its data.
            data_args = cfg["data"].get("init_args")
            needs_labels = getattr(model_cls, "needs_labels", False)
            if needs_labels and data_args and data_args.get("labelled_only", False) is None:
                data_args["labelled_only"] = True  # a model that needs labels (CVAE) gets the labelled images only
            datamodule = data_cls(**dict(cfg["data"].get("init_args") or {}))
            accepted = inspect.signature(model_cls.__init__).parameters
            init_args = cfg["model"]["init_args"]
            if "backbone" in init_args:
                BACKBONES.get(init_args["backbone"])  # an unknown name fails here, listing the known ones
            for key in ("image_shape", "num_classes", "class_names", "multi_label"):
                if key in accepted and hasattr(datamodule, key):
                    init_args[key] = getattr(datamodule, key)
            if self.subcommand in LIGHTNING_SUBCOMMANDS and os.environ.get("LOCAL_RANK", "0") == "0":
                # Check (or fetch) the data before any run folder, logger or checkpoint is created, so
                # a missing or corrupt file stops the run with nothing written. DDP workers skip this.
                datamodule.prepare_data()

        def _take_recorded_logger(self, trainer_cfg: Any) -> None:
            """A config.yaml saved by genzoo names its logger by class (see GenzooSaveConfig): use that choice."""
            logger = trainer_cfg.get("logger")
            recorded = getattr(logger, "class_path", None) if logger is not None else None
            choice = {v: k for k, v in LOGGER_CLASSES.items()}.get(recorded)
            if choice is not None and getattr(logger.init_args, "version", None) is None:
                self.logger_choice = self.logger_choice or choice
                trainer_cfg["logger"] = None

        def _parse_ckpt_path(self) -> None:
            # LightningCLI reads the checkpoint's hyper-parameters here, its model class included (so
            # `fit --model aae --ckpt_path vae.ckpt` would train the VAE): resolve and check it first.
            subcommand = self.config.get("subcommand")
            if subcommand in LIGHTNING_SUBCOMMANDS:
                cfg = self.config[subcommand]
                self.run_name = run_name_of(cfg)
                self._resolve_checkpoint(cfg, subcommand)
                if self.checkpoint is not None:
                    model_cls = runs.import_class(cfg["model"]["class_path"])
                    check_checkpoint_model(self.checkpoint, self.checkpoint_path, MODELS.name_of(model_cls))
            super()._parse_ckpt_path()

        def _resolve_checkpoint(self, cfg: Any, subcommand: str) -> None:
            """--ckpt_path last: the newest run's last.ckpt (and, for fit, that run's folder); any path: read it."""
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
                    runs.join_run(version)  # the resumed run continues in its own folder
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
            trainer_cfg = self._get(self.config_init, "trainer", default={})
            root = Path(trainer_cfg.get("default_root_dir") or DEFAULT_ROOT_DIR)
            custom_logger = not (self.logger_choice or trainer_cfg.get("logger") in (None, True))
            if not custom_logger:
                kwargs["logger"] = build_logger(self.logger_choice or "csv", root, self.run_name)
            GenzooSaveConfig.logger_choice = self.logger_choice or "csv"
            if custom_logger:  # the user's own logger object: record what they gave (LightningCLI's default)
                self.save_config_callback = SaveConfigCallback
            if trainer_cfg.get("strategy") == "ddp" and getattr(self.model, "multi_phase", False):
                # Multi-optimizer models leave some parameters without gradient in some phases;
                # plain DDP stops on that, so give the user the variant that works.
                kwargs["strategy"] = "ddp_find_unused_parameters_true"
            from pytorch_lightning.callbacks import ModelCheckpoint, ProgressBar, TQDMProgressBar

            from genzoo.callbacks import ThroughputMonitor

            callbacks = list(trainer_cfg.get("callbacks") or [])
            if trainer_cfg.get("enable_progress_bar") is not False and not any(
                isinstance(c, ProgressBar) for c in callbacks
            ):
                # Redrawing the bar after every batch costs small models measurable speed.
                callbacks.append(TQDMProgressBar(refresh_rate=PROGRESS_BAR_REFRESH))
            if not any(isinstance(c, ThroughputMonitor) for c in callbacks):
                callbacks.append(ThroughputMonitor())
            has_last = any(isinstance(c, ModelCheckpoint) and c.filename == "last" for c in callbacks)
            if trainer_cfg.get("enable_checkpointing") is not False and not has_last:
                # In the run folder whatever the logger (wandb would put them under its own run id);
                # a logger object of the user's own decides the folder itself.
                folder = None if custom_logger else runs.run_dir(root, self.run_name, int(os.environ[RUN_VERSION_ENV]))
                callbacks.append(runs.last_checkpoint_callback(folder and folder / "checkpoints"))
            callbacks.append(runs.RunGuard())
            kwargs["callbacks"] = callbacks
            plugins = list(trainer_cfg.get("plugins") or [])
            kwargs["plugins"] = [*plugins, runs.AtomicCheckpointIO()]
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

    return GenzooCLI


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


NOISE_PREFIXES = ("Does not validate", "Subtypes:", "Errors:", "Given value", "Expected a <class 'NoneType'>")


def condense_argument_error(message: str) -> str:
    """jsonargparse explains a bad value over a dozen nested lines; keep the informative ones, on one line."""
    lines = (line.strip().lstrip("- ").strip() for line in message.splitlines())
    kept = [line for line in lines if line and not line.startswith(NOISE_PREFIXES)]
    return " ".join(kept) + " (see 'genzoo fit --help')"


def configure(argv: list[str]) -> Any:
    """Parse ``genzoo fit ARGV`` and build its model, data and trainer without training (tools, tests).

    The objects are exactly those ``genzoo fit ARGV`` would train; the run folder is created.
    """
    load_all()
    args, logger_choice = rewrite_arguments(["fit", *argv])
    return _lightning_cli_class()(logger_choice, args[1:], run=False)


def show_help(logger_choice: str | None, args: list[str]) -> None:
    """LightningCLI's help, then the own arguments of the --model (and --data) named, which it only lists
    as ``--model.help CLASS``: ``genzoo fit --model vae --help`` shows --model.beta and the rest."""
    requests = [args]
    for flag in ("--model", "--data"):
        if flag in args[:-1]:
            requests.append([args[0], f"{flag}.help", args[args.index(flag) + 1]])
    for request in requests:
        try:
            _lightning_cli_class()(logger_choice, request)
        except SystemExit as done:
            if done.code not in (0, None):
                raise
        print()


def run_lightning(argv: list[str]) -> None:
    import argparse
    import warnings

    args, logger_choice = rewrite_arguments(argv)
    _configure_wandb_offline()
    # We hand LightningCLI the rewritten arguments on purpose; sys.argv stays intact for DDP workers.
    warnings.filterwarnings("ignore", message="LightningCLI's args parameter is intended")
    if "--help" in args or "-h" in args:
        show_help(logger_choice, args)
        return
    try:
        try:
            _lightning_cli_class()(logger_choice, args)
        except BaseException:
            runs.discard_failed_run()
            raise
    except SystemExit:
        if runs.RunGuard.interrupted:
            raise KeyboardInterrupt from None  # Lightning's sys.exit(1) after Ctrl-C: say so, exit 130
        raise
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


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``genzoo`` console script."""
    from genzoo.commands import COMMANDS

    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        load_all()
        if argv and argv[0] in COMMANDS:
            return COMMANDS[argv[0]](argv[1:]) or 0
        if not argv or argv[0] in ("-h", "--help"):
            print(usage())
            return 0
        if argv[0] not in LIGHTNING_SUBCOMMANDS:
            raise GenzooError(f"unknown command {argv[0]!r}; use one of: {', '.join(all_commands())}")
        run_lightning(argv)
        return 0
    except GenzooError as err:
        print(f"genzoo: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("genzoo: interrupted", file=sys.stderr)
        return 130


def all_commands() -> list[str]:
    from genzoo.commands import COMMANDS

    return [*LIGHTNING_SUBCOMMANDS, *COMMANDS]


def usage() -> str:
    return (
        "usage: genzoo {" + ",".join(all_commands()) + "} ...\n\n"
        "  genzoo fit --model vae --data mnist      train a model (every Trainer flag works; --help lists them)\n"
        "  genzoo list                              models, backbones and datasets\n"
        "  genzoo sample --ckpt C --num N --out F   write samples from a checkpoint (.png grid or .npz)\n"
        "  genzoo sample ... --cond Smiling=1       conditional samples (cvae): digit=7, Smiling=1,Eyeglasses=1\n"
        "  genzoo edit --ckpt C --attr A --out F    attribute-editing strip: A is Smiling, Male=0 or 3:8\n"
        "\nRun 'genzoo COMMAND --help' for the options of a command."
    )


if __name__ == "__main__":
    sys.exit(main())
