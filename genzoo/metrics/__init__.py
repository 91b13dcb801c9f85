"""Evaluation shared by every model: reconstruction, sample quality (FID, KID, precision/recall),
mode coverage and linear probes, each result with a protocol card (see docs/metrics.md).

Modules: ``features`` (extractor interface and registry), ``reconstruction``, ``sample_quality``,
``precision_recall``, ``coverage``, ``probe``, ``protocol`` and ``evaluation`` (all of them on one
checkpoint, used by ``genzoo eval`` and ``genzoo bench``).
"""

from typing import Literal

# Named here, in a module that imports nothing, so that `genzoo eval --help` can list them at once.
MetricGroup = Literal["reconstruction", "sample_quality", "coverage", "probe"]
METRIC_GROUPS: tuple[MetricGroup, ...] = ("reconstruction", "sample_quality", "coverage", "probe")
