"""The lab build's truth checks (docs/labs/build.py) on small synthetic notebooks: no lab is executed.

A quote of a model file must still be the file's text, every ``{{name}}`` in the prose is filled from a
value a cell above printed with ``labkit.cite``, and the timing table is rewritten row by row.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")  # the genzoo[labs] extra

REPO = Path(__file__).resolve().parents[1]
LABS = REPO / "docs" / "labs"


def load(name: str):
    spec = importlib.util.spec_from_file_location(f"lab_{name}", LABS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


build = load("build")


def notebook(*cells: tuple[str, str]):
    """A notebook of (markdown source) and (code, printed text) cells: ("md", text) or ("out", text)."""
    nb = nbformat.v4.new_notebook()
    for kind, text in cells:
        if kind == "md":
            nb.cells.append(nbformat.v4.new_markdown_cell(text))
        else:
            cell = nbformat.v4.new_code_cell("pass")
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text)]
            nb.cells.append(cell)
    return nb


def test_a_quote_printed_by_labkit_matches_the_file(capsys):
    labkit = load("labkit")
    import genzoo.models.ae as ae

    labkit.source(ae.AE.training_step)
    labkit.source(ae)  # a whole module: its lines start at 1
    printed = capsys.readouterr().out
    assert printed.startswith("# from genzoo/models/ae.py, lines ")
    assert build.stale_quotes(notebook(("out", printed)), "lab") == []


def test_a_changed_line_fails_naming_the_file_and_the_line(tmp_path):
    (tmp_path / "m.py").write_text("def f():\n    return 1\n")
    same = notebook(("out", "# from m.py, lines 1-2\ndef f():\n    return 1\nprinted after the quote\n"))
    assert build.stale_quotes(same, "lab", root=tmp_path) == []
    (tmp_path / "m.py").write_text("def f():\n    return 2\n")
    [problem] = build.stale_quotes(same, "lab 01", root=tmp_path)
    assert "lab 01" in problem and "m.py" in problem and "line 2 differs" in problem and "return 2" in problem
    (tmp_path / "m.py").unlink()
    assert "gone" in build.stale_quotes(same, "lab", root=tmp_path)[0]


def test_a_quote_without_line_numbers_asks_for_a_rebuild():
    old = "# from genzoo/models/ae.py\nclass AE:\n# from genzoo/losses.py\ndef f():\n"
    [problem] = build.stale_quotes(notebook(("out", old)), "lab 02")  # one line for the notebook
    assert "lab 02" in problem and "rebuild" in problem


def test_citations_fill_the_prose_below_them():
    nb = notebook(
        ("md", "before: {{late}}"),
        ("out", "some output\n(cited as {{p_real}}: 0.76)\n(cited as {{late}}: 3)\n"),
        ("md", "real digits score {{p_real}}; unknown {{nowhere}}"),
    )
    problems = build.fill_citations(nb, "lab 01")
    assert nb.cells[2].source == "real digits score 0.76; unknown {{nowhere}}"
    assert len(problems) == 2 and all("lab 01" in p for p in problems)
    assert any("{{late}}" in p for p in problems) and any("{{nowhere}}" in p for p in problems)


def test_cite_prints_what_the_build_reads(capsys):
    labkit = load("labkit")
    assert labkit.cite("share", 0.7612, "{:.0%}") == 0.7612
    nb = notebook(("out", capsys.readouterr().out), ("md", "{{share}} of them"))
    assert build.fill_citations(nb, "lab") == []
    assert nb.cells[1].source == "76% of them"


def test_the_timing_table_is_rewritten_row_by_row(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{build.TIMINGS_BEGIN}\n| lab | s | s |\n| --- | --- | --- |\n"
                      f"| 01_a | 50 | 10 |\n| 02_b | 60 | 15 |\n{build.TIMINGS_END}\nafter\n")  # fmt: skip
    build.write_timings({"02_b": (123.4, 11.0), "03_c": (31.0, None)}, readme)
    text = readme.read_text()
    assert "| 01_a | 50 | 10 |" in text and "| 02_b | 125 | 10 |" in text and "| 03_c | 30 |  |" in text
    assert text.startswith("intro\n") and text.endswith(f"{build.TIMINGS_END}\nafter\n")


def test_a_quote_split_over_two_stream_outputs_is_read_whole(tmp_path):
    (tmp_path / "m.py").write_text("def f():\n    return 1\n")
    nb = notebook(("out", "# from m.py, lines 1-2\n"))
    nb.cells[0].outputs.append(nbformat.v4.new_output("stream", name="stdout", text="def f():\n    return 1\n"))
    assert build.stale_quotes(nb, "lab", root=tmp_path) == []
