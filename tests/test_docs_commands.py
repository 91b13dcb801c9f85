"""Every ``genzoo`` command shown in README.md and docs/ (model cards included, labs not) works as shown.

Commands are read from the fenced code blocks. A line with optional parts, groups or alternatives
(``[--seed S]``, ``(--dim K | ...)``, ``FILE.png|FILE.npz``) is a synopsis: every flag it names must be one
the command's ``--help`` lists. Any other line is run through the CLI's entry point, in this process (one
import of torch and Lightning for all of them), from a temporary working folder, with

- budgets cut to a few batches (``FIT_BUDGET``; ``--num``, the evaluation sizes and bench likewise),
  and GPU recipes whose batches take many seconds on a CPU only parsed there (``GPU_ONLY``),
- placeholders replaced: any ``--ckpt`` by a tiny checkpoint of the kind the line needs (trained once),
  ``--data.root`` by tiny stand-in data in the dataset's real layout, ``--data.cache_dir`` by a
  temporary folder,
- ``--trainer.accelerator gpu`` run on the CPU where there is no GPU (the recipe is what is checked).

Lines that are not run are in ``NOT_RUN``, with the reason; ``prepared`` says how each command is cut. A
command that exits with anything but 0 fails its test, with the command and its output.
"""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from helpers import make_anime_png, make_celeba

from genzoo.cli.main import main
from genzoo.commands import COMMANDS, LIGHTNING_COMMANDS

REPO = Path(__file__).resolve().parents[1]
DOC_FILES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md")), *sorted((REPO / "docs/models").glob("*.md"))]

# Batch limits of 2, not 1: "--trainer.limit_val_batches 1" reaches Lightning as 1.0, which means all batches.
LOOP_BUDGET = [
    "--trainer.limit_val_batches", "2",
    "--trainer.limit_test_batches", "2",
    "--trainer.enable_progress_bar", "false",
    "--trainer.enable_model_summary", "false",
    "--data.batch_size", "16",
]  # fmt: skip
FIT_BUDGET = ["--trainer.max_epochs", "1", "--trainer.limit_train_batches", "2", "--trainer.num_sanity_val_steps", "0"]
FIT_BUDGET += LOOP_BUDGET
EVAL_BUDGET = ["--num-samples", "64", "--reference-size", "64", "--probe-train-size", "64"]
EVAL_BUDGET += ["--kid-subsets", "2", "--kid-subset-size", "32", "--no-download"]

#: words of a doc line -> why it is not run (its flags are still checked against --help)
NOT_RUN = {
    "--trainer.strategy ddp": "starts worker processes; tests/test_ddp.py trains with DDP",
    "--trainer.devices 2": "starts worker processes; tests/test_ddp.py and tests/test_multinode.py run it",
    "genzoo app": "serves until stopped (and needs genzoo[app]); tests/test_app.py drives it",
}
#: GPU recipes that are only parsed (--print_config) where there is no GPU: a batch takes many seconds on a CPU
GPU_ONLY = ("style_alae_gpu.yaml",)


@dataclass
class DocCommand:
    words: list[str]  # after "genzoo", comments dropped
    places: list[str] = field(default_factory=list)  # "docs/cli.md:12"

    @property
    def command(self) -> str:
        return self.words[0].rstrip(",")

    @property
    def synopsis(self) -> bool:
        return any(w.startswith(("[", "(")) or w == "|" or ("|" in w and not w.startswith("-")) for w in self.words)

    @property
    def flags(self) -> list[str]:
        return [m for w in self.words for m in re.findall(r"(?<![\w-])--[a-z][\w.-]*", w)]


def doc_lines(path: Path) -> list[tuple[int, str]]:
    """(line number, text) of every ``genzoo ...`` line in the code blocks of ``path``, with its
    continuations (a trailing backslash, or an indented ``[...]`` line under a synopsis) joined."""
    found: list[tuple[int, str]] = []
    in_block = False
    lines = path.read_text().splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if line.lstrip().startswith("```"):
            in_block = not in_block
            continue
        if not in_block or not re.match(r"\s*(\$ )?genzoo\s", line):
            continue
        number, text = i, line.strip().removeprefix("$ ")
        while i < len(lines) and (text.endswith("\\") or re.match(r"\s+\[", lines[i])):
            text = text.removesuffix("\\") + " " + lines[i].strip()
            i += 1
        found.append((number, text))
    return found


#: flags whose doc values the test replaces anyway: lines that differ only there are run once
REPLACED = ("--out", "--num", "--data.root", "--data.cache_dir", "--trainer.max_epochs")


