"""``optimlab benchmark``: which optimizer, tuned with equal effort, is best — and how
sensitive is it?

One concept per module:

* :mod:`.spaces` — each optimizer's search space, and the grid or quasi-random trials;
* :mod:`.selection` — choosing a setting from validation figures only, epochs to a
  target, the plateau, the performance profile;
* :mod:`.statistics` — sample std, bootstrap intervals, Welch's test against the best
  (Holm-adjusted), the expected best after k trials;
* :mod:`.plan` — :class:`Benchmark`, what is asked, and :class:`Outcome`, what came out;
* :mod:`.protocol` — :func:`run_benchmark`: tuning on a validation split, selection,
  final runs with fresh seeds (each an experiment, resumable and runnable on worker
  processes or Dask);
* :mod:`.report` — the table, results.json/.csv, report.md and the figures (drawn by
  :mod:`optimlab.figures.benchmark`).
"""

from .plan import PROBLEMS, Benchmark, Outcome
from .protocol import run_benchmark
from .report import Row, format_table, rows

__all__ = ["PROBLEMS", "Benchmark", "Outcome", "Row", "format_table", "rows", "run_benchmark"]
