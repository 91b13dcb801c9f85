"""Plots of a benchmark: metric bars with seed error bars, one sample grid per model, training curves."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from genzoo.atomic import atomic_path
from genzoo.bench.records import BAR_METRICS, COLUMNS
from genzoo.runs import read_metrics_csv

if TYPE_CHECKING:
    from genzoo.bench.run import Benchmark


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
