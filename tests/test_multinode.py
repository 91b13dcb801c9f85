"""Beyond one process, launched the ways clusters launch: Lightning's launcher, several simulated nodes,
torchrun (one node and two), Slurm's environment, and a scheduler's signal under DDP.

Every run trains the same small GAN (two optimizers, moving averages) on 2 ranks for 2 epochs of 6 batches
each, with the same seed, so every launcher must end at the same weights as the reference run
(``--trainer.devices 2`` on one node): exactly one run folder each, every rank seeing the world the same way
(``signal_probe.RankRecord``). "Nodes" are processes on 127.0.0.1, each started by its own command, as a
real second node would be. All runs start together in a bounded pool (`run_all` in tests/helpers.py).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch
from helpers import clean_env, free_port, run_all
from test_preemption import RUN, send_signal

GENZOO = [sys.executable, "-m", "genzoo.cli"]
TORCHRUN = [sys.executable, "-m", "torch.distributed.run"]
TIMEOUT = 300


def fit_args(root: Path, *extra: str) -> list[str]:
    return [*RUN, "--trainer.accelerator", "cpu", "--trainer.default_root_dir", str(root),
            "--trainer.callbacks+=signal_probe.RankRecord", f"--trainer.callbacks.out_dir={root / 'ranks'}",
            *extra]  # fmt: skip


def node_jobs(root: Path, launcher: str) -> list[tuple[list[str], dict[str, str]]]:
    """The command (and environment) of each node of a 2-rank run started by ``launcher``."""
    port = str(free_port())
    if launcher == "devices":
        return [(GENZOO + fit_args(root, "--trainer.devices", "2"), clean_env(MASTER_PORT=port))]
    if launcher == "nodes":  # Lightning's own multi-node environment: one process per node
        args = fit_args(root, "--trainer.devices", "1", "--trainer.num_nodes", "2")
        return [(GENZOO + args, clean_env(MASTER_ADDR="127.0.0.1", MASTER_PORT=port, NODE_RANK=str(n))) for n in (0, 1)]
    if launcher == "torchrun":
        command = TORCHRUN + ["--nproc-per-node", "2", "--master-port", port, "--module", "genzoo.cli"]
        return [(command + fit_args(root, "--trainer.devices", "2"), clean_env())]
    if launcher == "torchrun_nodes":
        jobs = []
        for n in (0, 1):
            command = TORCHRUN + [
                "--nnodes", "2", "--node-rank", str(n), "--nproc-per-node", "1",
                "--master-addr", "127.0.0.1", "--master-port", port, "--module", "genzoo.cli",
            ]  # fmt: skip
            jobs.append((command + fit_args(root, "--trainer.devices", "1", "--trainer.num_nodes", "2"), clean_env()))
        return jobs
    if launcher == "slurm":  # what srun sets for each of 2 tasks on one node (no Slurm needed)
        slurm = {"SLURM_NTASKS": "2", "SLURM_NTASKS_PER_NODE": "2", "SLURM_NNODES": "1", "SLURM_NODEID": "0",
                 "SLURM_JOB_ID": "4242", "SLURM_JOB_NAME": "genzoo", "SLURM_NODELIST": "127.0.0.1",
                 "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": port}  # fmt: skip
        return [
            (GENZOO + fit_args(root, "--trainer.devices", "2"),
             clean_env(**slurm, SLURM_PROCID=str(r), SLURM_LOCALID=str(r)))
            for r in (0, 1)
        ]  # fmt: skip
    raise ValueError(launcher)


LAUNCHERS = ["devices", "nodes", "torchrun", "torchrun_nodes", "slurm"]
ENVIRONMENTS = {"devices": "LightningEnvironment", "nodes": "LightningEnvironment",
                "torchrun": "TorchElasticEnvironment", "torchrun_nodes": "TorchElasticEnvironment",
                "slurm": "SLURMEnvironment"}  # fmt: skip


@pytest.fixture(scope="module")
def launched(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, list]]:
    """Every launcher's run, plus a DDP run stopped by SIGTERM on rank 0 mid-epoch and then resumed."""
    roots, jobs = {}, {}
    for launcher in LAUNCHERS:
        roots[launcher] = tmp_path_factory.mktemp(launcher)
        for n, job in enumerate(node_jobs(roots[launcher], launcher)):
            jobs[launcher, n] = job
    roots["stopped"] = tmp_path_factory.mktemp("stopped")
    stop = GENZOO + fit_args(roots["stopped"], "--trainer.devices", "2", *send_signal(8))
    jobs["stopped", 0] = (stop, clean_env(MASTER_PORT=str(free_port())))
    results = run_all(jobs, parallel=4, timeout=TIMEOUT)
    resume = GENZOO + fit_args(roots["stopped"], "--trainer.devices", "2", "--ckpt_path", "last")
    results["resumed", 0] = run_all({0: (resume, clean_env(MASTER_PORT=str(free_port())))}, 1, TIMEOUT)[0]
    by_launcher: dict[str, tuple[Path, list]] = {}
    for (name, _), result in results.items():
        by_launcher.setdefault(name, (roots.get(name, roots["stopped"]), []))[1].append(result)
    return by_launcher


