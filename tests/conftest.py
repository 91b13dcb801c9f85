"""Shared fixtures (tiny trained checkpoints, a private copy of MNIST, one thread) and the two tiers of the
suite. Everything else tests share is in ``helpers.py``.

The ``slow`` tier is every test that starts a ``genzoo`` process that loads torch (a training run or a
refusal: each process imports torch and Lightning anew; the front door's answers, which never load torch,
stay fast), runs DDP, or trains for more than a few seconds; ``make test-fast`` runs the rest
(``pytest -m "not slow"``, under a minute on two cores). A test is slow when its module is in
``SLOW_MODULES``, when it uses a fixture in ``SLOW_FIXTURES``, or when it carries ``@pytest.mark.slow``
itself (the tests of the other modules).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import TINY_RUN, copy_bundled_mnist, run_cli, tiny_runs, train_tiny

#: modules all of whose tests are slow, with the reason
SLOW_MODULES = (
    "test_ddp",  # two-process DDP runs of every model
    "test_multinode",  # torchrun, Slurm's environment and signals under DDP
    "test_preemption",  # signals sent to training processes, then resumed runs
    "test_run_folders",  # every test runs genzoo fit, validate or test as a process
    "test_export",  # every test reads the folder that a genzoo export process writes
    "test_training",  # every model trains three epochs on 1,024 digits
)
#: fixtures that train models: every test that uses one is slow
SLOW_FIXTURES = (
    "trained_vae",  # genzoo fit as a process
    "tiny_checkpoints",  # every model it is asked for trains 20 batches
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.stem in SLOW_MODULES or set(SLOW_FIXTURES) & set(item.fixturenames):
            item.add_marker(pytest.mark.slow)


@pytest.fixture
def one_thread():
    """Two threads on a CPU shared with other jobs spin-wait on each other: one is several times faster."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def mnist_copy(tmp_path: Path) -> Path:
    """A data root whose mnist/ holds a private copy of the bundled files (safe to corrupt)."""
    return copy_bundled_mnist(tmp_path / "data")


@pytest.fixture(scope="session")
def trained_vae(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The checkpoint of a VAE trained for a few batches through the CLI."""
    root = tmp_path_factory.mktemp("vae_run")
    result = run_cli("fit", "--model", "vae", *TINY_RUN, "--trainer.default_root_dir", str(root))
    assert result.returncode == 0, result.stderr[-3000:]
    (ckpt,) = root.glob("vae-mnist/version_0/checkpoints/*.ckpt")
    return ckpt


@pytest.fixture(scope="session")
def tiny_checkpoints(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Registry name (and the variants ``aae_2d``, ``aegan_style``) -> checkpoint of that model trained for a
    few batches, made on first use."""
    root = tmp_path_factory.mktemp("tiny_runs")
    made: dict[str, Path] = {}

    class Lazy(dict):
        def __missing__(self, key: str) -> Path:
            if key not in tiny_runs():
                raise KeyError(key)
            made[key] = train_tiny(root, key)
            return made[key]

    return Lazy()