def doc_commands() -> list[DocCommand]:
    """The distinct commands of the docs, each with every place that shows it."""
    commands: dict[tuple[str, ...], DocCommand] = {}
    for path in DOC_FILES:
        for number, text in doc_lines(path):
            try:
                words = shlex.split(text, comments=True)[1:]
            except ValueError:  # an apostrophe in a synopsis' prose ("the newest run's last.ckpt")
                words = text.split(" #")[0].split()[1:]
            masked = ["*" if i and words[i - 1] in REPLACED else w for i, w in enumerate(words)]
            pairs = re.findall(r"(--\S+)(?: ([^-]\S*))?", " ".join(masked[1:]))  # order does not matter
            key = (masked[0], *sorted(f"{flag}={value}" for flag, value in pairs if flag not in REPLACED))
            commands.setdefault(key, DocCommand(words)).places.append(f"{path.relative_to(REPO)}:{number}")
    return list(commands.values())


COMMANDS_SHOWN = doc_commands()


def test_the_docs_show_commands() -> None:
    """The extraction finds the commands (a change of code-block style must not empty the test)."""
    shown = {c.command for c in COMMANDS_SHOWN}
    assert {"fit", "sample", "eval", "bench", "edit", "reconstruct", "traverse", "interpolate"} <= shown
    assert sum(not c.synopsis for c in COMMANDS_SHOWN) >= 30


# ----- synopses: every flag exists -------------------------------------------------------------------
_help: dict[str, str] = {}


def help_text(command: str, capsys: pytest.CaptureFixture) -> str:
    if command not in _help:
        capsys.readouterr()
        try:
            main([command, "--help"])
        except SystemExit as done:  # argparse's --help
            assert done.code in (0, None)
        _help[command] = capsys.readouterr().out
    return _help[command]


@pytest.mark.parametrize("doc", COMMANDS_SHOWN, ids=lambda c: c.places[0])
def test_every_flag_shown_exists(doc: DocCommand, capsys: pytest.CaptureFixture) -> None:
    assert doc.command in COMMANDS.names(), f"{doc.places}: no command {doc.command!r}"
    text = help_text(doc.command, capsys)
    known = set(re.findall(r"--[a-z][\w.-]*", text))
    # Sections of flags a command takes whole (its help says --data.KEY), and fit's --model.* and --data.*,
    # which depend on the model and data named: running the line checks those.
    sections = tuple(re.findall(r"(--[a-z]+\.)(?:KEY|\*)", text))
    sections += ("--model.", "--data.", "--trainer.") if doc.command in LIGHTNING_COMMANDS else ()
    unknown = [f for f in doc.flags if f not in known and not f.startswith(sections) and not f.endswith(".")]
    assert not unknown, f"{doc.places}: {' '.join(unknown)} not in 'genzoo {doc.command} --help'"


# ----- the commands themselves run ---------------------------------------------------------------------
class Workspace:
    """A temporary working folder with stand-in data and the tiny checkpoints the commands need."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "experiments").symlink_to(REPO / "experiments")  # recipes and suites, as from the checkout
        self.cache = root / "cache"
        self.data = {
            "mnist": REPO / "data",
            "celeba": make_celeba(root / "celeba_data", n=60, labelled=40).parent,
            "anime": make_anime_png(root / "anime_data", n=60),
        }
        vary_attributes(self.data["celeba"] / "celeba" / "list_attr_celeba.txt")
        self._checkpoints: dict[str, Path] = {}

    def checkpoint(self, kind: str) -> Path:
        if kind not in self._checkpoints:
            model, data = kind.split("-")
            out = self.root / "checkpoints"
            args = ["fit", "--model", model, "--data", data, *FIT_BUDGET, "--trainer.default_root_dir", str(out)]
            if data != "mnist":
                args += ["--data.root", str(self.data[data]), "--data.cache_dir", str(self.cache)]
                args += ["--model.backbone", "conv"]
            assert run(args) == 0, f"could not train the {kind} checkpoint"
            (self._checkpoints[kind],) = (out / kind).glob("version_*/checkpoints/last.ckpt")
        return self._checkpoints[kind]


def vary_attributes(path: Path) -> None:
    """Give every CelebA attribute both values (the stand-in sets Smiling only), so that any attribute the
    docs name (Male, Eyeglasses) has images to edit."""
    head, names, *rows = path.read_bytes().decode().split("\r\n")
    varied = []
    for k, row in enumerate(r for r in rows if r):
        name, *values = row.split()
        varied.append(" ".join([name, *(f"{1 if (k + j) % 3 == 0 else -1:2d}" for j in range(len(values)))]))
    path.write_bytes("\r\n".join([head, names, *varied, ""]).encode())


def run(argv: list[str]) -> int:
    os.environ.pop("GENZOO_RUN_VERSION", None)  # the run folder of the previous command
    try:
        return main(argv)
    except SystemExit as done:  # --print_config exits, as --help does
        return int(done.code or 0)
    finally:
        os.environ.pop("GENZOO_RUN_VERSION", None)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    return Workspace(tmp_path_factory.mktemp("docs"))


def value_of(words: list[str], flag: str) -> str | None:
    return words[words.index(flag) + 1] if flag in words[:-1] else None


def set_flag(words: list[str], flag: str, value: str) -> None:
    if flag in words[:-1]:
        words[words.index(flag) + 1] = value
    else:
        words += [flag, value]


def data_of(words: list[str]) -> str:
    """The dataset a line uses: --data NAME, else the recipe's folder (experiments/recipes/<data>/)."""
    name = value_of(words, "--data")
    recipe = re.search(r"recipes/(\w+)/", value_of(words, "--config") or "")
    return name or (recipe.group(1) if recipe else "mnist")


