"""An experiment's results as typed objects, and their one JSON form (``results.json``).

The JSON form is format ``optimlab.results`` version 1, as optimlab has always
written it: the setting, the data set, the environment, per pass its seconds and
whether it is complete, and per trial (the ``runs`` of the file, each naming its
``pass``) the per-epoch figures and a status. :meth:`Results.to_dict` writes it
and :func:`load_results` reads it back.

The file is strict JSON: a figure that is not finite (a diverged trial's loss) is
written as ``null``, and the trial's ``status`` says why ("diverged at epoch N:
..."). ``data.files`` holds the SHA-256 of every data file, checked on resume.

A trial *diverged* by the one rule of :mod:`optimlab.train.divergence` (a training
loss that is not finite, or over ten times that of a model that knows nothing, its
problem's :meth:`~optimlab.problems.Problem.chance_loss`): it is flagged, and its
figures go on being recorded.
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .. import optimizers
from ..errors import DataError
from ..train import EpochRecord, History, divergence
from .provenance import Environment
from .settings import Setting, hyperparameters_from_json, hyperparameters_json

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


def diverged_at(setting: Setting, history: History) -> str | None:
    """Why ``history`` diverged ("diverged at epoch N: ..."), or None if it did not: the
    one rule of :mod:`optimlab.train.divergence`, against the problem's chance loss."""
    return divergence.diverged_at(
        history,
        setting.problem.chance_loss(setting),
        "knowing nothing" if setting.problem.trains_network else "the start point",
        "training stopped; figures that are not finite are null",
    )


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _number(value: float | None) -> float:
    return math.nan if value is None else value


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
    #: The optimizer's options that are not their defaults (see ``Trial.options``).
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """``"adam (lr=0.01, beta1=0.9, ...)"``: the setting, without the seed."""
        return optimizers.describe(self.optimizer, self.hyperparameters, self.options)

    def to_dict(self) -> dict[str, Any]:
        return {
            "optimizer": self.optimizer,
            "hyperparameters": hyperparameters_json(self.hyperparameters),
            **({"options": dict(self.options)} if self.options else {}),
            "seed": self.seed,
            "pass": self.pass_index,
            "status": self.status,
            "epochs": [
                {k: _finite(v) if isinstance(v, float) else v for k, v in e.to_dict().items()}
                for e in self.epochs
            ],
        }

    @property
    def diverged(self) -> bool:
        """Whether the trial diverged (its status says at which epoch and why)."""
        return self.status not in ("pending", "running", "completed")

    @property
    def diverged_epoch(self) -> int | None:
        """The epoch the trial diverged in (None if it did not)."""
        if not self.diverged:
            return None
        found = re.search(r"epoch (\d+)", self.status)
        return int(found[1]) if found else len(self.epochs)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrialResult:
        epochs = [
            EpochRecord(**{k: v if k == "epoch" else _number(v) for k, v in e.items()})
            for e in d["epochs"]
        ]
        return cls(
            d["optimizer"],
            hyperparameters_from_json(d["hyperparameters"]),
            d["seed"],
            d["pass"],
            d["status"],
            epochs,
            d.get("options", {}),
        )


@dataclass
class DataInfo:
    """The data set an experiment trained and tested on."""

    name: str
    train_samples: int
    test_samples: int
    #: SHA-256 of each data file, by name (for the packaged MNIST, of its uncompressed
    #: files); empty in results written before optimlab recorded them.
    files: dict[str, str] = field(default_factory=dict)


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
            TrialResult(
                t.optimizer, dict(t.hyperparameters), t.seed, index, options=dict(t.options)
            )
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
            why = diverged_at(self.setting, history)
            if why is not None:
                trial.status = why
            elif history.diverged:
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
        results = Results.from_dict(d)
        missing = [t.optimizer for t in results.trials if t.optimizer not in optimizers.OPTIMIZERS]
        if missing and isinstance(missing[0], str):  # a name: not damage, a missing plugin
            raise DataError(
                f"{path} was written with the optimizer {missing[0]!r}, which is not "
                "registered here: install the package that provides it (an optimlab "
                "plugin; a PluginWarning says if one failed to load)"
            )
        _validate(results)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as error:
        if isinstance(error, DataError):
            raise
        raise DataError(f"{path} is a damaged optimlab results file: {error}") from None
    return results


def _validate(results: Results) -> None:
    """Raise ``ValueError`` where the results' structure is not what optimlab writes."""
    setting = results.setting
    if not setting.passes or len(results.passes) != len(setting.passes):
        raise ValueError("its passes do not match its setting")
    least = 2 if setting.problem.trains_network else 1  # a point's layers are (dim,)
    if not all(isinstance(n, int) and n > 0 for n in setting.layers) or len(setting.layers) < least:
        raise ValueError(f"layers {setting.layers!r} are not positive integers")
    for trial in results.trials:
        if trial.optimizer not in optimizers.OPTIMIZERS:
            raise ValueError(f"run optimizer {trial.optimizer!r} is unknown")
        if not isinstance(trial.hyperparameters, dict) or not all(
            v is None or isinstance(v, (int, float)) for v in trial.hyperparameters.values()
        ):  # numbers, the switches of some rules (Prodigy's decouple) as booleans, and
            # None where a default is derived (Prodigy's beta3: sqrt(beta2))
            raise ValueError(f"run hyperparameters {trial.hyperparameters!r} are not numbers")
        if not isinstance(trial.pass_index, int) or not 0 <= trial.pass_index < len(results.passes):
            raise ValueError(f"run pass {trial.pass_index!r} is not one of its passes")
        if not isinstance(trial.status, str) or not isinstance(trial.seed, int):
            raise ValueError("a run's status or seed is of the wrong type")
        for e in trial.epochs:
            if not isinstance(e.epoch, int) or not all(
                isinstance(v, (int, float))
                for v in (e.train_loss, e.test_accuracy, e.test_loss, e.seconds)
            ):
                raise ValueError(f"run epoch {e!r} holds something other than numbers")
