"""Everything tests share that is not a fixture (the fixtures and the two tiers are in conftest.py):

- paths and the CLI: ``REPO``, ``TINY_RUN``, ``run_cli`` (a real process), ``cli_here`` (this process, for
  error paths), ``assert_one_line_error``;
- data: a writable copy of the bundled MNIST, tiny CelebA and anime sets in their real on-disk layouts;
- models: ``build_model`` and ``tiny_cli_args``, the one way tests build a small version of any model, and
  ``train_tiny``, tiny trained run folders of every model;
- processes: a clean environment, free ports and a pool for the multi-process tests.

The probes that subprocesses load as callbacks (``ddp_probe``, ``signal_probe``) are modules of their own.
"""

from __future__ import annotations

import inspect
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from genzoo.datamodules.celeba import CELEBA_ATTRIBUTES
from genzoo.registry import MODELS

REPO = Path(__file__).resolve().parents[1]
BUNDLED_MNIST = REPO / "data" / "mnist"
SHARED_DATA = REPO.parent / "shared" / "data"


# ----- the CLI ----------------------------------------------------------------------------------------
# Flags that make a CLI run take seconds: a handful of batches everywhere.
TINY_RUN = [
    "--trainer.max_epochs", "1",
    "--trainer.limit_train_batches", "5",
    "--trainer.limit_val_batches", "2",
    "--trainer.limit_test_batches", "2",
    "--trainer.enable_progress_bar", "false",
    "--trainer.enable_model_summary", "false",
]  # fmt: skip


def run_cli(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 600):
    """Run `genzoo ARGS` the way a user would, in a fresh Python process."""
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "genzoo.cli", *args],
        cwd=cwd or REPO,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def assert_one_line_error(result: subprocess.CompletedProcess, *fragments: str) -> str:
    """Exit code 2, a single `genzoo: error:` line holding every fragment, and no traceback; returns the line."""
    assert result.returncode == 2, (result.returncode, result.stdout[-2000:], result.stderr[-3000:])
    assert "Traceback" not in result.stderr
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("genzoo: error:")]
    assert len(error_lines) == 1, result.stderr[-3000:]
    for fragment in fragments:
        assert fragment in error_lines[0], error_lines[0]
    return error_lines[0]


def cli_here(capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch, *args: str) -> subprocess.CompletedProcess:
    """`genzoo ARGS` through the same entry point, in this process: for error paths, where a process start
    would cost more than the check (the success paths run as real subprocesses)."""
    from genzoo.cli import main

    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return subprocess.CompletedProcess(list(args), code, out, err)


# ----- data -------------------------------------------------------------------------------------------
def copy_bundled_mnist(root: Path) -> Path:
    """Copy the bundled MNIST files into ``root/mnist`` (writable copies); returns ``root``."""
    target = root / "mnist"
    target.mkdir(parents=True)
    for f in BUNDLED_MNIST.glob("*.gz"):
        shutil.copy(f, target / f.name)
        (target / f.name).chmod(0o644)
    return root


# Tiny datasets in the real on-disk layouts (CelebA, the Kaggle anime sets, a folder). Image i is a flat colour
# whose red channel is ``code(i)``, so a test can tell which file a cached row came from and check that labels
# stayed with their images.
SMILING = CELEBA_ATTRIBUTES.index("Smiling")


def code(i: int) -> int:
    return 20 + 7 * (i % 33)  # distinct for up to 33 images, 7 levels apart (JPEG moves them by 1 or 2)


def write_image(path: Path, i: int, size: tuple[int, int] = (178, 218)) -> None:
    """A flat image whose red value is code(i), with a darker square in the middle (a 'face')."""
    w, h = size
    arr = np.empty((h, w, 3), dtype=np.uint8)
    arr[..., 0], arr[..., 1], arr[..., 2] = code(i), 100, (i * 11) % 256
    arr[h // 3 : 2 * h // 3, w // 3 : 2 * w // 3, 1] = 30
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path, quality=95)


def celeba_split(i: int) -> int:
    """0 train, 1 val, 2 test: 8 of every 10 images train."""
    return {8: 1, 9: 2}.get(i % 10, 0)


