"""What an experiment tells as it goes: the interface the command line's display implements."""

from __future__ import annotations

from ..train import EpochRecord
from .settings import Trial

__all__ = ["Reporter"]


class Reporter:
    """What :func:`~optimlab.experiment.run_experiment` tells as it goes. Override any.

    Every method is called in the calling process and thread. With several worker
    processes, the news of several passes interleave, and :meth:`progress` is not
    called (steps are counted only where one pass runs at a time).
    """

    def pass_started(self, index: int, trials: list[Trial], resumed_at: int) -> None:
        """Pass ``index`` starts (or resumes after epoch ``resumed_at``)."""

    def progress(self, done: int, total: int) -> None:
        """Steps done in the current epoch."""

    def epoch_done(self, index: int, epoch: int, records: list[tuple[Trial, EpochRecord]]) -> None:
        """Epoch ``epoch`` of pass ``index`` is complete (and saved)."""

    def pass_done(self, index: int, seconds: float) -> None:
        """Pass ``index`` is complete after ``seconds`` of training and evaluation."""

    def pass_failed(self, index: int, trials: list[Trial], error: BaseException) -> None:
        """Pass ``index`` raised ``error`` in a worker (the other passes go on)."""
