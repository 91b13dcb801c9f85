"""Comparison benchmarks: several models, one dataset, one budget, several seeds, one table.

For each (model, seed) the benchmark

1. trains through ``genzoo fit`` itself (a subprocess running ``genzoo.cli``), so the numbers are the
   ones a user gets, under the same budget: a number of epochs and/or a wall-clock limit per run
   (Lightning's ``max_time``), into ``<out>/runs/<model>/seed<seed>/``;
2. reads training speed from the run's metrics.csv (``throughput/*``, logged by EpochThroughput)
   and the fit's wall time;
3. evaluates the last checkpoint with ``genzoo.metrics.evaluation.Evaluator`` (one for the whole
   benchmark, so reference features are computed once);
4. writes ``<out>/records/<model>-seed<seed>.json`` atomically.

A record on disk means that pair is done: rerunning the same command resumes a half-finished benchmark
(a run whose training finished but whose evaluation did not is only evaluated). Changing the budget or
the evaluation settings for an existing results folder is refused, so a table never mixes protocols.
At the end, and from whatever records exist, it writes ``results.csv`` (one row per run),
``results.json`` (records, summary, protocol card), ``table.md`` (mean +- std over seeds) and plots:
``plots/metrics.png``, ``plots/samples.png``, ``plots/curves.png``.
"""

from genzoo.bench.run import Benchmark
from genzoo.bench.spec import BenchSpec

__all__ = ["Benchmark", "BenchSpec"]
