"""Make the lab notebooks from their sources, run them, and check them (what ``make labs`` runs).

Each lab has one source, ``src/NN_name.py`` (jupytext's percent format). Cells tagged ``exercise`` go
into the student's notebook ``NN_name.ipynb`` only, cells tagged ``solution`` into
``solutions/NN_name.ipynb`` only; every other cell goes into both. Each notebook is executed top to
bottom in a fresh kernel (nbclient). A run fails on any cell error, on a check that prints ``FAIL``,
and, in a solution notebook, on an exercise left ``TODO``.

The build also keeps the text true, in every mode (``--fast`` and ``--text-only`` included):
- every source that ``labkit.source`` quoted (``# from PATH, lines A-B`` and the text) must still be
  lines A-B of PATH, in the notebooks just run and in the committed ones (``docs/labs/*.ipynb`` and
  ``solutions/``), so a model file changed without rebuilding the labs fails the build;
- every ``{{name}}`` in a markdown cell is replaced by the value a code cell above it printed with
  ``labkit.cite`` (a placeholder with no value fails the build), so the prose quotes the outputs;
- a full-mode run writes each lab's wall time into README.md's timing table and fails a lab over
  ``BUDGET_S`` seconds.

    python docs/labs/build.py              # full mode: run every lab, write the notebooks with outputs
    python docs/labs/build.py 01 04        # only these labs
    python docs/labs/build.py --fast       # GENZOO_LAB_FAST=1: a few batches per model; the notebooks
                                           # go to runs/labs-fast/, the exercises' checks are not
                                           # enforced (the quotes and citations are)
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
BUDGET_S = 180  # the most a student notebook may take in full mode, wall time
README = LABS / "README.md"
TIMINGS_BEGIN, TIMINGS_END = "<!-- timings: written by build.py -->", "<!-- end of timings -->"
QUOTE = re.compile(r"^# from (\S+), lines (\d+)-(\d+)$")
OLD_QUOTE = re.compile(r"^# from (\S+\.py)$")  # an older build's header, without the line numbers
CITED = re.compile(r"^\(cited as \{\{(\w+)\}\}: (.*)\)$")  # what labkit.cite prints
PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")


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


def stale_quotes(nb, label: str, root: Path = ROOT) -> list[str]:
    """Every quote of a source file in nb's outputs that is no longer the file's text, one line each."""
    problems = []
    for cell in nb.cells:
        # A cell's printed text, whole: the kernel may send one print in several stream outputs (it does on a
        # loaded machine), and a quote's header must stay with its lines.
        printed = "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("output_type") == "stream")
        if printed:
            lines = printed.splitlines()
            for i, line in enumerate(lines):
                old = OLD_QUOTE.match(line)
                said = f"{label}: quotes sources without their line numbers (an older build): rebuild it"
                if old and said not in problems:
                    problems.append(said)
                found = QUOTE.match(line)
                if not found:
                    continue
                path, first, last = found.group(1), int(found.group(2)), int(found.group(3))
                quoted = lines[i + 1 : i + 2 + last - first]
                where = f"{label}: the quote of {path}, lines {first}-{last}"
                if not (root / path).is_file():
                    problems.append(f"{where}: the file is gone")
                    continue
                current = (root / path).read_text().splitlines()[first - 1 : last]
                if quoted == current:
                    continue
                n = next((k for k, (a, b) in enumerate(zip(quoted, current)) if a != b), min(len(quoted), len(current)))
                said = repr(quoted[n]) if n < len(quoted) else "(the quote ends)"
                now = repr(current[n]) if n < len(current) else "(the file ends)"
                problems.append(f"{where}: line {first + n} differs: quoted {said}, the file has {now}")
    return problems


def fill_citations(nb, label: str) -> list[str]:
    """Replace each ``{{name}}`` of a markdown cell by the value cited above it, in place; the failures."""
    values: dict[str, str] = {}
    problems = []
    for cell in nb.cells:
        if cell.cell_type == "code":
            for output in cell.get("outputs", []):
                for line in output.get("text", "").splitlines():
                    cited = CITED.match(line)
                    if cited:
                        values[cited.group(1)] = cited.group(2)
        elif cell.cell_type == "markdown":
            missing = sorted({m for m in PLACEHOLDER.findall(cell.source) if m not in values})
            problems += [f"{label}: {{{{{name}}}}} has no value cited above it (lk.cite)" for name in missing]
            cell.source = PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), cell.source)
    return problems


def committed_notebooks() -> list[Path]:
    return sorted(LABS.glob("[0-9][0-9]_*.ipynb")) + sorted((LABS / "solutions").glob("[0-9][0-9]_*.ipynb"))


def check_committed(skip: set[Path] = frozenset()) -> list[str]:
    """The committed notebooks (but those in ``skip``): no stale quote, no placeholder left unfilled."""
    import nbformat

    problems = []
    for path in (p for p in committed_notebooks() if p.resolve() not in skip):
        label = str(path.relative_to(LABS))
        nb = nbformat.read(path, as_version=4)
        problems += stale_quotes(nb, label)
        for cell in nb.cells:
            if cell.cell_type == "markdown":
                unfilled = PLACEHOLDER.findall(cell.source)
                problems += [f"{label}: {{{{{name}}}}} was never filled in" for name in unfilled]
    return problems


def write_timings(timings: dict[str, tuple[float, float | None]], readme: Path = README) -> None:
    """Put the labs' full-mode wall times (rounded to 5 s) into README's timing table, keeping other rows."""
    text = readme.read_text()
    head, rest = text.split(TIMINGS_BEGIN, 1)
    table, tail = rest.split(TIMINGS_END, 1)
    rows = {}
    for line in table.strip().splitlines()[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows[cells[0]] = cells[1:]
    for name, (lab, solution) in timings.items():
        rows[name] = [f"{5 * round(lab / 5)}", "" if solution is None else f"{5 * round(solution / 5)}"]
    lines = ["| lab | student notebook, wall s | its solution after it, wall s |", "| --- | --- | --- |"]
    lines += [f"| {name} | {' | '.join(cells)} |" for name, cells in sorted(rows.items())]
    readme.write_text(head + TIMINGS_BEGIN + "\n" + "\n".join(lines) + "\n" + TIMINGS_END + tail)


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
    failures, table, written = [], [], set()
    timings: dict[str, tuple[float, float | None]] = {}
    for source in sources:
        for kind, nb in zip(("lab", "solution"), split(source)):
            target = out_dir / ("solutions" if kind == "solution" else "") / source.with_suffix(".ipynb").name
            target.parent.mkdir(parents=True, exist_ok=True)
            label = f"{source.stem} ({kind})"
            if args.no_run:
                nbformat.write(nb, target)
                continue
            if args.text_only:
                refused = carry_outputs(nb, target)
                if refused:
                    failures.append(refused)
                else:
                    failures += fill_citations(nb, label) + stale_quotes(nb, label)
                    nbformat.write(nb, target)
                    written.add(target.resolve())
                continue
            try:
                took = execute(nb, LABS / ("solutions" if kind == "solution" else ""), env)
            except Exception as err:  # a cell error: report it and go on with the other labs
                last = (str(err).strip().splitlines() or [repr(err)])[-1]  # some errors have no message
                failures.append(f"{label}: {type(err).__name__}: {last[:300]}")
                print(f"ERROR {label}", flush=True)
                continue
            sanitise(nb)
            failures += fill_citations(nb, label) + stale_quotes(nb, label)
            nbformat.write(nb, target)
            written.add(target.resolve())
            lines = verdicts(nb)
            bad = [v for v in lines if v.startswith("FAIL") or (kind == "solution" and v.startswith("TODO"))]
            if bad and not args.fast:
                failures += [f"{label}: {v}" for v in bad]
            if not args.fast:
                if kind == "lab" and took > BUDGET_S:
                    failures.append(f"{label}: took {took:.0f} s in full mode, over the budget of {BUDGET_S} s")
                if kind == "lab":
                    timings[source.stem] = (took, None)
                elif source.stem in timings:  # a solution's time is only shown beside its lab's
                    timings[source.stem] = (timings[source.stem][0], took)
            table.append((label, took, len([v for v in lines if v.startswith("PASS")]), len(lines)))
            print(f"{'ok  ' if not bad or args.fast else 'FAIL'} {label}: {took:.0f} s, "
                  f"{table[-1][2]}/{len(lines)} checks pass", flush=True)  # fmt: skip
    if timings:
        write_timings(timings)
    failures += [f"committed notebook {p}" for p in check_committed(written)]
    if table:
        print("\n| notebook | wall s | checks passed |\n| --- | --- | --- |")
        for label, took, passed, total in table:
            print(f"| {label} | {took:.0f} | {passed}/{total} |")
    for failure in failures:
        print(f"failed: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
