"""Launching many CLI processes at once for the distributed tests: free ports, a clean environment, a pool.

Most of a short multi-process run is importing torch and Lightning, which overlaps well between runs; a
pool keeps the number of live processes (and their memory) bounded on a small machine.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

from conftest import REPO

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