def final_weights(root: Path) -> dict[str, torch.Tensor]:
    (ckpt,) = root.glob("gan-mnist/version_*/checkpoints/last.ckpt")
    return torch.load(ckpt, map_location="cpu", weights_only=True)["state_dict"]


@pytest.mark.parametrize("launcher", LAUNCHERS)
def test_one_run_folder_one_world_same_weights(launcher, launched):
    root, results = launched[launcher]
    for result in results:
        assert result.returncode == 0, f"{launcher}:\n{result.stderr[-4000:]}"
    folders = sorted(p.relative_to(root) for p in root.glob("*/version_*"))
    assert folders == [Path("gan-mnist/version_0")], folders
    (run,) = root.glob("gan-mnist/version_0")
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["last.ckpt"]
    assert (run / "config.yaml").is_file() and (run / "metrics.csv").is_file()
    ranks = [torch.load(root / "ranks" / f"rank{r}.pt", weights_only=True) for r in (0, 1)]
    for r, record in enumerate(ranks):
        assert (record["global_rank"], record["world_size"]) == (r, 2)
        assert record["environment"] == ENVIRONMENTS[launcher]
        assert Path(record["log_dir"]) == run
    for key, value in ranks[0]["params"].items():
        assert torch.equal(value, ranks[1]["params"][key]), f"{launcher}: ranks differ in {key}"
    reference = final_weights(launched["devices"][0])
    for key, value in final_weights(root).items():
        assert torch.equal(value, reference[key]), f"{launcher}: {key} differs from the one-node 2-process run"


def test_sigterm_under_ddp_stops_every_rank_and_resumes_to_identical_weights(launched):
    _, (stopped,) = launched["stopped"]
    assert stopped.returncode == 143, stopped.stderr[-4000:]
    lines = [line for line in stopped.stderr.splitlines() if line.startswith("genzoo:")]
    assert lines == ["genzoo: stopped by SIGTERM at epoch 1, step 18; continue with --ckpt_path last"], lines
    root, (resumed,) = launched["resumed"]
    assert resumed.returncode == 0, resumed.stderr[-4000:]
    reference = final_weights(launched["devices"][0])
    for key, value in final_weights(root).items():
        assert torch.equal(value, reference[key]), f"resumed DDP run: {key} differs from the uninterrupted one"


BUILD_CACHE = """
import sys
from genzoo.registry import DATAMODULES
data = DATAMODULES.get("folder")(root=sys.argv[1], cache_dir=sys.argv[2], size=32, decode_workers=1)
data.prepare_data()
data.setup("fit")
print("images", len(data.splits["train"]) + len(data.splits["val"]) + len(data.splits["test"]))
"""


def test_nodes_sharing_a_cache_folder_build_it_once(tmp_path):
    """Two nodes' data preparation (local rank 0 of each) started together on one shared cache folder: one
    decodes, the other waits for it and maps the result; nothing else is left beside the cache."""
    from helpers import make_anime_png

    images = make_anime_png(tmp_path / "anime", n=1500) / "data"  # decoding takes seconds: the two overlap
    cache = tmp_path / "shared_cache"
    jobs = {node: ([sys.executable, "-c", BUILD_CACHE, str(images), str(cache)], clean_env()) for node in (0, 1)}
    results = run_all(jobs, parallel=2, timeout=TIMEOUT)
    for result in results.values():
        assert result.returncode == 0, result.stderr[-3000:]
        assert "images 1500" in result.stdout
    decoded = [r for r in results.values() if "decoding 1,500 images" in r.stdout + r.stderr]
    assert len(decoded) == 1, [r.stderr[-500:] for r in results.values()]
    assert sorted(p.suffix for p in cache.iterdir()) == [".json", ".npy"]
