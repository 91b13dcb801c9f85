"""No file a user is handed runs code when genzoo opens it.

A checkpoint whose pickle holds a payload (an object whose ``__reduce__`` calls ``os.system``, which writes a
marker file) is given to every command that takes a checkpoint, each a real ``genzoo`` process: the payload
never runs, and each refuses the file in one line with exit code 2, leaving nothing behind. YAML configs with
python tags are refused the same way. The processes run a few at a time: each is refused before any work.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import torch
from helpers import assert_one_line_error, cli_here, handmade_checkpoint, run_cli

from genzoo.errors import GenzooError

NOT_PLAIN = "is not a plain genzoo checkpoint: it holds the Python object posix.system"


class Payload:
    """Unpickling this calls os.system, which writes ``marker``: what a malicious checkpoint does."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {shlex.quote(str(self.marker))}",)


@pytest.fixture(scope="module")
def payload(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(a checkpoint of an AE carrying the payload, in a run folder's layout; the marker its payload writes)."""
    root = tmp_path_factory.mktemp("payload")
    marker = root / "payload-ran"
    ckpt = root / "ae-mnist" / "version_0" / "checkpoints" / "last.ckpt"
    ckpt.parent.mkdir(parents=True)
    checkpoint = torch.load(handmade_checkpoint(root / "plain.ckpt", "ae"), weights_only=True)
    checkpoint["loops"] = Payload(marker)
    torch.save(checkpoint, ckpt)
    torch.load(ckpt, weights_only=False)  # the payload is real: an unsafe load runs it
    assert marker.is_file()
    marker.unlink()
    return ckpt, marker


#: the commands that open a checkpoint (resume: ``fit --ckpt_path last``; bench: a benchmark evaluating one)
CHECKPOINT_COMMANDS = ("sample", "eval", "reconstruct", "interpolate", "traverse", "explore", "edit", "export", "app",
                       "fit", "validate", "test", "resume", "bench")  # fmt: skip
#: the other refusals, and what each names (the checkpoint commands name NOT_PLAIN)
FRAGMENTS = {
    "weights_only": "--weights_only false: genzoo reads checkpoints as plain data only",
    "config": "could not determine a constructor for the tag 'tag:yaml.org,2002:python/object/apply:os.system'",
    "suite": "python/object/apply:os.system",
}


def command_lines(ckpt: Path, marker: Path, work: Path) -> dict[str, list[str]]:
    """Every command that reads a checkpoint (or a YAML file) given the payload; each writes under its own
    ``work/NAME`` only."""
    out = {name: work / name for name in (*CHECKPOINT_COMMANDS, *FRAGMENTS)}
    for folder in out.values():
        folder.mkdir()
    run_folder = ckpt.parents[2]  # .../ae-mnist
    shutil.copytree(run_folder, out["resume"] / "ae-mnist")  # where `fit --ckpt_path last` looks
    seed_root = out["bench"] / "runs" / "ae" / "seed0"  # a benchmark whose training is done: it evaluates
    shutil.copytree(run_folder, seed_root / "ae-mnist")
    run = (seed_root / "ae-mnist" / "version_0").relative_to(out["bench"])
    train = {"checkpoint": str(run / "checkpoints" / "last.ckpt"), "run_dir": str(run)}
    (seed_root / "train.json").write_text(json.dumps(train))
    tag = f'!!python/object/apply:os.system ["touch {marker}"]'
    (out["config"] / "recipe.yaml").write_text(f"seed_everything: {tag}\n")
    (out["suite"] / "suite.yaml").write_text(f"models: {tag}\n")
    c = str(ckpt)

    def root(name: str) -> list[str]:
        return ["--trainer.default_root_dir", str(out[name])]

    return {
        "sample": ["sample", "--ckpt", c, "--out", f"{out['sample']}/s.png"],
        "eval": ["eval", "--ckpt", c, "--out", f"{out['eval']}/e.json"],
        "reconstruct": ["reconstruct", "--ckpt", c, "--out", f"{out['reconstruct']}/r.png"],
        "interpolate": ["interpolate", "--ckpt", c, "--out", f"{out['interpolate']}/i.png"],
        "traverse": ["traverse", "--ckpt", c, "--dim", "0", "--out", f"{out['traverse']}/t.png"],
        "explore": ["explore", "--ckpt", c, "--out", f"{out['explore']}/x.png"],
        "edit": ["edit", "--ckpt", c, "--attr", "3:8", "--out", f"{out['edit']}/e.png"],
        "export": ["export", "--ckpt", c, "--out", f"{out['export']}/hub"],
        "app": ["app", "--ckpt", c, "--port", "1"],
        "fit": ["fit", "--model", "ae", "--ckpt_path", c, *root("fit")],
        "validate": ["validate", "--model", "ae", "--ckpt_path", c, *root("validate")],
        "test": ["test", "--model", "ae", "--ckpt_path", c, *root("test")],
        "resume": ["fit", "--model", "ae", "--ckpt_path", "last", *root("resume")],
        "bench": ["bench", "--models", "ae", "--seeds", "0", "--max-epochs", "1", "--out", str(out["bench"])],
        "weights_only": ["fit", "--model", "ae", "--ckpt_path", c, "--weights_only", "false", *root("weights_only")],
        "config": ["fit", "--config", f"{out['config']}/recipe.yaml", *root("config")],
        "suite": ["bench", "--suite", f"{out['suite']}/suite.yaml", "--out", f"{out['suite']}/bench"],
    }


@pytest.fixture(scope="module")
def commands(payload, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, list[str]], dict[str, list]]:
    """(the work folder, each command line, each command's folder contents before it runs)."""
    ckpt, marker = payload
    work = tmp_path_factory.mktemp("work")
    lines = command_lines(ckpt, marker, work)
    return work, lines, {name: contents(work, name) for name in lines}


def contents(work: Path, name: str) -> list[Path]:
    return sorted(p.relative_to(work) for p in (work / name).rglob("*"))


@pytest.fixture(scope="module")
def processes(commands) -> dict[str, subprocess.CompletedProcess]:
    """The real ``genzoo`` processes, two at a time (each is refused after its imports, before any work)."""
    _, lines, _ = commands
    env = {"OMP_NUM_THREADS": "1"}
    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip(SUBPROCESS, pool.map(lambda name: run_cli(*lines[name], env=env, timeout=300), SUBPROCESS)))


