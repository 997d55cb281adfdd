"""Choosing each optimizer's setting from its trials, and the figures that rank them.

Everything here reads validation figures only (``EpochRecord.validation_*``): the
test set never influences a choice. A loss-only problem (a noisy function, every
accuracy nan) is selected by validation loss, and its plateau and target are
those of the loss (:data:`LOSS_TOLERANCE`).

The plateau (:func:`plateau`) is not Sivaprasad et al.'s tuneability, which is the
expected best after k trials (:func:`optimlab.benchmark.statistics.expected_best`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from ..errors import ConfigError
from ..experiment.summary import has_accuracy
from ..train import EpochRecord

__all__ = [
    "LOSS_TOLERANCE",
    "SELECT",
    "TOLERANCE",
    "check_loss_only",
    "epochs_to_target",
    "first_reach",
    "loss_plateau",
    "loss_target",
    "plateau",
    "profile",
    "profile_score",
    "select",
    "time_to_target",
]

#: The selection criteria (``--select``), read at the last epoch.
SELECT = ("val_loss", "val_accuracy")
#: Points of accuracy within which a trial counts as good as the best (plateau;
#: the default target is the best optimizer's final validation accuracy less this).
TOLERANCE = 0.005
#: For a loss-only problem: the share of the best final validation loss's absolute
#: value within which a trial counts as good as the best (plateau), and by which
#: the default target exceeds the best optimizer's final validation loss.
LOSS_TOLERANCE = 0.10


def check_loss_only(problems: Sequence[str], select: str, target: float | None) -> None:
    """Refuse selecting by validation accuracy, or a target accuracy, when one of
    ``problems`` has no accuracy (a noisy function).

    Raises
    ------
    ConfigError
        Naming the first such problem.
    """
    if select != "val_accuracy" and target is None:
        return
    for problem in problems:
        if not has_accuracy(problem):
            raise ConfigError(f"{problem} has no accuracy: select by val_loss, without --target")


def first_reach(epochs: Sequence[EpochRecord], target: float, *, loss: bool = False) -> int | None:
    """The index in ``epochs`` of the first evaluation whose validation accuracy reaches
    ``target`` (a fraction), or with ``loss`` whose validation loss is at most
    ``target``; None if none does."""
    for i, record in enumerate(epochs):
        reached = record.validation_loss <= target if loss else record.validation_accuracy >= target
        if reached:  # nan compares False
            return i
    return None


def epochs_to_target(epochs: Sequence[EpochRecord], target: float, *, loss: bool = False) -> float:
    """The first epoch whose validation figure reaches ``target`` (:func:`first_reach`);
    ``inf`` if none does."""
    i = first_reach(epochs, target, loss=loss)
    return math.inf if i is None else float(epochs[i].epoch)


def time_to_target(
    epochs: Sequence[EpochRecord], target: float, steps_per_epoch: int, *, loss: bool = False
) -> tuple[float, float]:
    """``(steps, seconds)`` to the first evaluation that reaches ``target``
    (:func:`first_reach`): the optimizer steps taken by then (epochs × ``steps_per_epoch``)
    and the training seconds summed over the epochs up to it (evaluations not counted);
    ``(inf, inf)`` if none does."""
    i = first_reach(epochs, target, loss=loss)
    if i is None:
        return math.inf, math.inf
    return float(epochs[i].epoch * steps_per_epoch), float(sum(e.seconds for e in epochs[: i + 1]))


def loss_target(best: float) -> float:
    """The validation loss a loss-only problem's epochs count to: the best optimizer's
    mean final validation loss ``best`` plus :data:`LOSS_TOLERANCE` of its absolute
    value (``-inf``, which no epoch reaches, where ``best`` is not finite)."""
    return best + LOSS_TOLERANCE * abs(best) if math.isfinite(best) else -math.inf


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


def plateau(final_accuracies: Sequence[float]) -> float:
    """The share of an optimizer's trials whose final validation accuracy is within
    :data:`TOLERANCE` of its best trial's (a trial without one counts as missing it);
    ``nan`` with no finite accuracy at all."""
    values = np.array([a if math.isfinite(a) else -math.inf for a in final_accuracies])
    if not len(values) or not np.isfinite(values).any():
        return math.nan
    return float(np.mean(values >= values.max() - TOLERANCE))


def loss_plateau(final_losses: Sequence[float]) -> float:
    """For a loss-only problem: the share of an optimizer's trials whose final validation
    loss is within :data:`LOSS_TOLERANCE` of the absolute value of its best trial's
    above it (a trial without one counts as missing it); ``nan`` with no finite loss."""
    values = np.array([v if math.isfinite(v) else math.inf for v in final_losses])
    if not len(values) or not np.isfinite(values).any():
        return math.nan
    best = values.min()
    return float(np.mean(values <= best + LOSS_TOLERANCE * abs(best)))


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
