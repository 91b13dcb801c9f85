"""The numbers of a benchmark record: the headline columns of one run, and mean +- std over seeds."""

from __future__ import annotations

import math
from typing import Any

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
