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

from genzoo.errors import GenzooError
from genzoo.registry import BACKBONES, DATAMODULES, MODELS, Registry

LIGHTNING_SUBCOMMANDS = ("fit", "validate", "test")
LOGGER_ALIASES = {
    "csv": "csv", "csvlogger": "csv",
    "tensorboard": "tensorboard", "tensorboardlogger": "tensorboard", "tb": "tensorboard",
    "wandb": "wandb", "wandblogger": "wandb",
}  # fmt: skip
DEFAULT_ROOT_DIR = "runs"
DEFAULT_SEED = 0
PROGRESS_BAR_REFRESH = 10  # batches between progress-bar redraws
RUN_VERSION_ENV = "GENZOO_RUN_VERSION"  # lets DDP worker processes join the run folder of rank 0


def _resolve_alias(value: str, registry: Registry, flag: str) -> str:
    """A registry short name -> the class path LightningCLI wants; dotted paths pass through."""
    if value in registry:
        return registry.class_path(value)
    if "." in value or value.startswith(("{", "[")):
        return value  # a full class path or inline config: LightningCLI's business
    for name in registry.names():  # also accept the class name itself (VAE, MNISTDataModule)
        if registry.class_path(name).rpartition(".")[2] == value:
            return registry.class_path(name)
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
        out[1:1] = ["--data", DATAMODULES.class_path("mnist")]
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
        _configure_wandb_offline()
        run_dir = root / name / f"version_{version}"
        return WandbLogger(save_dir=str(run_dir), project="genzoo", name=f"{name}-v{version}")
    return CSVLogger(save_dir=root, name=name, version=version)


def _lightning_cli_class():
    from pytorch_lightning.cli import LightningCLI

    from genzoo.datamodules.base import InMemoryImageDataModule
    from genzoo.models.base import GenerativeModule

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
            if self.subcommand in LIGHTNING_SUBCOMMANDS and os.environ.get("LOCAL_RANK", "0") == "0":
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
            from pytorch_lightning.callbacks import ProgressBar, TQDMProgressBar

            from genzoo.callbacks import ThroughputMonitor

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

    return GenzooCLI


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
    args, logger_choice = rewrite_arguments(["fit", *argv])
    return _lightning_cli_class()(logger_choice, args[1:], run=False)


def run_lightning(argv: list[str]) -> None:
    import argparse
    import warnings

    args, logger_choice = rewrite_arguments(argv)
    _configure_wandb_offline()
    # We hand LightningCLI the rewritten arguments on purpose; sys.argv stays intact for DDP workers.
    warnings.filterwarnings("ignore", message="LightningCLI's args parameter is intended")
    try:
        _lightning_cli_class()(logger_choice, args)
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
    from genzoo.commands import COMMANDS, LIGHTNING_COMMANDS

    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if not argv or argv[0] in ("-h", "--help"):
            print(usage())
            return 0
        if argv[0] not in COMMANDS:
            raise GenzooError(f"unknown command {argv[0]!r}; use one of: {', '.join(COMMANDS.names())}")
        command = COMMANDS.get(argv[0])
        if argv[0] in LIGHTNING_COMMANDS:
            command(argv)  # LightningCLI parses the subcommand itself
            return 0
        return command(argv[1:]) or 0
    except GenzooError as err:
        print(f"genzoo: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("genzoo: interrupted", file=sys.stderr)
        return 130


def usage() -> str:
    """The top-level help, generated from the command table."""
    from genzoo.commands import COMMANDS, LIGHTNING_COMMANDS

    order = [*LIGHTNING_COMMANDS, *(name for name in COMMANDS.names() if name not in LIGHTNING_COMMANDS)]
    lines = [f"  {name:<10} {COMMANDS.summary(name)}" for name in order]
    return "\n".join(
        ["usage: genzoo COMMAND [options]", "", "commands:", *lines, "", "Run 'genzoo COMMAND --help' for its options."]
    )


if __name__ == "__main__":
    sys.exit(main())
