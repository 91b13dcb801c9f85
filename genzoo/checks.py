"""Checks before any work, each with one error naming the flag, the value and what is allowed: the Trainer
flags Lightning would report with a traceback (or not at all), the accelerator, every output path and every
checkpoint file.

The ranges of the ``--model.*`` and ``--data.*`` arguments are not here: each is declared once, in the type of
its ``__init__`` argument (``genzoo.ranges``), and LightningCLI's parser checks it.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from genzoo.errors import GenzooError


def check_trainer(trainer: Mapping[str, Any]) -> None:
    """The Trainer flags Lightning itself only reports with a traceback, or not at all.

    Lightning's signature is not genzoo's to type, so the ranges of its flags are named here, in the types
    that genzoo's own arguments use (max_epochs and devices have rules of their own, below).
    """
    from genzoo.ranges import NonNegativeInteger, PositiveInteger, SanityValSteps, refusal

    ranges = {
        "min_epochs": NonNegativeInteger,
        "accumulate_grad_batches": PositiveInteger,
        "check_val_every_n_epoch": PositiveInteger,
        "log_every_n_steps": PositiveInteger,
        "num_nodes": PositiveInteger,
        "num_sanity_val_steps": SanityValSteps,
    }
    for name, kind in ranges.items():
        why = refusal(trainer.get(name), kind)
        if why is not None:
            raise GenzooError(f"--trainer.{name} {trainer.get(name)}: {why}")
    bounded = trainer.get("max_steps", -1) not in (-1, None) or trainer.get("max_time") is not None
    max_epochs = trainer.get("max_epochs")
    if max_epochs is not None and not (max_epochs == -1 or refusal(max_epochs, PositiveInteger) is None):
        raise GenzooError(f"--trainer.max_epochs {max_epochs}: out of range; allowed: a whole number >= 1 (or -1)")
    if max_epochs == -1 and not bounded:
        raise GenzooError(
            "--trainer.max_epochs -1 trains forever; give a number of epochs >= 1, "
            "or bound the run with --trainer.max_time DD:HH:MM:SS or --trainer.max_steps N"
        )
    devices = trainer.get("devices")
    if isinstance(devices, int) and not isinstance(devices, bool) and (devices == 0 or devices < -1):
        raise GenzooError(f"--trainer.devices {devices}: out of range; allowed: a number >= 1, -1 (all) or auto")
    if isinstance(devices, str) and devices.strip() in ("0", ""):
        raise GenzooError(f"--trainer.devices {devices}: no device selected; allowed: a number >= 1, -1 or auto")
    accelerator = trainer.get("accelerator")
    if isinstance(accelerator, str):  # not an Accelerator object given in a recipe
        check_accelerator(accelerator)


def check_accelerator(accelerator: str) -> None:
    """``--trainer.accelerator NAME``: a name Lightning knows, of an accelerator this machine has.

    Lightning's own registry decides (its names, and each accelerator's ``is_available``), so an accelerator
    Lightning adds is checked too. Lightning would stop with a traceback at the Trainer, after the data work.
    """
    from pytorch_lightning.accelerators import AcceleratorRegistry

    name = accelerator.lower()
    # "gpu" is Lightning's word for whichever GPU the machine has: CUDA, or Apple's MPS
    members = ("cuda", "mps") if name == "gpu" else (name,)
    available = [n for n in AcceleratorRegistry if AcceleratorRegistry[n]["accelerator"].is_available()]
    if name == "auto" or any(m in available for m in members):
        return
    if not any(m in AcceleratorRegistry for m in members):
        known = ", ".join([*AcceleratorRegistry, "gpu", "auto"])
        raise GenzooError(f"--trainer.accelerator {accelerator}: unknown accelerator; choose from {known}")
    what = "GPU" if name in ("gpu", "cuda") else name.upper()
    use = " or ".join([*available, "auto"])
    raise GenzooError(
        f"--trainer.accelerator {accelerator}: no {what} is available here; use --trainer.accelerator {use}"
    )


# ----- output files ----------------------------------------------------------------------------------
def check_output_file(path: Path, flag: str = "--out", suffixes: Iterable[str] | None = None) -> None:
    """Refuse, before any work, an output that could not be written.

    The suffix is compared case-insensitively. The file's folder must exist (one missing level, such as
    ``results/new.png`` or ``out/x.png`` beside existing folders, is created; a whole missing tree is
    refused, since it is most often a typo) and must accept a new file, which is tried for real: write
    permission bits say nothing about /proc or a read-only mount.
    """
    path = Path(path)
    if path.is_dir():
        raise GenzooError(f"{flag} {path} is a folder; give a file name inside it")
    if suffixes is not None:
        allowed = tuple(s.lower() for s in suffixes)
        if path.suffix.lower() not in allowed:
            raise GenzooError(
                f"{flag} {path}: unsupported suffix {path.suffix or '(none)'!r}; use {' or '.join(allowed)}"
            )
    folder = path.parent
    if not folder.exists():
        if not folder.parent.is_dir():
            raise GenzooError(f"{flag} {path}: folder {folder} does not exist; create it first")
        try:
            folder.mkdir()
        except OSError as err:
            raise GenzooError(f"{flag} {path}: cannot create folder {folder} ({err.strerror})") from None
    if not folder.is_dir():
        raise GenzooError(f"{flag} {path}: {folder} is not a folder")
    check_writable(folder, f"{flag} {path}")


def check_output_folder(path: Path, flag: str = "--out") -> None:
    """Refuse, before any work, a results folder that could not be made or written: an existing file, a path
    under a file, a folder that refuses new files (tried for real, as ``check_output_file`` does). Missing
    levels are fine (they are made when the first result is written); nothing is created here."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise GenzooError(f"{flag} {path} is a file; give a folder (a new one, or one this command wrote before)")
    existing = next(p for p in (path, *path.parents) if p.exists())
    if not existing.is_dir():
        raise GenzooError(f"{flag} {path}: {existing} is a file, so no folder can be made under it")
    check_writable(existing, f"{flag} {path}")


