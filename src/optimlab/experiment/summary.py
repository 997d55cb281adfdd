"""The final table of an experiment: per setting, its figures over the seeds."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .results import Results, TrialResult

__all__ = ["Summary", "summarize"]


@dataclass(frozen=True)
class Summary:
    """One setting (optimizer with hyper-parameters) over its seeds.

    ``epoch_to_target`` is the first epoch whose mean accuracy reaches the target
    (None if none does); ``seconds`` the wall time of the passes that trained it;
    ``shared_pass`` whether one of those passes also trained other settings;
    ``diverged`` how many seeds diverged, ``diverged_at`` the first epoch one did.
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


def summarize(results: Results, target: float = 0.95) -> list[Summary]:
    """Per setting, the figures of the final table, sorted by final mean accuracy, best first.

    A setting with a diverged seed comes after every other, whatever its accuracy.

    Over the seeds: final test accuracy and loss (mean and standard deviation), the
    best mean accuracy and its epoch, the first epoch whose mean accuracy reaches
    ``target``, and the wall seconds of the passes that trained the setting.
    """
    groups: dict[str, list[TrialResult]] = {}
    for trial in results.trials:
        groups.setdefault(trial.label, []).append(trial)
    rows = [_row(results, label, trials, target) for label, trials in groups.items()]
    return sorted(rows, key=_rank)


def _rank(row: Summary) -> tuple[bool, float]:
    accuracy = row.accuracy_mean if row.epochs and math.isfinite(row.accuracy_mean) else -math.inf
    return row.diverged > 0, -accuracy


def _row(results: Results, label: str, trials: list[TrialResult], target: float) -> Summary:
    finished = [t for t in trials if t.epochs]
    length = min((len(t.epochs) for t in finished), default=0)
    curves = np.array([[e.test_accuracy for e in t.epochs[:length]] for t in finished])
    losses = np.array([[e.test_loss for e in t.epochs[:length]] for t in finished])
    mean = curves.mean(axis=0) if length else np.array([math.nan])
    reached = np.flatnonzero(mean >= target)
    passes = {t.pass_index for t in trials}
    return Summary(
        label=label,
        optimizer=trials[0].optimizer,
        hyperparameters=trials[0].hyperparameters,
        seeds=len(trials),
        epochs=length,
        diverged=sum(t.diverged for t in trials),
        diverged_at=min((t.diverged_epoch for t in trials if t.diverged), default=None),
        accuracy_mean=float(mean[-1]),
        accuracy_std=float(curves[:, -1].std()) if length else math.nan,
        loss_mean=float(losses[:, -1].mean()) if length else math.nan,
        loss_std=float(losses[:, -1].std()) if length else math.nan,
        best_accuracy=float(mean.max()),
        best_epoch=int(mean.argmax()) + 1,
        epoch_to_target=int(reached[0]) + 1 if reached.size else None,
        seconds=sum(results.passes[p].seconds for p in passes),
        shared_pass=any(len({t.label for t in results.trials_of(p)}) > 1 for p in passes),
    )