def checkpoint_kind(words: list[str]) -> str:
    """The tiny checkpoint a line needs: a CelebA CVAE for attributes, an MNIST CVAE for digits, else a VAE."""
    from genzoo.datamodules.celeba import CELEBA_ATTRIBUTES

    named = re.split(r"[,=:]", f"{value_of(words, '--cond') or ''},{value_of(words, '--attr') or ''}")
    if data_of(words) == "celeba" or set(named) & set(CELEBA_ATTRIBUTES):
        return "cvae-celeba"
    ckpt = value_of(words, "--ckpt") or value_of(words, "--ckpt_path") or ""
    return "cvae-mnist" if "cvae" in ckpt.lower() or "--cond" in words else "vae-mnist"


def prepared(doc: DocCommand, ws: Workspace) -> list[str]:
    """The line's words with placeholders replaced and budgets cut: fit gets ``FIT_BUDGET`` (or only
    ``--print_config``, see ``GPU_ONLY``), validate and test ``LOOP_BUDGET``, sample ``--num 4``, eval
    ``EVAL_BUDGET``, bench ``--report-only`` (its training takes minutes per model; tests/test_bench.py
    trains and evaluates a small bench)."""
    import torch

    words = list(doc.words)
    data = data_of(words)
    for flag in ("--ckpt", "--ckpt_path"):
        if value_of(words, flag) not in (None, "last"):
            set_flag(words, flag, str(ws.checkpoint(checkpoint_kind(words))))
    if "--data.root" in words:
        set_flag(words, "--data.root", str(ws.data[data]))
    if data != "mnist" and doc.command in (*LIGHTNING_COMMANDS, "edit"):
        set_flag(words, "--data.cache_dir", str(ws.cache))
    no_gpu = value_of(words, "--trainer.accelerator") == "gpu" and not torch.cuda.is_available()
    if no_gpu:
        set_flag(words, "--trainer.accelerator", "cpu")
    if no_gpu and any(recipe in " ".join(words) for recipe in GPU_ONLY):
        words += ["--print_config"]
    elif doc.command == "fit":
        words += FIT_BUDGET
    elif doc.command in LIGHTNING_COMMANDS:  # validate, test
        words += LOOP_BUDGET
    elif doc.command == "sample":
        set_flag(words, "--num", "4")
    elif doc.command == "eval":
        words += EVAL_BUDGET
    elif doc.command == "bench":
        words += ["--report-only"]
    return words


def not_run(doc: DocCommand) -> str | None:
    text = " ".join(["genzoo", *doc.words])
    return next((why for words, why in NOT_RUN.items() if words in text), None)


@pytest.mark.slow  # runs every command the docs show, trainings included
@pytest.mark.parametrize("doc", [c for c in COMMANDS_SHOWN if not c.synopsis], ids=lambda c: c.places[0])
def test_command_shown_runs(
    doc: DocCommand, workspace: Workspace, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    why = not_run(doc)
    if why:
        pytest.skip(why)
    monkeypatch.chdir(workspace.root)  # relative outputs (runs/, results/, samples.png) land here
    argv = prepared(doc, workspace)
    capsys.readouterr()
    code = run(argv)
    out, err = capsys.readouterr()
    shown = " ".join(["genzoo", *doc.words])
    assert code == 0, f"{shown}  ({', '.join(doc.places)})\nran as: genzoo {shlex.join(argv)}\n{err[-3000:]}"
