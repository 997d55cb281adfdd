"""What every test problem is: a name, what it trains on what data, and its defaults.

A :class:`Problem` is resolved once, from its name, when an experiment's
:class:`~optimlab.experiment.Setting` is made; from then on every part of optimlab asks
the object, never a table keyed by the name: it builds the model, loads the data, says
what a model that learned nothing scores (the divergence rule's reference), whether it
classifies, and its default learning rate for an optimizer. Its two kinds are
:class:`~optimlab.problems.NetworkProblem` (a network on a labelled data set) and
:class:`~optimlab.problems.FunctionProblem` (a point on a noisy function).

The methods that read an experiment's setting take it as ``setting``: any object with
the attributes of :class:`optimlab.experiment.Setting` they name (``dtype``,
``layers``, ``noise``, ...), so this layer does not import the experiment layer.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .. import optimizers
from ..backend import Backend
from ..datasets import Dataset

__all__ = ["Problem", "default_rate"]


@dataclass(frozen=True, eq=False, kw_only=True)
class Problem(abc.ABC):
    """One test problem: what is trained, on what, and for how long by default.

    Two problems are equal when they are of the same kind and have the same name (a
    setting unpickled in a worker process still equals its parent's).
    """

    #: The registry name: lower-case letters, digits and ``_``.
    name: str
    #: One line: the model and the data.
    summary: str
    #: Where the definition comes from.
    source: str
    #: Samples per step.
    batch_size: int
    #: Epochs when the command line gives none.
    epochs: int
    #: Training samples ``optimlab benchmark`` holds out for validation when the problem
    #: fixes it (a function's); a network problem's comes from ``--validation``.
    validation: int = 10_000
    #: Default learning rates by optimizer name, and by family: ``"sgd"`` serves the
    #: optimizers that scale the gradient and ``"adaptive"`` every other one without an
    #: entry (see :func:`default_rate`). Empty: every optimizer keeps its own default.
    learning_rates: Mapping[str, float] = field(default_factory=dict, repr=False)
    #: The validation figure ``optimlab benchmark`` times optimizers to (time to target,
    #: the performance profile): a validation accuracy (a fraction) for a classifier, a
    #: validation loss (reached at or below it) for a loss-only problem. None: relative
    #: to the best optimizer's final figure (:func:`optimlab.benchmark.report.target`).
    target: float | None = None
    #: Where :attr:`target` comes from (a reference run, a measured table).
    target_source: str = field(default="", repr=False)

    #: Whether it trains a network (its layers, activation and output can be changed).
    trains_network = True
    #: Whether it has a noise level (``--noise``).
    noisy = False

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.name == self.name

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.name))

    def __str__(self) -> str:
        return self.name

    @property
    @abc.abstractmethod
    def has_accuracy(self) -> bool:
        """Whether it classifies (accuracy and loss) or has a loss only."""

    @abc.abstractmethod
    def setting(self) -> dict[str, Any]:
        """The fields of an experiment's :class:`~optimlab.experiment.Setting` it fixes
        by default (``layers``, ``activation``, ``output``, ``batch_size``, ``epochs``,
        ``init``), as plain JSON values."""

    @abc.abstractmethod
    def make_model(
        self, setting: Any, seeds: int | Sequence[int], backend: Backend | None = None,
        params: Any = None,
    ) -> Any:  # fmt: skip
        """The model ``setting`` trains, on ``backend`` (None: the host): one model for an
        int seed, members for a sequence; holding ``params`` (``([K,] size)``) if given."""

    @abc.abstractmethod
    def load_data(self, setting: Any, backend: Backend) -> tuple[Dataset, Dataset]:
        """The training and test sets on ``backend``'s device in ``setting.dtype``, the
        training set cut to ``setting.limit_train`` samples when that is set."""

    @abc.abstractmethod
    def chance_loss(self, setting: Any) -> float:
        """The training loss per sample of a model that learned nothing: the reference of
        the divergence rule (:func:`optimlab.experiment.results.diverged_at`)."""

    def data_directory(self, data_dir: str | None = None) -> str | None:
        """Where its data lies for ``setting.data``: ``data_dir`` (the command line's
        ``--data-dir``) if given; None where :meth:`load_data` needs no directory."""
        return data_dir

    def data_files(self, data_dir: str | None = None) -> dict[str, str]:
        """The SHA-256 of each data file by name: what a resume checks is unchanged
        (``data_dir``: :meth:`data_directory`'s answer)."""
        return {}

    def check(self, setting: Any, train: Dataset) -> None:  # noqa: B027 (nothing by default)
        """Raise :class:`~optimlab.errors.ConfigError` where ``setting`` cannot train on
        ``train`` (checked before anything is written)."""

    def validation_set(self, held_out: Dataset) -> Dataset:
        """What a run is validated on, given the training samples held out for it
        (``optimlab benchmark``): those samples themselves, unless the problem says
        otherwise (a 2-D function validates on the exact function)."""
        return held_out

    def learning_rate(self, optimizer: str) -> float | None:
        """Its default learning rate for ``optimizer`` (None: the optimizer's own)."""
        return default_rate(self.learning_rates, optimizer)


def default_rate(rates: Mapping[str, float], optimizer: str) -> float | None:
    """The rate ``rates`` gives ``optimizer``: its own entry, else its family's
    (:attr:`~optimlab.optimizers.Optimizer.rate_family`: ``"sgd"`` or ``"adaptive"``;
    an unknown name counts as adaptive); None when ``rates`` is empty or the family is
    None (Prodigy estimates its own step size and keeps ``lr = 1``)."""
    if optimizer in rates:
        return rates[optimizer]
    cls = optimizers.OPTIMIZERS.get(optimizer)
    family = "adaptive" if cls is None else cls.rate_family
    return None if family is None or not rates else rates.get(family)
