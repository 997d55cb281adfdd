"""Choosing each optimizer's setting from its trials, and the figures that rank them.

Everything here reads validation figures only (``EpochRecord.validation_*``): the
test set never influences a choice.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from ..errors import ConfigError
from ..train import EpochRecord

__all__ = [
    "SELECT",
    "TOLERANCE",
    "epochs_to_target",
    "profile",
    "profile_score",
    "select",
    "tuneability",
]

#: The selection criteria (``--select``), read at the last epoch.
SELECT = ("val_loss", "val_accuracy")
#: Points of accuracy within which a trial counts as good as the best (tuneability;
#: the default target is the best optimizer's final validation accuracy less this).
TOLERANCE = 0.005


def epochs_to_target(epochs: Sequence[EpochRecord], target: float) -> float:
    """The first epoch whose validation accuracy reaches ``target`` (a fraction);
    ``inf`` if none does."""
    for record in epochs:
        if record.validation_accuracy >= target:  # nan compares False
            return float(record.epoch)
    return math.inf


def _badness(epochs: Sequence[EpochRecord], criterion: str, complete: int) -> float:
    """What ``select`` minimizes for one trial: ``inf`` for a trial that stopped early
    (diverged) or whose figure is not finite."""
    if len(epochs) < complete:
        return math.inf
    last = epochs[-1]
    value = last.validation_loss if criterion == "val_loss" else -last.validation_accuracy
    return value if math.isfinite(value) else math.inf


def select(
    trials: Sequence[Sequence[EpochRecord]],
    criterion: str = "val_loss",
    target: float | None = None,
    *,
    epochs: int,
) -> int:
    """The index of the best of one optimizer's ``trials`` (each its epoch records).

    By ``criterion`` at epoch ``epochs`` (the last): the lowest validation loss, or the
    highest validation accuracy. With a ``target``, the fewest epochs to reach it
    (:func:`epochs_to_target`), ties — and the case where no trial reaches it — broken
    by ``criterion``. A trial that diverged (fewer than ``epochs`` records) or whose
    figure is not finite is never better than one that did not; among equals the
    earlier trial wins.

    Raises
    ------
    ConfigError
        An unknown criterion, or no trials.
    """
    if criterion not in SELECT:
        raise ConfigError(f"select must be one of {', '.join(SELECT)}, not {criterion!r}")
    if not trials:
        raise ConfigError("there are no trials to select from")

    def key(i: int) -> tuple[float, float]:
        reach = epochs_to_target(trials[i], target) if target is not None else 0.0
        return reach, _badness(trials[i], criterion, epochs)

    return min(range(len(trials)), key=key)


def tuneability(final_accuracies: Sequence[float]) -> float:
    """The share of an optimizer's trials whose final validation accuracy is within
    :data:`TOLERANCE` of its best trial's (a trial without one counts as missing it);
    ``nan`` with no finite accuracy at all."""
    values = np.array([a if math.isfinite(a) else -math.inf for a in final_accuracies])
    if not len(values) or not np.isfinite(values).any():
        return math.nan
    return float(np.mean(values >= values.max() - TOLERANCE))


def profile(
    times: Mapping[str, Mapping[str, float]], taus: Sequence[float]
) -> dict[str, list[float]]:
    """The performance profile: per optimizer, ρ(τ) for each τ of ``taus``.

    ``times[problem][optimizer]`` is a time to target (``inf``: never reached). On
    each problem an optimizer's ratio is its time over the best optimizer's there;
    ρ(τ) is the share of problems where that ratio is at most τ (AlgoPerf, after
    Dolan & Moré 2002). A problem no optimizer solves counts against all of them.
    """
    names = sorted({name for row in times.values() for name in row})
    ratios = {name: [] for name in names}
    for row in times.values():
        best = min(row.values(), default=math.inf)
        for name in names:
            t = row.get(name, math.inf)
            ratios[name].append(t / best if math.isfinite(t) and best > 0 else math.inf)
    problems = max(1, len(times))
    return {
        name: [sum(r <= tau for r in ratios[name]) / problems for tau in taus] for name in names
    }


def profile_score(rho: Sequence[float], taus: Sequence[float]) -> float:
    """``∫ ρ(τ) dτ / (τ_max - 1)`` over ``taus`` (from 1; trapezoids): 1 for an
    optimizer that is the fastest everywhere, 0 for one that never reaches a target
    within ``τ_max`` times the best."""
    tau, rho = np.asarray(taus, dtype=float), np.asarray(rho, dtype=float)
    return float(np.sum((rho[1:] + rho[:-1]) / 2 * np.diff(tau)) / (tau[-1] - tau[0]))