def make_celeba(root: Path, n: int = 30, labelled: int | None = 12, nested: bool = True, extra_rows: int = 3) -> Path:
    """CelebA in torchvision's layout under ``root/celeba`` (or directly in root when not ``nested``).

    The partition file covers the n images and ``extra_rows`` images that are not there (a partial copy);
    the attribute file covers the first ``labelled`` training images (None: no attribute file), Smiling
    on odd ones, written like the original: row count, names, CRLF, space-padded values.
    """
    base = root / "celeba" if nested else root
    names = [f"{i:06d}.jpg" for i in range(1, n + 1)]
    for i, name in enumerate(names, 1):
        write_image(base / "img_align_celeba" / name, i)
    total = n + extra_rows
    (base / "list_eval_partition.txt").write_text(
        "".join(f"{i:06d}.jpg {celeba_split(i)}\n" for i in range(1, total + 1))
    )
    (base / "identity_CelebA.txt").write_text("".join(f"{i:06d}.jpg {i % 7}\n" for i in range(1, total + 1)))
    if labelled is not None:
        rows = [i for i in range(1, n + 1) if celeba_split(i) == 0][:labelled]
        lines = [str(len(rows)), " ".join(CELEBA_ATTRIBUTES)]
        for i in rows:
            values = [-1] * len(CELEBA_ATTRIBUTES)
            values[SMILING] = 1 if i % 2 else -1
            lines.append(f"{i:06d}.jpg " + " ".join(f"{v:2d}" for v in values))
        (base / "list_attr_celeba.txt").write_bytes(("\r\n".join(lines) + "\r\n").encode())
    return base


def make_anime_png(root: Path, n: int = 20) -> Path:
    """Kaggle 'anime-faces': data/<i>.png, 64x64."""
    for i in range(n):
        write_image(root / "data" / f"{i}.png", i, (64, 64))
    return root


def make_anime_jpg(root: Path, n: int = 20) -> Path:
    """Kaggle 'Anime Face Dataset': images/<i>_<year>.jpg of mixed sizes."""
    for i in range(n):
        write_image(root / "images" / f"{i}_2005.jpg", i, (80 + 7 * i, 90 + 5 * i))
    return root


# ----- models -----------------------------------------------------------------------------------------
# The one way tests build a model: ``build_model(name)`` makes any registered model, small by default. Models not
# listed in ``OVERRIDES`` get ``hidden_dims=[width]`` (and a ``width``-wide latent discriminator where they have
# one); a model whose ``hidden_dims`` mean something else (StyleALAE: channels per resolution level) is listed.
# A new model needs no entry unless its arguments are of another kind.
OVERRIDES: dict[str, dict[str, Any]] = {
    # The AAE's default rates are tuned for stable full-length runs; faster rates show within
    # test_adversarial's STEPS what a full run shows over many more (D learns, codes move, the decoder uses
    # its label).
    "aae": {"lr": 1e-3, "lr_disc": 5e-4, "lr_gen": 5e-4},
    "alae": {"latent_dim": 8, "w_dim": 8, "mapping_layers": 2},
    "style_alae": {"latent_dim": 8, "w_dim": 8, "hidden_dims": [4, 8], "mapping_layers": 2},
}


def tiny_kwargs(name: str, width: int = 64) -> dict[str, Any]:
    """Constructor arguments of a small version of model ``name`` (only those its __init__ accepts)."""
    params = inspect.signature(MODELS.get(name).__init__).parameters
    kwargs: dict[str, Any] = {"hidden_dims": [width], "latent_disc_dims": [width], **OVERRIDES.get(name, {})}
    return {k: v for k, v in kwargs.items() if k in params}


def build_model(
    name: str,
    width: int | None = 64,
    image_shape: tuple[int, int, int] = (1, 28, 28),
    num_classes: int = 10,
    fast: bool = True,
    **overrides: Any,
) -> Any:
    """Registered model ``name`` for images of ``image_shape``, ``width`` wide (None: its default size).

    ``fast`` adds the narrow settings of ``tiny_kwargs`` (latent discriminators, the OVERRIDES), for tests
    of every phase on a few batches; without it only the backbone's widths change, so the model trains as
    its defaults do. ``overrides`` win over everything; arguments the model does not accept
    (``num_classes`` for the unconditional ones, ``backbone`` for StyleALAE) are dropped.
    """
    cls = MODELS.get(name)
    params = inspect.signature(cls.__init__).parameters
    sized: dict[str, Any] = {}
    if width is not None and fast:
        sized = tiny_kwargs(name, width)
    elif width is not None and "backbone" in params:  # StyleALAE's hidden_dims are its levels' channels
        sized = {"hidden_dims": [width]}
    kwargs = {"image_shape": image_shape, "num_classes": num_classes, **sized, **overrides}
    return cls(**{k: v for k, v in kwargs.items() if k in params})


