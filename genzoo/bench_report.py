"""Reports of a benchmark: CSV, JSON, a Markdown table (mean +- std over seeds) and plots.

Everything here is computed from the records on disk, so reports can be rewritten at any time
(``genzoo bench ... --report-only``) and always agree with the records.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from genzoo.atomic import atomic_path, write_json_atomic, write_text_atomic
from genzoo.runs import read_metrics_csv

if TYPE_CHECKING:
    from genzoo.bench import Benchmark

# (column, Markdown header, format, scale): the headline numbers of one run, in table order.
COLUMNS: list[tuple[str, str, str, float]] = [
    ("images_per_s", "train img/s", "{:.0f}", 1.0),
    ("fit_wall_s", "fit wall s", "{:.0f}", 1.0),
    ("images_seen", "k train images", "{:.1f}", 1e-3),
    ("recon_mse", "recon MSE", "{:.4f}", 1.0),
    ("psnr", "PSNR dB", "{:.2f}", 1.0),
    ("ssim", "SSIM", "{:.3f}", 1.0),
    ("fid", "FID", "{:.2f}", 1.0),
    ("kid", "KID", "{:.2f}", 1.0),
    ("precision", "precision", "{:.3f}", 1.0),
    ("recall", "recall", "{:.3f}", 1.0),
    ("class_entropy", "class entropy", "{:.3f}", 1.0),
    ("confidence", "confidence", "{:.3f}", 1.0),
    ("probe_accuracy", "probe acc", "{:.3f}", 1.0),
]
# Plotted as bars, with whether lower is better (said in the subplot's title).
BAR_METRICS = [
    ("fid", True), ("kid", True), ("precision", False), ("recall", False), ("class_entropy", False),
    ("probe_accuracy", False), ("recon_mse", True), ("ssim", False), ("images_per_s", False),
]  # fmt: skip


def mean_std(values: list[float]) -> tuple[float, float] | None:
    """Mean and sample standard deviation (0 for a single value); None for no values."""
    values = [v for v in values if v is not None and math.isfinite(v)]
    if not values:
        return None
    mean = sum(values) / len(values)
    var = sum((v - mean) ** 2 for v in values) / (len(values) - 1) if len(values) > 1 else 0.0
    return mean, math.sqrt(var)


def first_quality(result: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    """(extractor name, numbers) of the first extractor that produced sample-quality numbers."""
    for name, numbers in (result.get("sample_quality") or {}).items():
        if "fid" in numbers:
            return name, numbers
    return None, {}


def headline(record: dict[str, Any]) -> dict[str, Any]:
    """One flat row of a run: training speed and time, then the quality numbers (None where absent)."""
    train, result = record["train"], record["eval"]
    recon = result.get("reconstruction") or {}
    extractor, quality = first_quality(result)
    coverage = result.get("coverage") or {}
    probe = result.get("linear_probe") or {}
    row = {
        "model": record["model"],
        "seed": record["seed"],
        "images_per_s": train.get("images_per_s"),
        "fit_wall_s": train.get("fit_wall_s"),
        "epochs": train.get("epochs"),
        "images_seen": train.get("images_seen"),
        "recon_mse": recon.get("mse"),
        "psnr": recon.get("psnr"),
        "ssim": recon.get("ssim"),
        "fid": quality.get("fid"),
        "kid": quality.get("kid_mean"),
        "precision": quality.get("precision"),
        "recall": quality.get("recall"),
        "class_entropy": coverage.get("entropy"),
        "confidence": coverage.get("mean_confidence"),
        "probe_accuracy": probe.get("accuracy"),
        "extractor": extractor,
        "eval_s": (result.get("seconds") or {}).get("total"),
    }
    for name, numbers in (result.get("sample_quality") or {}).items():
        if name != extractor and "fid" in numbers:  # further extractors get their own columns
            row[f"fid_{name}"] = numbers["fid"]
    return row


def summarise(rows: list[dict[str, Any]], models: list[str]) -> dict[str, dict[str, Any]]:
    """Per model: {column: (mean, std) or None} over seeds, and the seeds that count."""
    summary: dict[str, dict[str, Any]] = {}
    for model in models:
        runs = [r for r in rows if r["model"] == model]
        if runs:
            stats = {col: mean_std([r.get(col) for r in runs]) for col, *_ in COLUMNS}
            summary[model] = {"seeds": [r["seed"] for r in runs], **stats}
    return summary


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


def protocol_lines(bench: Benchmark, records: list[dict[str, Any]]) -> list[str]:
    """The benchmark's protocol card as Markdown bullet points."""
    spec = bench.spec
    card = records[0]["eval"]["protocol"] if records else {}
    extractors = ", ".join(
        f"{e['name']} (sha256 {e['sha256'][:16]}, {e['num_features']}-d)" if "name" in e else f"({e['unavailable']})"
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
        f" recipes: `{spec.recipe or '-'}` where present",
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


# ----- plots ----------------------------------------------------------------------------------------
def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")  # files only: no display needed
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: Path) -> Path:
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=110, bbox_inches="tight")
    finally:
        _pyplot().close(fig)
    return path


