"""Evaluation shared by every model: reconstruction, sample quality (FID, KID, precision/recall),
mode coverage and linear probes, each result with a protocol card (see docs/metrics.md).

Modules: ``features`` (extractor interface and registry), ``reconstruction``, ``sample_quality``,
``precision_recall``, ``coverage``, ``probe``, ``protocol`` and ``evaluation`` (all of them on one
checkpoint, used by ``genzoo eval`` and ``genzoo bench``).
"""