def check_refused(name: str, result: subprocess.CompletedProcess, marker: Path, work: Path, before: list) -> None:
    """The marker never written; one line, exit code 2; the command's folder as it was."""
    assert not marker.exists(), f"genzoo {name} ran the payload"
    line = assert_one_line_error(result, FRAGMENTS.get(name, NOT_PLAIN))
    # Lines before the error are progress notes (bench's plan, "resuming RUN"), never a second error.
    notes = [n for n in result.stderr.strip().splitlines() if n != line]
    assert name in ("bench", "resume") or not notes, result.stderr
    after = contents(work, name)
    if name == "bench":
        after.remove(Path("bench/bench.json"))  # the benchmark's own settings record, its named output
    assert after == before


#: the commands run as real processes; the other refusals (the same code paths) run in this process
SUBPROCESS = [name for name in CHECKPOINT_COMMANDS if name != "resume"]


@pytest.mark.slow  # starts genzoo processes
@pytest.mark.parametrize("name", SUBPROCESS)
def test_payload_never_runs(name: str, payload, commands, processes) -> None:
    """A payload given to any command that opens a checkpoint is refused before it runs."""
    work, _, before = commands
    check_refused(name, processes[name], payload[1], work, before[name])


@pytest.mark.parametrize("name", ["resume", *FRAGMENTS])
def test_refused_in_process(name: str, payload, commands, capsys, monkeypatch) -> None:
    """``fit --ckpt_path last`` on a payload, ``--weights_only false``, and python tags in a --config recipe
    or a bench --suite: refused the same way (run here: a process start would cost more than the check)."""
    work, lines, before = commands
    check_refused(name, cli_here(capsys, monkeypatch, *lines[name]), payload[1], work, before[name])


def test_python_loaders_refuse_the_payload(payload) -> None:
    """The loader behind the labs, bench's evaluator and GenzooPretrained reads as data only too."""
    from genzoo.models.loading import load_model

    ckpt, marker = payload
    with pytest.raises(GenzooError, match=NOT_PLAIN):
        load_model(ckpt)
    assert not marker.exists()


def test_a_foreign_class_path_is_never_imported(tmp_path, capsys, monkeypatch) -> None:
    """LightningCLI imports the ``_class_path`` a checkpoint's hyper-parameters name, and an import runs the
    module's code (``this`` prints the Zen of Python): a class path that is not its model's is refused."""
    import sys

    checkpoint = torch.load(handmade_checkpoint(tmp_path / "plain.ckpt", "ae"), weights_only=True)
    checkpoint["hyper_parameters"]["_class_path"] = "this.s"
    torch.save(checkpoint, tmp_path / "x.ckpt")
    monkeypatch.delitem(sys.modules, "this", raising=False)
    for argv in (["test", "--model", "ae", "--ckpt_path"], ["sample", "--out", f"{tmp_path}/s.png", "--ckpt"]):
        result = cli_here(capsys, monkeypatch, *argv, str(tmp_path / "x.ckpt"))
        assert_one_line_error(result, "is not a plain genzoo checkpoint: it holds the class path 'this.s'")
        assert "this" not in sys.modules and "Zen of Python" not in result.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plain.ckpt", "x.ckpt"]