def tiny_cli_args(name: str, width: int = 32) -> list[str]:
    """The same as ``--model.KEY VALUE`` command-line flags."""
    args = []
    for key, value in tiny_kwargs(name, width).items():
        args += [f"--model.{key}", str(value).replace(" ", "")]
    return args


def tiny_runs() -> dict[str, list[str]]:
    """Run key -> the flags of a tiny run folder of every registered model (and a 2-D AAE, an AEGAN around the
    style generator)."""
    runs = {name: ["--model", name, *tiny_cli_args(name)] for name in MODELS.names()}
    runs["aae_2d"] = ["--model", "aae", "--model.latent_dim", "2", *tiny_cli_args("aae")]
    runs["aegan_style"] = ["--model", "aegan", *tiny_cli_args("aegan"), "--model.backbone", "conv",
                           "--model.generator", "style"]  # fmt: skip
    return runs


def train_tiny(root: Path, key: str, batches: int = 20) -> Path:
    """Train tiny_runs()[key] for ``batches`` batches under ``root`` in this process (a real run folder, as
    ``genzoo fit`` writes it); the checkpoint's path."""
    import torch

    from genzoo.cli import configure

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        cli = configure([*tiny_runs()[key], *TINY_RUN, "--trainer.limit_train_batches", str(batches),
                         "--trainer.default_root_dir", str(root / key)])  # fmt: skip
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cli.trainer.fit(cli.model, datamodule=cli.datamodule)
    finally:
        torch.set_num_threads(threads)
    (ckpt,) = (root / key).glob("*/version_0/checkpoints/*.ckpt")
    return ckpt


def handmade_checkpoint(path: Path, name: str, **kwargs) -> Path:
    """A checkpoint of a small untrained model ``name``, as genzoo writes them (no training needed)."""
    import pytorch_lightning as pl
    import torch

    from genzoo.checkpoint_format import FORMAT_VERSION

    model = MODELS.get(name)(**{**tiny_kwargs(name), **kwargs})
    torch.save(
        {
            "state_dict": model.state_dict(),
            "hyper_parameters": dict(model.hparams),
            "genzoo_model": name,
            "format_version": FORMAT_VERSION,
            "pytorch-lightning_version": pl.__version__,
        },
        path,
    )
    return path


# ----- processes --------------------------------------------------------------------------------------
# Many CLI processes at once for the distributed tests: most of a short multi-process run is importing torch and
# Lightning, which overlaps well between runs; a pool keeps the number of live processes (and their memory) bounded.
#: variables a distributed launcher sets; a test's process must start without the test runner's own
LAUNCHER_VARIABLES = (
    "LOCAL_RANK", "GLOBAL_RANK", "RANK", "WORLD_SIZE", "NODE_RANK", "GROUP_RANK",
    "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT", "TORCHELASTIC_RUN_ID", "SLURM_JOB_ID", "SLURM_NTASKS",
    "SLURM_PROCID", "SLURM_LOCALID", "SLURM_NODEID", "SLURM_JOB_NAME",
)  # fmt: skip


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without any launcher's variables, tests/ on the path, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if k not in LAUNCHER_VARIABLES}
    env.update(PYTHONPATH=str(REPO / "tests"), PYTHONUNBUFFERED="1", **extra)
    return env


def start(command: Sequence[str], env: dict[str, str], cwd: Path = REPO) -> subprocess.Popen:
    """Start a command in its own session (so a timeout can kill it with every worker it started)."""
    return subprocess.Popen(
        list(command), cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip


def finish(proc: subprocess.Popen, timeout: float) -> subprocess.CompletedProcess:
    """Wait for a started command; past ``timeout`` kill its whole process group. Exit code 124 then."""
    try:
        out, err = proc.communicate(timeout=timeout)
        code = proc.returncode
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        code = 124
    return subprocess.CompletedProcess(proc.args, code, out, err)


def run_all(
    jobs: dict[object, tuple[Sequence[str], dict[str, str]]], parallel: int, timeout: float
) -> dict[object, subprocess.CompletedProcess]:
    """Run every job (key -> (command, env)) with at most ``parallel`` at a time; key -> result."""
    pending, running, done = list(jobs.items()), {}, {}
    deadline: dict[object, float] = {}
    while pending or running:
        while pending and len(running) < parallel:
            key, (command, env) = pending.pop(0)
            running[key] = start(command, env)
            deadline[key] = time.monotonic() + timeout
        for key, proc in list(running.items()):
            if proc.poll() is not None or time.monotonic() > deadline[key]:
                done[key] = finish(running.pop(key), max(0.0, deadline[key] - time.monotonic()))
        time.sleep(0.2)
    return done
