"""Make the lab notebooks from their sources, run them, and check them (what ``make labs`` runs).

Each lab has one source, ``src/NN_name.py`` (jupytext's percent format). Cells tagged ``exercise`` go
into the student's notebook ``NN_name.ipynb`` only, cells tagged ``solution`` into
``solutions/NN_name.ipynb`` only; every other cell goes into both. Each notebook is executed top to
bottom in a fresh kernel (nbclient). A run fails on any cell error, on a check that prints ``FAIL``,
and, in a solution notebook, on an exercise left ``TODO``.

    python docs/labs/build.py              # full mode: run every lab, write the notebooks with outputs
    python docs/labs/build.py 01 04        # only these labs
    python docs/labs/build.py --fast       # GENZOO_LAB_FAST=1: a few batches per model; the notebooks
                                           # go to runs/labs-fast/, checks are not enforced
    python docs/labs/build.py --no-run     # only write the notebooks (no outputs)
    python docs/labs/build.py --text-only 05   # a prose-only edit: rewrite the markdown, keep the outputs

The written notebooks keep no machine-specific paths and no volatile metadata (execution times,
kernel versions), so a rerun changes only what the run itself changed.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
from pathlib import Path

LABS = Path(__file__).resolve().parent
ROOT = LABS.parents[1]
CELL_TIMEOUT_S = 900


def split(source: Path):
    """(student notebook, solution notebook) from one jupytext source."""
    import jupytext

    nb = jupytext.read(source)
    sanitise(nb)
    out = []
    for drop in ("solution", "exercise"):
        copy = nb.copy()
        copy.cells = [c for c in nb.cells if drop not in c.metadata.get("tags", [])]
        out.append(copy)
    return out


NOTEBOOK_METADATA = {
    "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
    "language_info": {"name": "python"},
}


def sanitise(nb) -> None:
    """Drop volatile metadata (execution times, the kernel's version) and machine paths, in place."""
    nb.metadata = dict(NOTEBOOK_METADATA)
    for cell in nb.cells:
        cell.metadata = {k: v for k, v in cell.metadata.items() if k == "tags"}
    home = str(Path.home())
    paths = sorted({str(ROOT), str(ROOT.resolve()), sys.prefix, home}, key=len, reverse=True)
    for count, cell in enumerate(c for c in nb.cells if c.cell_type == "code"):
        cell.metadata.pop("execution", None)
        cell.execution_count = count + 1
        for output in cell.get("outputs", []):
            output.pop("execution_count", None) if output.get("output_type") != "execute_result" else None
            if output.get("output_type") == "execute_result":
                output["execution_count"] = cell.execution_count
            if "text" in output:
                text = output["text"]
                for p in paths:
                    text = text.replace(p, "<repo>" if p.startswith(str(ROOT)) else "<home>")
                output["text"] = text
            output.get("metadata", {}).clear() if "metadata" in output else None


def verdicts(nb) -> list[str]:
    """Every line a check printed: 'PASS [...]', 'FAIL [...]', 'TODO [...]'."""
    lines = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            text = output.get("text", "")
            lines += [line for line in text.splitlines() if re.match(r"^(PASS|FAIL|TODO) \[", line)]
    return lines


def carry_outputs(nb, written: Path) -> str | None:
    """Give nb the outputs of the notebook already written at ``written``; the reason if it cannot.

    Only safe when no code cell changed: the outputs are then what running nb would print (the runs are
    seeded), and a prose fix does not cost a full run of the lab.
    """
    import nbformat

    if not written.is_file():
        return f"{written.name} was never written; run it"
    old_cells = nbformat.read(written, as_version=4).cells
    old = [c for c in old_cells if c.cell_type == "code"]
    new = [c for c in nb.cells if c.cell_type == "code"]
    if [c.source for c in old] != [c.source for c in new]:
        return f"a code cell of {written.name} changed; run it"
    for cell, before in zip(new, old):
        cell.outputs = before.get("outputs", [])
    if [c.cell_type for c in old_cells] == [c.cell_type for c in nb.cells]:  # same layout: keep the cell ids
        for cell, before in zip(nb.cells, old_cells):
            cell.id = before.id
    sanitise(nb)  # split() numbered the cells before it dropped the other notebook's: number them again
    return None


def execute(nb, cwd: Path, env: dict) -> float:
    from nbclient import NotebookClient

    old = dict(os.environ)
    os.environ.update(env)
    try:
        began = time.perf_counter()
        client = NotebookClient(nb, timeout=CELL_TIMEOUT_S, kernel_name="python3")
        client.execute(cwd=str(cwd))
        return time.perf_counter() - began
    finally:
        os.environ.clear()
        os.environ.update(old)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("labs", nargs="*", help="lab numbers (default: all)")
    parser.add_argument("--fast", action="store_true", help="small-budget mode (GENZOO_LAB_FAST=1)")
    parser.add_argument("--no-run", action="store_true", help="write the notebooks without running them")
    parser.add_argument("--text-only", action="store_true", help="rewrite the prose, keep the written outputs")
    parser.add_argument("--cache", help="checkpoint cache (default: a fresh temporary folder)")
    args = parser.parse_args()

    import nbformat

    sources = sorted((LABS / "src").glob("[0-9][0-9]_*.py"))
    if args.labs:
        sources = [s for s in sources if s.name[:2] in {n.zfill(2) for n in args.labs}]
    out_dir = ROOT / "runs" / "labs-fast" if args.fast else LABS
    cache = Path(args.cache) if args.cache else Path(tempfile.mkdtemp(prefix="genzoo-labs-"))
    env = {"GENZOO_LAB_FAST": "1" if args.fast else "0", "GENZOO_LAB_CACHE": str(cache), "PYTHONHASHSEED": "0"}
    failures, table = [], []
    for source in sources:
        for kind, nb in zip(("lab", "solution"), split(source)):
            target = out_dir / ("solutions" if kind == "solution" else "") / source.with_suffix(".ipynb").name
            target.parent.mkdir(parents=True, exist_ok=True)
            if args.no_run:
                nbformat.write(nb, target)
                continue
            if args.text_only:
                refused = carry_outputs(nb, target)
                if refused:
                    failures.append(refused)
                else:
                    nbformat.write(nb, target)
                continue
            label = f"{source.stem} ({kind})"
            try:
                took = execute(nb, LABS / ("solutions" if kind == "solution" else ""), env)
            except Exception as err:  # a cell error: report it and go on with the other labs
                failures.append(f"{label}: {type(err).__name__}: {str(err).strip().splitlines()[-1][:300]}")
                print(f"ERROR {label}", flush=True)
                continue
            sanitise(nb)
            nbformat.write(nb, target)
            lines = verdicts(nb)
            bad = [v for v in lines if v.startswith("FAIL") or (kind == "solution" and v.startswith("TODO"))]
            if bad and not args.fast:
                failures += [f"{label}: {v}" for v in bad]
            table.append((label, took, len([v for v in lines if v.startswith("PASS")]), len(lines)))
            print(f"{'ok  ' if not bad or args.fast else 'FAIL'} {label}: {took:.0f} s, "
                  f"{table[-1][2]}/{len(lines)} checks pass", flush=True)  # fmt: skip
    if table:
        print("\n| notebook | wall s | checks passed |\n| --- | --- | --- |")
        for label, took, passed, total in table:
            print(f"| {label} | {took:.0f} | {passed}/{total} |")
    for failure in failures:
        print(f"failed: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
