"""The verdict's statistics, each against numbers computed here by hand (or by brute
force), not by the function under test: a wrong ddof, a missing Holm adjustment, a
wrong combinatorial weight or a flat bootstrap fails one of these."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats

from optimlab.benchmark import statistics


def test_the_std_is_the_sample_std():
    # sum of squares about the mean 2.5: 2.25 + 0.25 + 0.25 + 2.25 = 5, over n - 1 = 3
    assert statistics.sample_std([1.0, 2.0, 3.0, 4.0]) == pytest.approx(math.sqrt(5 / 3))
    assert statistics.sample_std([1.0, 2.0, 3.0, 4.0]) == pytest.approx(1.2909944487358056)
    assert math.isnan(statistics.sample_std([1.0]))


def test_holm_by_hand():
    # sorted: 0.005 (x4 = 0.02), 0.01 (x3 = 0.03), 0.03 (x2 = 0.06), 0.04 (x1 = 0.04 -> 0.06)
    assert statistics.holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    # 0.5 x2 = 1 (capped); 0.9 x1 = 0.9, raised to the 1 before it (step-down is monotone)
    assert statistics.holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])


def _welch_by_hand(a, b):
    """Welch's two-sided p: t and the Welch–Satterthwaite degrees of freedom written out."""
    a, b = np.asarray(a), np.asarray(b)
    va, vb = np.sum((a - a.mean()) ** 2) / (len(a) - 1), np.sum((b - b.mean()) ** 2) / (len(b) - 1)
    sa, sb = va / len(a), vb / len(b)
    t = (a.mean() - b.mean()) / math.sqrt(sa + sb)
    df = (sa + sb) ** 2 / (sa**2 / (len(a) - 1) + sb**2 / (len(b) - 1))
    return 2 * stats.t.sf(abs(t), df)


def test_welch_against_the_best_holm_adjusted_by_hand():
    best = [0.950, 0.960, 0.970, 0.955]
    close = [0.948, 0.958, 0.952, 0.962, 0.945]  # within the best's noise
    far = [0.90, 0.91, 0.905]
    raw_close, raw_far = _welch_by_hand(close, best), _welch_by_hand(far, best)
    assert raw_far < raw_close  # so Holm multiplies the far row's p by 2, the close one's by 1
    expected_far = min(1.0, 2 * raw_far)
    expected_close = max(expected_far, min(1.0, raw_close))
    p = statistics.p_vs_best([best, close, far], 0)
    assert p[0] is None
    assert p[1] == pytest.approx(expected_close) and p[2] == pytest.approx(expected_far)
    assert p[1] >= statistics.ALPHA > p[2]
    # a row with one value, or no spread on either side, cannot be tested and is not counted
    p = statistics.p_vs_best([best, [0.9], far], 0)
    assert p[1] is None and p[2] == pytest.approx(raw_far)  # m = 1: no adjustment


def _brute_expected_max(values, k):
    return np.mean([max(c) for c in itertools.combinations(values, k)])


def test_expected_best_after_k_trials_is_the_mean_best_of_every_k_subset():
    values = [0.3, 0.9, 0.1, 0.5, 0.7, 0.5]
    curve = statistics.expected_best([values])
    assert len(curve) == len(values)
    for k, got in enumerate(curve, start=1):
        assert got == pytest.approx(_brute_expected_max(values, k))
    assert curve[0] == pytest.approx(np.mean(values)) and curve[-1] == pytest.approx(0.9)
    lowest = statistics.expected_best([values], lowest=True)
    for k, got in enumerate(lowest, start=1):
        assert got == pytest.approx(np.mean([min(c) for c in itertools.combinations(values, k)]))
    # averaged over studies
    other = [0.2, 0.4, 0.6, 0.8, 0.1, 0.3]
    both = statistics.expected_best([values, other])
    for k, got in enumerate(both, start=1):
        expected = (_brute_expected_max(values, k) + _brute_expected_max(other, k)) / 2
        assert got == pytest.approx(expected)


def test_the_bootstrap_interval_holds_the_mean_and_repeats_with_its_seed():
    # twelve seeds: resampled means take enough values that an unseeded rerun differs
    seeds = list(0.95 + 0.01 * np.random.default_rng(3).standard_normal(12))
    lo, hi = statistics.bootstrap_ci([seeds])
    assert lo < np.mean(seeds) < hi and min(seeds) <= lo and hi <= max(seeds)
    assert statistics.bootstrap_ci([seeds]) == (lo, hi)
    assert statistics.bootstrap_ci([seeds], seed=1) != (lo, hi)
    assert statistics.RESAMPLES == 2000


def test_the_bootstrap_resamples_studies_before_seeds():
    """Two studies that disagree entirely: drawing studies first, half the resamples
    hold one study twice, so the interval spans both; a flat bootstrap over the six
    seeds would give a narrow one around 5."""
    lo, hi = statistics.bootstrap_ci([[0.0, 0.0, 0.0], [10.0, 10.0, 10.0]])
    assert (lo, hi) == (0.0, 10.0)


def test_the_rank_interval():
    a, b, c = [0.95, 0.951, 0.949], [0.9, 0.91, 0.905], [0.952, 0.93, 0.96]
    ranks = statistics.bootstrap_rank_ci([[a], [b], [c]], lambda m: -m, [False] * 3)
    assert ranks[1] == (3.0, 3.0)  # always last
    assert ranks[0] == (1.0, 2.0) and ranks[2] == (1.0, 2.0)
    # a diverged row ranks last whatever its mean
    ranks = statistics.bootstrap_rank_ci([[a], [b]], lambda m: -m, [True, False])
    assert ranks == [(2.0, 2.0), (1.0, 1.0)]
