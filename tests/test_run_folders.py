"""Run folders: only training makes one, a refused run leaves none, and an unusable root is one line."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from helpers import TINY_RUN, assert_one_line_error, run_cli


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("runs")
    result = run_cli(
        "fit", "--model", "ae", *TINY_RUN, "--trainer.default_root_dir", str(root), "--test_after_fit", "false"
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"run folder: {root / 'ae-mnist' / 'version_0'}" in result.stdout  # printed without the test too
    return root


def tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


@pytest.mark.parametrize("command", ["validate", "test"])
def test_validate_and_test_write_nothing(trained: Path, command: str) -> None:
    before = tree(trained)
    result = run_cli(
        command, "--model", "ae", "--ckpt_path", "last", *TINY_RUN, "--trainer.default_root_dir", str(trained)
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "recon_mse" in result.stdout
    assert tree(trained) == before


def test_a_run_refused_before_training_leaves_no_folder(tmp_path: Path) -> None:
    root = tmp_path / "runs"
    result = run_cli(
        "fit", "--model", "ae", *TINY_RUN, "--data.batch_size", "1000000", "--trainer.default_root_dir", str(root)
    )
    assert_one_line_error(result, "--data.batch_size 1000000")
    assert not root.exists()


def test_an_unusable_root_is_one_line(tmp_path: Path) -> None:
    a_file = tmp_path / "a_file"
    a_file.write_text("")
    for root in (a_file / "sub", Path("/proc/genzoo-runs")):
        result = run_cli("fit", "--model", "ae", *TINY_RUN, "--trainer.default_root_dir", str(root))
        assert_one_line_error(result, f"--trainer.default_root_dir {root}", "cannot create the run folder")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_run_folder_is_one_line(trained: Path, tmp_path: Path) -> None:
    folder = trained / "ae-mnist" / "version_0"
    folder.chmod(0o555)
    try:
        result = run_cli(
            "fit", "--model", "ae", *TINY_RUN, "--ckpt_path", "last", "--trainer.default_root_dir", str(trained)
        )
        assert_one_line_error(result, "cannot use the run folder")
    finally:
        folder.chmod(0o755)


def test_a_node_without_the_others_address_stops_at_once(tmp_path: Path) -> None:
    """Without MASTER_ADDR/MASTER_PORT/NODE_RANK (nor torchrun or srun), a multi-node run would wait 30 minutes
    for nodes it cannot find; it stops in one line instead, and writes nothing."""
    from helpers import clean_env

    root = tmp_path / "r"
    result = run_cli("fit", "--model", "ae", "--trainer.num_nodes", "2", "--trainer.default_root_dir", str(root),
                     env=clean_env(), timeout=60)  # fmt: skip
    assert_one_line_error(result, "--trainer.num_nodes 2", "MASTER_ADDR, MASTER_PORT, NODE_RANK not set")
    assert not root.exists()