def plot_metric_bars(summary: dict[str, dict[str, Any]], path: Path) -> Path:
    """One bar chart per headline metric: models side by side, error bars = std over seeds."""
    plt = _pyplot()
    metrics = [(m, low) for m, low in BAR_METRICS if any(s.get(m) for s in summary.values())]
    cols = min(3, len(metrics)) or 1
    rows = math.ceil(len(metrics) / cols) or 1
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.2 * rows), squeeze=False)
    headers = {col: header for col, header, _, _ in COLUMNS}
    for ax, (metric, lower_better) in zip(axes.flat, metrics):
        models = [m for m, s in summary.items() if s.get(metric)]
        means = [summary[m][metric][0] for m in models]
        stds = [summary[m][metric][1] for m in models]
        ax.bar(models, means, yerr=stds, capsize=3, color="tab:blue")
        ax.set_title(f"{headers[metric]} ({'lower' if lower_better else 'higher'} is better)", fontsize=10)
        ax.tick_params(axis="x", labelrotation=45, labelsize=8)
    for ax in list(axes.flat)[len(metrics) :]:
        ax.axis("off")
    fig.tight_layout()
    return _save(fig, path)


def first_record_run(bench: Benchmark, model: str) -> Path | None:
    """The run folder of the model's first seed that has a record."""
    for record in bench.records():
        if record["model"] == model:
            return bench.out / record["train"]["run_dir"]
    return None


def plot_sample_grids(bench: Benchmark, path: Path) -> Path:
    """The evaluation's sample grid of each model (first seed), side by side."""
    plt = _pyplot()
    grids = [(m, run / "samples.png") for m in bench.models if (run := first_record_run(bench, m))]
    grids = [(m, p) for m, p in grids if p.is_file()]
    fig, axes = plt.subplots(1, max(1, len(grids)), figsize=(3.0 * max(1, len(grids)), 3.3), squeeze=False)
    for ax, (model, png) in zip(axes.flat, grids):
        ax.imshow(plt.imread(png), cmap="gray")
        ax.set_title(model)
        ax.axis("off")
    fig.tight_layout()
    return _save(fig, path)


def plot_curves(bench: Benchmark, path: Path) -> Path:
    """Training losses against step, one panel per model (first seed), and every model's val MSE by epoch."""
    plt = _pyplot()
    runs = [(m, run) for m in bench.models if (run := first_record_run(bench, m))]
    cols = min(4, len(runs) + 1)
    rows = math.ceil((len(runs) + 1) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.0 * cols, 3.0 * rows), squeeze=False)
    val_ax = axes.flat[len(runs)]
    for ax, (model, run) in zip(axes.flat, runs):
        metrics = read_metrics_csv(run / "metrics.csv")
        names = sorted({k for r in metrics for k in r if k.startswith("train/")})
        for name in names:
            points = [(r["step"], r[name]) for r in metrics if name in r]
            # markers: a short run may have logged a loss only once or twice
            ax.plot(*zip(*points), label=name.removeprefix("train/"), linewidth=1, marker=".", markersize=4)
        ax.set_title(model, fontsize=10)
        ax.set_xlabel("step", fontsize=8)
        if names:
            ax.legend(fontsize=7)
        else:  # runs shorter than the model's logging interval log no training loss
            ax.text(0.5, 0.5, "no training losses logged", ha="center", va="center", transform=ax.transAxes)
        val = [(r["epoch"], r["val/recon_mse"]) for r in metrics if "val/recon_mse" in r]
        if val:
            val_ax.plot(*zip(*val), marker="o", label=model)
    val_ax.set_title("validation reconstruction MSE", fontsize=10)
    val_ax.set_xlabel("epoch", fontsize=8)
    if val_ax.get_legend_handles_labels()[0]:
        val_ax.legend(fontsize=7)
    for ax in list(axes.flat)[len(runs) + 1 :]:
        ax.axis("off")
    fig.tight_layout()
    return _save(fig, path)
