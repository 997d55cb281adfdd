"""An experiment's results as typed objects, and their one JSON form (``results.json``).

The JSON form is format ``optimlab.results`` version 1, as optimlab has always
written it: the setting, the data set, the environment, per pass its seconds and
whether it is complete, and per trial (the ``runs`` of the file, each naming its
``pass``) the per-epoch figures and a status. :meth:`Results.to_dict` writes it
and :func:`load_results` reads it back.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .. import optimizers
from ..errors import DataError
from ..train import EpochRecord, History
from .provenance import Environment
from .settings import Setting

__all__ = [
    "RESULTS_FORMAT",
    "DataInfo",
    "PassResult",
    "Results",
    "TrialResult",
    "load_results",
]

#: The ``format`` field of every results file optimlab writes.
RESULTS_FORMAT = "optimlab.results"
_VERSION = 1


@dataclass
class PassResult:
    """Where a pass stands: seconds of training so far, complete or not, its error if any."""

    seconds: float = 0.0
    complete: bool = False
    error: str | None = None  # "ConfigError: ..." when the pass raised on a worker

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"seconds": self.seconds, "complete": self.complete}
        if self.error is not None:
            d["error"] = self.error
        return d


@dataclass
class TrialResult:
    """One trial's figures: ``status`` is pending, running, completed or why it diverged."""

    optimizer: str
    hyperparameters: dict[str, float]
    seed: int
    pass_index: int
    status: str = "pending"
    epochs: list[EpochRecord] = field(default_factory=list)

    @property
    def label(self) -> str:
        """``"adam (lr=0.01, beta1=0.9, ...)"``: the setting, without the seed."""
        return optimizers.describe(self.optimizer, self.hyperparameters)

    def to_dict(self) -> dict[str, Any]:
        return {
            "optimizer": self.optimizer,
            "hyperparameters": dict(self.hyperparameters),
            "seed": self.seed,
            "pass": self.pass_index,
            "status": self.status,
            "epochs": [asdict(e) for e in self.epochs],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrialResult:
        epochs = [EpochRecord(**e) for e in d["epochs"]]
        return cls(d["optimizer"], d["hyperparameters"], d["seed"], d["pass"], d["status"], epochs)


@dataclass
class DataInfo:
    """The data set an experiment trained and tested on."""

    name: str
    train_samples: int
    test_samples: int


@dataclass
class Results:
    """Everything ``results.json`` holds; :meth:`to_dict` is that file's JSON."""

    kind: str
    setting: Setting
    data: DataInfo
    environment: Environment
    passes: list[PassResult]
    trials: list[TrialResult]
    wall_seconds: float | None = None

    @classmethod
    def start(cls, setting: Setting, data: DataInfo, environment: Environment) -> Results:
        """The results of an experiment before any training: every trial pending."""
        trials = [
            TrialResult(t.optimizer, dict(t.hyperparameters), t.seed, index)
            for index, group in enumerate(setting.passes)
            for t in group
        ]
        passes = [PassResult() for _ in setting.passes]
        return cls(setting.kind, setting, data, environment, passes, trials)

    @property
    def complete(self) -> bool:
        """Whether every pass has finished."""
        return all(p.complete for p in self.passes)

    def trials_of(self, index: int) -> list[TrialResult]:
        """The trials of pass ``index``, in the pass's order."""
        return [t for t in self.trials if t.pass_index == index]

    def record(self, index: int, histories: list[History]) -> None:
        """Take pass ``index``'s ``histories`` (one per trial) as its trials' figures."""
        complete = self.passes[index].complete
        for trial, history in zip(self.trials_of(index), histories, strict=True):
            trial.epochs = list(history.epochs)
            if history.diverged:
                trial.status = history.status
            else:
                trial.status = "completed" if complete else "running"

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (``results.json``)."""
        return {
            "format": RESULTS_FORMAT,
            "version": _VERSION,
            "kind": self.kind,
            "setting": self.setting.to_dict(),
            "data": asdict(self.data),
            "environment": self.environment.to_dict(),
            "passes": [p.to_dict() for p in self.passes],
            "runs": [t.to_dict() for t in self.trials],
            "wall_seconds": self.wall_seconds,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Results:
        """The results :meth:`to_dict` described."""
        return cls(
            kind=d["kind"],
            setting=Setting.from_dict(d["setting"]),
            data=DataInfo(**d["data"]),
            environment=Environment.from_dict(d["environment"]),
            passes=[PassResult(**p) for p in d["passes"]],
            trials=[TrialResult.from_dict(t) for t in d["runs"]],
            wall_seconds=d.get("wall_seconds"),
        )


def load_results(path: str | os.PathLike[str]) -> Results:
    """Read a ``results.json`` written by optimlab; a clear error for anything else."""
    path = Path(path)
    try:
        d = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"results file {path} does not exist") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DataError(f"results file {path} is not readable JSON: {error}") from None
    if not isinstance(d, dict) or d.get("format") != RESULTS_FORMAT:
        raise DataError(f"{path} is not an optimlab results file (no format '{RESULTS_FORMAT}')")
    if d.get("version", 0) > _VERSION:
        raise DataError(
            f"{path} has results format version {d['version']}; "
            f"this optimlab reads up to {_VERSION}"
        )
    try:
        return Results.from_dict(d)
    except (KeyError, TypeError, ValueError) as error:
        raise DataError(f"{path} is a damaged optimlab results file: {error!r}") from None
