"""Reports of a benchmark: CSV, JSON and a Markdown table (mean +- std over seeds), then the plots.

Everything here is computed from the records on disk, so reports can be rewritten at any time
(``genzoo bench ... --report-only``) and always agree with the records.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

from genzoo.atomic import write_json_atomic, write_text_atomic
from genzoo.bench.plots import plot_curves, plot_metric_bars, plot_sample_grids
from genzoo.bench.records import COLUMNS, headline, summarise
from genzoo.bench.spec import recipe_patterns

if TYPE_CHECKING:
    from genzoo.bench.run import Benchmark


def format_cell(stat: tuple[float, float] | None, fmt: str, scale: float, n: int) -> str:
    if stat is None:
        return "-"
    mean, std = stat[0] * scale, stat[1] * scale
    return fmt.format(mean) if n < 2 else f"{fmt.format(mean)} +- {fmt.format(std)}"


def markdown_table(summary: dict[str, dict[str, Any]]) -> str:
    """Models as rows, headline metrics as columns, mean +- std over seeds."""
    headers = ["model", "seeds", *[header for _, header, _, _ in COLUMNS]]
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    for model, stats in summary.items():
        n = len(stats["seeds"])
        cells = [format_cell(stats[col], fmt, scale, n) for col, _, fmt, scale in COLUMNS]
        lines.append("| " + " | ".join([model, str(n), *cells]) + " |")
    return "\n".join(lines) + "\n"


def flags(values: dict[str, Any]) -> str:
    return ", ".join(f"`{k}={v}`" for k, v in values.items()) or "-"


def extractor_why(card: dict[str, Any]) -> str:
    """The reason an extractor stood in for another, after "; " (nothing for the usual choices)."""
    why = card.get("chosen", "")
    return f"; {why}" if "unavailable" in why else ""


def protocol_lines(bench: Benchmark, records: list[dict[str, Any]]) -> list[str]:
    """The benchmark's protocol card as Markdown bullet points."""
    spec = bench.spec
    card = records[0]["eval"]["protocol"] if records else {}
    extractors = ", ".join(
        f"{e.get('name', '')} ({e['unavailable']})".lstrip()
        if "unavailable" in e
        else f"{e['name']} (sha256 {e['sha256'][:16]}, {e['num_features']}-d{extractor_why(e)})"
        for e in card.get("extractors", [])
    )
    budget = ", ".join(
        part
        for part in (
            f"{spec.max_epochs} epochs" if spec.max_epochs is not None else "",
            f"{spec.max_time_s} s wall clock" if spec.max_time_s is not None else "",
        )
        if part
    )
    versions = card.get("versions", {})
    kid = card.get("kid", {"subsets": spec.eval.kid_subsets, "subset_size": spec.eval.kid_subset_size})
    return [
        f"- data: `{spec.data}`; models: {', '.join(bench.models)}; seeds: {', '.join(map(str, spec.seeds))}",
        f"- budget per (model, seed): {budget or 'the trainer defaults'}, whichever comes first;"
        f" trainer flags: {flags(spec.trainer_args)}; model flags: {flags(spec.model_args)};"
        f" recipes: {' or '.join(f'`{r}`' for r in recipe_patterns(spec)) or '`-`'} where present",
        f"- samples: {spec.eval.num_samples} per model against the `{spec.eval.split}` split"
        f" ({card.get('reference_size', '?')} images); seed {spec.eval.seed};"
        f" KID {kid['subsets']} subsets of {kid['subset_size']}; precision/recall k={spec.eval.pr_k};"
        f" probe on {card.get('probe_train_size', '?')} training codes",
        f"- feature extractor: {extractors or '-'}",
        f"- device: {card.get('device', '?')}, {card.get('torch_threads', '?')} threads; "
        + ", ".join(f"{k} {v}" for k, v in versions.items()),
    ]


def csv_text(rows: list[dict[str, Any]]) -> str:
    columns = list(dict.fromkeys(k for row in rows for k in row))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns)
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def summary_json(stats: dict[str, Any]) -> dict[str, Any]:
    return {k: ({"mean": v[0], "std": v[1]} if isinstance(v, tuple) else v) for k, v in stats.items() if v is not None}


def write_reports(bench: Benchmark) -> dict[str, Path]:
    """results.csv, results.json, table.md and plots/ from the records on disk; returns their paths."""
    records = bench.records()
    rows = [headline(r) for r in records]
    summary = summarise(rows, bench.models)
    out = bench.out
    paths = {"csv": out / "results.csv", "json": out / "results.json", "table": out / "table.md"}
    write_text_atomic(csv_text(rows) if rows else "", paths["csv"])
    missing = [f"{m}/seed{s}" for m in bench.models for s in bench.spec.seeds if not bench.record_path(m, s).is_file()]
    write_json_atomic(
        {
            "protocol": bench.spec.protocol() | {"models": bench.models, "seeds": bench.spec.seeds},
            "summary": {m: summary_json(s) for m, s in summary.items()},
            "missing": missing,
            "runs": rows,
            "records": records,
        },
        paths["json"],
    )
    table = markdown_table(summary)
    text = "\n".join(
        [
            f"# Benchmark: {bench.spec.data}",
            "",
            table,
            *(["", f"Missing runs (failed or not yet run): {', '.join(missing)}"] if missing else []),
            "",
            "## Protocol",
            "",
            *protocol_lines(bench, records),
            "",
        ]
    )
    write_text_atomic(text, paths["table"])
    if records:
        paths["metrics_png"] = plot_metric_bars(summary, out / "plots" / "metrics.png")
        paths["samples_png"] = plot_sample_grids(bench, out / "plots" / "samples.png")
        paths["curves_png"] = plot_curves(bench, out / "plots" / "curves.png")
    return paths