def check_writable(folder: Path, what: str) -> None:
    """Refuse a folder that does not take a new file, tried for real (a file made and removed at once):
    write permission bits say nothing about /proc or a read-only mount. ``what`` starts the message."""
    try:
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".tmp-probe-")
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        raise GenzooError(f"{what}: cannot write in {folder} ({err.strerror})") from None


#: what an ``--out`` of images may be: a .png grid or an .npz of uint8 arrays (sample and the latent commands)
IMAGE_OUTPUT_SUFFIXES = (".png", ".npz")


def check_image_output(path: Path) -> None:
    """``check_output_file`` for an ``--out`` of images (.png or .npz, in any case)."""
    check_output_file(path, "--out", IMAGE_OUTPUT_SUFFIXES)


#: a checkpoint is plain data: tensors, numbers, strings, lists and dicts. Anything else in its pickle (a
#: class, a function such as os.system) would be imported or called while loading, so it is refused unread.
NOT_PLAIN = (
    "{flag} {path} is not a plain genzoo checkpoint: it holds {what}, which loading would import or run, so it "
    "was not loaded; use a .ckpt written by genzoo fit, or a folder written by genzoo export"
)


def load_plain(path: Path, flag: str) -> Any:
    """``torch.load`` of tensors and plain values only (``weights_only=True``): a pickle that names any other
    Python object is refused in one line, before anything in it runs."""
    import pickle
    import re
    import warnings

    import torch

    try:
        with warnings.catch_warnings():  # torch warns about old pickle protocols on stderr; the error says it all
            warnings.simplefilter("ignore")
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        named = re.search(r"GLOBAL (\S+)", str(err))  # the object torch's safe unpickler refused to import
        if named is None:
            raise GenzooError(f"{flag} {path} cannot be read (UnpicklingError); is it a whole .ckpt file?") from None
        raise GenzooError(NOT_PLAIN.format(flag=flag, path=path, what=f"the Python object {named[1]}")) from None
    except Exception as err:  # zip, EOF and key errors come in many types; all mean the same to the user
        raise GenzooError(f"{flag} {path} cannot be read ({type(err).__name__}); is it a whole .ckpt file?") from None


def check_checkpoint_file(path: Path | str, flag: str = "--ckpt_path") -> dict[str, Any]:
    """The loaded checkpoint at ``path``, or a one-line error for a missing, truncated, foreign or unsafe file,
    or one in another format than this genzoo's."""
    from genzoo.checkpoint_format import check_format_version

    path = Path(path)
    if not path.is_file():
        raise GenzooError(f"{flag} {path} does not exist; give the path of a .ckpt file from a run folder")
    checkpoint = load_plain(path, flag)
    if not isinstance(checkpoint, dict) or "genzoo_model" not in checkpoint:
        raise GenzooError(f"{flag} {path} was not written by genzoo (no 'genzoo_model' entry)")
    check_format_version(checkpoint, f"{flag} {path}")
    check_recorded_classes(checkpoint, path, flag)
    return checkpoint


