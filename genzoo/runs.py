"""Run folders: what a training run leaves on disk, read back by bench, eval and edit."""

from __future__ import annotations

import csv
from pathlib import Path


def read_metrics_csv(path: Path) -> list[dict[str, float]]:
    """Rows of a CSVLogger metrics.csv, empty cells dropped, values as floats."""
    if not path.is_file():
        return []
    with open(path, newline="") as f:
        return [{k: float(v) for k, v in row.items() if v not in ("", None)} for row in csv.DictReader(f)]
