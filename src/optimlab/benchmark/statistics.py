"""The verdict's statistics: spread, intervals, tests against the best, and the
expected best validation score after k tuning trials.

Definitions (docs/benchmark.md, "Statistics"; /work/shared/DESIGN.md):

- **std**: the sample standard deviation (``ddof = 1``); ``nan`` below two values.
- **Hierarchical bootstrap**: :data:`RESAMPLES` resamples, seeded (:data:`SEED`);
  each draws the studies with replacement, then the final seeds within each drawn
  study with replacement; the 2.5 and 97.5 percentiles of the statistic over the
  resamples are its 95% interval. With one study it is a bootstrap over seeds.
- **p_vs_best**: Welch's t-test (``scipy.stats.ttest_ind(equal_var=False)``) of a
  row's final test figures against the best row's, Holm-adjusted over the rows
  tested: with the raw p-values sorted ``p(1) <= ... <= p(m)``,
  ``p~(j) = max_{i<=j} min(1, (m - i + 1) p(i))``.
- **Expected best after k trials** (Sivaprasad et al. 2020): with a study's n trial
  scores sorted ascending, ``E[max of k] = sum_{i=k..n} v(i) C(i-1, k-1) / C(n, k)``
  for k draws without replacement; averaged over studies.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

__all__ = [
    "ALPHA",
    "RESAMPLES",
    "SEED",
    "bootstrap_ci",
    "bootstrap_rank_ci",
    "expected_best",
    "holm",
    "p_vs_best",
    "sample_std",
]

#: Bootstrap resamples per interval.
RESAMPLES = 2000
#: The bootstrap's seed: the same figures give the same intervals.
SEED = 0
#: A row whose Holm-adjusted p against the best is at least this is tied with it.
ALPHA = 0.05

Studies = Sequence[Sequence[float]]


def sample_std(values: Sequence[float]) -> float:
    """The sample standard deviation (``ddof = 1``); ``nan`` below two values."""
    return float(np.std(values, ddof=1)) if len(values) > 1 else math.nan


def _resample(studies: Studies, rng: np.random.Generator) -> np.ndarray:
    """One hierarchical resample: studies with replacement, then seeds within each."""
    groups = [np.asarray(s, dtype=float) for s in studies if len(s)]
    drawn = rng.integers(0, len(groups), len(groups))
    return np.concatenate([rng.choice(groups[i], len(groups[i])) for i in drawn])


def bootstrap_ci(
    studies: Studies,
    statistic: Callable[[np.ndarray], float] = np.mean,
    *,
    resamples: int = RESAMPLES,
    seed: int = SEED,
) -> tuple[float, float]:
    """The 95% hierarchical-bootstrap interval of ``statistic`` of the values of
    ``studies`` (one sequence of final-seed figures per study); ``(nan, nan)`` without
    a value."""
    if not any(len(s) for s in studies):
        return math.nan, math.nan
    rng = np.random.default_rng(seed)
    values = [statistic(_resample(studies, rng)) for _ in range(resamples)]
    lo, hi = np.percentile(values, [2.5, 97.5])
    return float(lo), float(hi)


def bootstrap_rank_ci(
    rows: Sequence[Studies],
    key: Callable[[float], float],
    last: Sequence[bool],
    *,
    resamples: int = RESAMPLES,
    seed: int = SEED,
) -> list[tuple[float, float]]:
    """Each row's 95% bootstrap interval of its rank (1 the best): every resample
    draws every row's mean (:func:`bootstrap_ci`'s scheme) and ranks the rows by
    ``(last[i], key(mean))`` ascending (``last``: ranked behind all others, as a row
    with a diverged seed; a row without values ranks behind those with one)."""
    rng = np.random.default_rng(seed)
    ranks = np.empty((resamples, len(rows)))
    for r in range(resamples):
        means = [np.mean(_resample(s, rng)) if any(len(g) for g in s) else math.nan for s in rows]
        order = sorted(
            range(len(rows)),
            key=lambda i: (last[i], not math.isfinite(means[i]), key(means[i])),
        )
        ranks[r, order] = np.arange(1, len(rows) + 1)
    lo, hi = np.percentile(ranks, [2.5, 97.5], axis=0)
    return [(float(a), float(b)) for a, b in zip(lo, hi)]


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjustment of ``p_values`` (in their order)."""
    m = len(p_values)
    order = np.argsort(p_values, kind="stable")
    adjusted = np.empty(m)
    running = 0.0
    for j, i in enumerate(order):
        running = max(running, min(1.0, (m - j) * p_values[i]))
        adjusted[i] = running
    return [float(p) for p in adjusted]


def p_vs_best(samples: Sequence[Sequence[float]], best: int) -> list[float | None]:
    """Per row, the Holm-adjusted p-value of Welch's t-test of its ``samples`` against
    row ``best``'s; None for the best, and for a row the test cannot tell (fewer than
    two values on either side, or no spread on both), which the adjustment leaves out."""
    from scipy import stats  # here: importing it takes a second, which every command paid

    raw: dict[int, float] = {}
    for i, values in enumerate(samples):
        if i == best or len(values) < 2 or len(samples[best]) < 2:
            continue
        if np.ptp(values) == 0 and np.ptp(samples[best]) == 0:  # t is 0/0
            continue
        p = stats.ttest_ind(values, samples[best], equal_var=False).pvalue
        if math.isfinite(p):
            raw[i] = float(p)
    adjusted = dict(zip(raw, holm(list(raw.values()))))
    return [adjusted.get(i) for i in range(len(samples))]


def expected_best(studies: Studies, *, lowest: bool = False) -> list[float]:
    """The expected best of k trials drawn without replacement from one study's trial
    scores, for k = 1 … the fewest trials of a study, averaged over ``studies``;
    ``lowest``: the expected minimum (a loss)."""
    n = min((len(s) for s in studies), default=0)
    curves = []
    for scores in studies:
        v = np.sort(np.asarray(scores, dtype=float) * (-1.0 if lowest else 1.0))
        curves.append([_expected_max(v, k) for k in range(1, n + 1)])
    if not curves or not n:
        return []
    mean = np.mean(curves, axis=0)
    return [float(-x if lowest else x) for x in mean]


def _expected_max(v: np.ndarray, k: int) -> float:
    """``sum_{i=k..n} v(i) C(i-1, k-1) / C(n, k)`` of the ascending scores ``v``."""
    n = len(v)
    ways = math.comb(n, k)
    return float(sum(v[i - 1] * (math.comb(i - 1, k - 1) / ways) for i in range(k, n + 1)))
