"""The layout's promises: no import circle in ``genzoo/``, and a CLI front door that does not load torch."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from genzoo.commands import COMMANDS, LIGHTNING_COMMANDS

PACKAGE = Path(__file__).resolve().parents[1] / "genzoo"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path, modules: set[str]) -> set[str]:
    """The genzoo modules ``path`` imports anywhere (functions included), except under TYPE_CHECKING."""
    tree = ast.parse(path.read_text())
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(child) for child in ast.walk(node))
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        for name in names:
            # "import genzoo.a.b" also runs genzoo/__init__ and genzoo/a/__init__: those are edges too
            parts = name.split(".")
            found.update(".".join(parts[:i]) for i in range(1, len(parts) + 1) if ".".join(parts[:i]) in modules)
    # A module's own ancestor packages are initialised before it runs, so naming them starts nothing.
    me = module_name(path)
    ancestors = {".".join(me.split(".")[:i]) for i in range(1, me.count(".") + 1)}
    return found - {me} - ancestors


def import_graph() -> dict[str, set[str]]:
    paths = sorted(PACKAGE.rglob("*.py"))
    modules = {module_name(p) for p in paths}
    return {module_name(p): imported_modules(p, modules) for p in paths}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle as a list of modules (first == last), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: finished
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        state[node] = 2
        path.pop()
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_find_cycle_finds_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_circle_in_genzoo():
    graph = import_graph()
    cycle = find_cycle(graph)
    assert cycle is None, "import circle: " + " -> ".join(cycle or [])


OWN_COMMANDS = [name for name in COMMANDS.names() if name not in LIGHTNING_COMMANDS]
FRONT_DOOR = [["--help"], ["list"], ["nope"], ["fit", "--model", "nope"], ["fit", "--data", "nope"]]


@pytest.mark.parametrize("argv", FRONT_DOOR + [[name, "--help"] for name in OWN_COMMANDS], ids=" ".join)
def test_front_door_does_not_load_torch(argv):
    """Help, listings and unknown commands answer from the tables alone (answering at once is a feature)."""
    code = (
        "import sys; from genzoo.cli import main; code = main(sys.argv[1:]); "
        "assert 'torch' not in sys.modules, 'torch was imported'; sys.exit(code)"
    )
    result = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, timeout=60)
    assert "torch was imported" not in result.stderr
    assert result.returncode == (2 if argv[0] in ("nope", "fit") else 0), result.stderr


@pytest.mark.slow  # starts genzoo processes, the first one builds the help
def test_fit_help_is_built_once_then_answered_without_torch(tmp_path, monkeypatch):
    """``genzoo fit --model vae --help`` needs LightningCLI the first time; after that the kept text answers
    at once, the same text, and a change to genzoo's code (here: a new file) builds it again."""
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path), "COLUMNS": "100"}
    argv = ["fit", "--model", "vae", "--help"]
    first = subprocess.run([sys.executable, "-m", "genzoo.cli", *argv], capture_output=True, text=True, env=env)
    assert first.returncode == 0 and "--model.beta" in first.stdout, first.stderr[-2000:]
    code = (
        "import sys; from genzoo.cli import main; code = main(sys.argv[1:]); "
        "assert 'torch' not in sys.modules, 'torch was imported'; sys.exit(code)"
    )
    again = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, env=env, timeout=60)
    assert again.returncode == 0, again.stderr
    assert again.stdout == first.stdout
    from genzoo.cli import help_cache

    monkeypatch.setenv("COLUMNS", "100")
    key = help_cache.help_key(["fit", "--help"], None)
    (tmp_path / "module.py").write_text("")
    monkeypatch.setattr(help_cache, "PACKAGE", tmp_path)
    assert help_cache.help_key(["fit", "--help"], None) != key
    assert help_cache.help_key(["fit", "--model", "ae", "--help"], None) != help_cache.help_key(["fit", "--help"], None)


def architecture_tree() -> dict[str, str]:
    """docs/architecture.md's tree of genzoo/: each entry's path (``cli/main.py``, ``latent/``,
    ``models/<name>.py``) -> its description, continuation lines included."""
    text = (PACKAGE.parent / "docs" / "architecture.md").read_text()
    entries: dict[str, str] = {}
    path = None
    for line in text.split("```\ngenzoo/\n", 1)[1].split("```", 1)[0].splitlines():
        if re.match(r"  \S", line):  # a new entry, indented by two
            path, _, description = line.strip().partition(" ")
            entries[path] = description
        elif line.startswith("   ") and path:  # its description goes on
            entries[path] += " " + line.strip()
        else:  # the lines below genzoo/ (experiments/, tests/, ...)
            path = None
    return entries


def test_architecture_tree_names_every_module():
    """docs/architecture.md's tree is the real tree: each module is an entry of its own, or its name is in the
    description of its folder's entry (``latent/``) or of the folder's ``<name>.py`` entry."""
    tree = architecture_tree()
    assert "registry.py" in tree and "models/<name>.py" in tree, "the tree was not found"
    missing = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        if path.name == "__init__.py" and relative != "commands/__init__.py":
            continue  # package markers; the command table's __init__ is a module with a job
        folder = relative.rpartition("/")[0]
        described = [tree.get(f"{folder}/", ""), tree.get(f"{folder}/<name>.py", "")] if folder else []
        if relative not in tree and not any(re.search(rf"\b{path.stem}\b", text) for text in described):
            missing.append(relative)
    assert not missing, f"docs/architecture.md's tree does not name: {', '.join(missing)}"
