"""The final table of an experiment: per setting, its figures over the seeds.

A network problem's settings rank by final test accuracy; a loss-only problem's (a
noisy function: :attr:`optimlab.problems.Problem.has_accuracy` is False, every
accuracy is nan) by final test loss, lowest first (see :func:`has_accuracy`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .. import problems
from .results import Results, TrialResult
from .settings import Setting

__all__ = ["Summary", "has_accuracy", "summarize"]


def has_accuracy(source: Results | Setting | problems.Problem | str) -> bool:
    """Whether the problem of ``source`` (results, their setting, a problem or its name)
    has an accuracy; True for a name optimlab does not know."""
    setting = getattr(source, "setting", source)
    problem = getattr(setting, "problem", setting)
    if isinstance(problem, str):
        problem = problems.PROBLEMS.get(problem)
    return True if problem is None else problem.has_accuracy


@dataclass(frozen=True)
class Summary:
    """One setting (optimizer with hyper-parameters) over its seeds.

    ``epoch_to_target`` is the first epoch whose mean accuracy reaches the target
    (None if none does, and for a loss-only problem); ``seconds`` the wall time of
    the passes that trained it; ``shared_pass`` whether one of those passes also
    trained other settings; ``diverged`` how many seeds diverged, ``diverged_at`` the
    first epoch one did. ``best_accuracy`` and ``best_epoch`` are the best mean test
    accuracy and its epoch; for a loss-only problem (accuracies nan) ``best_epoch`` is
    that of the lowest mean test loss, ``best_loss``.
    """

    label: str
    optimizer: str
    hyperparameters: dict[str, float]
    seeds: int
    epochs: int
    diverged: int
    accuracy_mean: float
    accuracy_std: float
    loss_mean: float
    loss_std: float
    best_accuracy: float
    best_epoch: int
    epoch_to_target: int | None
    seconds: float
    shared_pass: bool
    diverged_at: int | None = None
    #: The lowest mean test loss over the epochs (nan where none is finite).
    best_loss: float = math.nan


def summarize(results: Results, target: float = 0.95) -> list[Summary]:
    """Per setting, the figures of the final table, sorted best first: by final mean
    test accuracy, or for a loss-only problem by final mean test loss (lowest first).

    A setting with a diverged seed comes after every other, whatever its figures.

    Over the seeds: final test accuracy and loss (mean and standard deviation), the
    best mean accuracy and its epoch (a loss-only problem: the lowest mean loss and its
    epoch), the first epoch whose mean accuracy reaches ``target`` (none for a
    loss-only problem), and the wall seconds of the passes that trained the setting.
    """
    groups: dict[str, list[TrialResult]] = {}
    for trial in results.trials:
        groups.setdefault(trial.label, []).append(trial)
    accuracy = has_accuracy(results)
    rows = [_row(results, label, trials, target, accuracy) for label, trials in groups.items()]
    return sorted(rows, key=_rank if accuracy else _rank_by_loss)


def _rank(row: Summary) -> tuple[bool, float]:
    accuracy = row.accuracy_mean if row.epochs and math.isfinite(row.accuracy_mean) else -math.inf
    return row.diverged > 0, -accuracy


def _rank_by_loss(row: Summary) -> tuple[bool, float]:
    loss = row.loss_mean if row.epochs and math.isfinite(row.loss_mean) else math.inf
    return row.diverged > 0, loss


def _lowest(mean: np.ndarray) -> tuple[float, int]:
    """The lowest finite value of the mean curve and its epoch (nan and 1 if none is)."""
    finite = np.isfinite(mean)
    if not finite.any():
        return math.nan, 1
    index = int(np.where(finite, mean, np.inf).argmin())
    return float(mean[index]), index + 1


def _row(
    results: Results, label: str, trials: list[TrialResult], target: float, accuracy: bool
) -> Summary:
    finished = [t for t in trials if t.epochs]
    length = min((len(t.epochs) for t in finished), default=0)
    curves = np.array([[e.test_accuracy for e in t.epochs[:length]] for t in finished])
    losses = np.array([[e.test_loss for e in t.epochs[:length]] for t in finished])
    mean = curves.mean(axis=0) if length else np.array([math.nan])
    mean_loss = losses.mean(axis=0) if length else np.array([math.nan])
    reached = np.flatnonzero(mean >= target) if accuracy else np.array([], dtype=int)
    best_loss, best_loss_epoch = _lowest(mean_loss)
    passes = {t.pass_index for t in trials}
    return Summary(
        label=label,
        optimizer=trials[0].optimizer,
        hyperparameters=trials[0].hyperparameters,
        seeds=len(trials),
        epochs=length,
        diverged=sum(t.diverged for t in trials),
        diverged_at=min((t.diverged_epoch for t in trials if t.diverged), default=None),
        accuracy_mean=float(mean[-1]) if accuracy else math.nan,
        accuracy_std=float(curves[:, -1].std()) if length and accuracy else math.nan,
        loss_mean=float(losses[:, -1].mean()) if length else math.nan,
        loss_std=float(losses[:, -1].std()) if length else math.nan,
        best_accuracy=float(mean.max()) if accuracy else math.nan,
        best_epoch=int(mean.argmax()) + 1 if accuracy else best_loss_epoch,
        epoch_to_target=int(reached[0]) + 1 if reached.size else None,
        seconds=sum(results.passes[p].seconds for p in passes),
        shared_pass=any(len({t.label for t in results.trials_of(p)}) > 1 for p in passes),
        best_loss=best_loss,
    )