#: how LightningCLI records that it built the model (``_instantiator`` in the hyper-parameters)
LIGHTNING_INSTANTIATORS = ("pytorch_lightning.cli.instantiate_module", "lightning.pytorch.cli.instantiate_module")


def check_recorded_classes(checkpoint: dict[str, Any], path: Path, flag: str) -> None:
    """Refuse a checkpoint whose hyper-parameters name another class or instantiator than genzoo's: LightningCLI
    imports the ``_class_path`` it finds there (``fit --ckpt_path``), and importing a module runs its code."""
    from genzoo.registry import MODELS

    hparams = checkpoint.get("hyper_parameters")
    if not isinstance(hparams, dict):
        return
    class_path = hparams.get("_class_path", MODELS.class_path(str(checkpoint["genzoo_model"])))
    if class_path != MODELS.class_path(str(checkpoint["genzoo_model"])):
        raise GenzooError(NOT_PLAIN.format(flag=flag, path=path, what=f"the class path {class_path!r}"))
    instantiator = hparams.get("_instantiator", LIGHTNING_INSTANTIATORS[0])
    if instantiator not in LIGHTNING_INSTANTIATORS:
        raise GenzooError(NOT_PLAIN.format(flag=flag, path=path, what=f"the instantiator {instantiator!r}"))


def check_checkpoint_model(checkpoint: dict[str, Any], path: Path | str, model_name: str) -> None:
    """Refuse a checkpoint of another model (LightningCLI would quietly train the checkpoint's model)."""
    trained = checkpoint.get("genzoo_model")
    if trained != model_name:
        raise GenzooError(
            f"--ckpt_path {path} holds a {trained} model, not a {model_name}; "
            f"use --model {trained} or a {model_name} checkpoint"
        )


def state_mismatch(state: Mapping[str, Any], own: Mapping[str, Any]) -> str | None:
    """The first way saved weights ``state`` do not fit a model's ``own`` state dict (a shape, a missing or an
    extra tensor), or None when they fit."""
    for key, value in state.items():
        if key in own and tuple(getattr(value, "shape", ())) != tuple(own[key].shape):
            return f"{key} {tuple(value.shape)} (checkpoint) vs {tuple(own[key].shape)} (now)"
    missing = [key for key in own if key not in state]
    if missing:
        return f"it has no weights {missing[0]}"
    extra = [key for key in state if key not in own]
    return f"it has weights {extra[0]} that the model does not" if extra else None


def data_mismatch(trained: Sequence[int], data: Sequence[int]) -> str | None:
    """How data whose images are ``data`` (C, H, W) does not fit a model trained on ``trained`` ones, or None."""
    if tuple(trained) == tuple(data):
        return None
    return f"trained on {tuple(trained)} images but the data gives {tuple(data)}"


def check_data_fits(trained: Sequence[int], data: Sequence[int], what: str = "the model", fix: str = "") -> None:
    """Refuse data of another image shape than the model was trained on, before any image is loaded (a
    model cannot take images of another size; resizing them silently would show another model's work)."""
    why = data_mismatch(trained, data)
    if why is not None:
        raise GenzooError(f"{what} was {why}" + (f"; {fix}" if fix else ""))


def check_checkpoint_fits(checkpoint: dict[str, Any], path: Path | str, model: Any) -> None:
    """Refuse a checkpoint of the same model with other shapes (other data, other widths).

    The weights' shapes decide; the message names the image shape when that is what differs (a checkpoint
    of MNIST given with --data anime), else the first tensor that does not fit.
    """
    why = state_mismatch(checkpoint.get("state_dict") or {}, model.state_dict())
    if why is None:
        return
    saved_shape = (checkpoint.get("hyper_parameters") or {}).get("image_shape")
    if saved_shape is not None and data_mismatch(saved_shape, model.image_shape):
        why = f"it was {data_mismatch(saved_shape, model.image_shape)}"
    raise GenzooError(
        f"--ckpt_path {path} does not fit this model and data ({why}); "
        "use the data and --model.* settings it was trained with"
    )


def normalise(value: Any) -> Any:
    """Lists and tuples compare equal (a YAML round trip turns one into the other)."""
    return list(value) if isinstance(value, (list, tuple)) else value
