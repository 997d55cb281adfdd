"""What a training run produced: one record per epoch, and the run's history."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["EpochRecord", "History"]


@dataclass(frozen=True)
class EpochRecord:
    """What one epoch produced; ``nan`` where there was nothing to measure.

    ``seconds`` is the wall time of the epoch's training steps (the device
    synchronized before the clock is read), without the evaluations; members
    trained in one pass share it. The validation figures are those of a held-out
    part of the training set (``optimlab benchmark``), ``nan`` where there is none.
    """

    epoch: int
    train_loss: float
    test_accuracy: float
    test_loss: float
    seconds: float
    validation_accuracy: float = math.nan
    validation_loss: float = math.nan

    def to_dict(self) -> dict[str, Any]:
        """Plain values; the validation figures only where there are some."""
        d = asdict(self)
        for name in VALIDATION:
            if math.isnan(d[name]):
                del d[name]
        return d


#: The figures of an :class:`EpochRecord` that only a validation set gives.
VALIDATION = ("validation_accuracy", "validation_loss")


@dataclass
class History:
    """The per-epoch record of one training run.

    ``status`` is ``"completed"``, or says why the run diverged
    (:mod:`optimlab.train.divergence`): a training loss that became ``nan`` or infinite,
    which stopped training (the records of the epochs run so far are kept), or one far
    over the loss of knowing nothing, after which training went on.
    """

    optimizer: str
    hyperparameters: dict[str, float]
    epochs: list[EpochRecord] = field(default_factory=list)
    status: str = "completed"

    @property
    def diverged(self) -> bool:
        """Whether the run diverged (``status`` says at which epoch and why)."""
        return self.status != "completed"

    @property
    def stopped(self) -> bool:
        """Whether training stopped early: the last epoch's training loss is not finite."""
        return bool(self.epochs) and not math.isfinite(self.epochs[-1].train_loss)

    def column(self, name: str) -> list[float]:
        """One figure for every epoch, e.g. ``history.column("test_accuracy")``."""
        return [getattr(record, name) for record in self.epochs]

    @property
    def test_accuracy(self) -> list[float]:
        return self.column("test_accuracy")

    @property
    def test_loss(self) -> list[float]:
        return self.column("test_loss")

    @property
    def train_loss(self) -> list[float]:
        return self.column("train_loss")

    @property
    def validation_accuracy(self) -> list[float]:
        return self.column("validation_accuracy")

    @property
    def validation_loss(self) -> list[float]:
        return self.column("validation_loss")

    @property
    def seconds(self) -> list[float]:
        return self.column("seconds")

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> History:
        """The history :meth:`to_dict` described."""
        epochs = [EpochRecord(**e) for e in d["epochs"]]
        return cls(d["optimizer"], d["hyperparameters"], epochs, d["status"])

    def to_dict(self) -> dict[str, Any]:
        """Plain Python values, ready for JSON."""
        return {
            "optimizer": self.optimizer,
            "hyperparameters": dict(self.hyperparameters),
            "status": self.status,
            "epochs": [r.to_dict() for r in self.epochs],
        }
