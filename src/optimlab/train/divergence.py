"""When a training run has diverged: one rule for the Trainer and every command.

A run *diverged* at epoch N when its training loss in that epoch is not finite, or is
over :data:`EXPLODED` times the *reference loss*, the loss per sample of a model that
knows nothing:

* a network with K sigmoid outputs that all say 1/2: ``K ln 2``;
* a network with K softmax outputs that say the uniform distribution: ``ln K``;
* a point on a noisy function: its mean training loss at the start point.

An experiment's problem says its own (:meth:`optimlab.problems.Problem.chance_loss`) and
gives it to the Trainer; the library's default is the one above, from the model.

A finite loss over the bound is far worse than chance (``--lr 100`` on MNIST gives
about 270 against ``10 ln 2 = 6.9``). A loss that is not finite stops training (nothing
after it means anything); a finite one over the bound marks the run diverged and its
figures go on being recorded. :class:`~optimlab.Trainer` marks its histories by this
rule, and ``compare``, ``sweep``, ``train`` and ``benchmark`` report by it.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from ..backend import to_numpy
from ..errors import ConfigError
from ..nn import Model, Point
from .history import EpochRecord, History

if TYPE_CHECKING:
    from ..datasets import Dataset

__all__ = [
    "EXPLODED",
    "diverged",
    "diverged_at",
    "know_nothing_loss",
    "knowing",
    "reason",
    "reference_loss",
]

#: A finite training loss above this many times the reference loss is divergence.
EXPLODED = 10.0


def know_nothing_loss(outputs: int, output: str) -> float:
    """The loss per sample of a network with ``outputs`` units of kind ``output``
    (``"sigmoid"`` or ``"softmax"``) that knows nothing: ``outputs * ln 2`` or
    ``ln outputs``."""
    if output == "softmax":
        return math.log(outputs)
    if output == "sigmoid":
        return outputs * math.log(2.0)
    raise ConfigError(f"no loss of knowing nothing for outputs of kind {output!r}")


def reference_loss(model: Model, train: Dataset, given: Any = None) -> float:
    """The reference loss of ``model`` trained on ``train``: ``given`` if not None (a
    finite number above 0, else a ConfigError), else a network's
    :func:`know_nothing_loss`, or a point's mean loss over ``train`` at its objective's
    start (one evaluation, read back once)."""
    if given is not None:
        return _checked(given)
    if isinstance(model, Point):
        start = model.backend.asarray(np.asarray(model.function.start), dtype=model.dtype)
        return float(to_numpy(model.xp.mean(model.losses(start, train.images))))
    return know_nothing_loss(model.layers[-1], model.output.name)


def knowing(model: Model) -> str:
    """What the reference loss is the loss of, as :func:`reason` says it."""
    return "the start point" if isinstance(model, Point) else "knowing nothing"


def diverged(loss: float, reference: float) -> bool:
    """Whether a training loss is divergence: not finite, or over ``EXPLODED * reference``."""
    return not math.isfinite(loss) or loss > EXPLODED * reference


def reason(
    record: EpochRecord,
    reference: float,
    knowing: str = "knowing nothing",
    stopped: str = "training stopped",
) -> str | None:
    """Why the epoch of ``record`` is divergence ("diverged at epoch N: ..."), or None;
    ``stopped`` is said in brackets after a loss that is not finite."""
    loss = record.train_loss
    if not diverged(loss, reference):
        return None
    if not math.isfinite(loss):
        return f"diverged at epoch {record.epoch}: the training loss became {loss} ({stopped})"
    return (
        f"diverged at epoch {record.epoch}: the training loss {loss:.4g} is over "
        f"{EXPLODED:g} times the loss of {knowing} ({reference:.4g})"
    )


def diverged_at(
    history: History,
    reference: float,
    knowing: str = "knowing nothing",
    stopped: str = "training stopped",
) -> str | None:
    """Why ``history`` diverged (:func:`reason` of its first diverged epoch), or None."""
    for record in history.epochs:
        why = reason(record, reference, knowing, stopped)
        if why is not None:
            return why
    return None


def _checked(value: Any) -> float:
    """``value`` as a reference loss: a finite number above 0, else a ConfigError."""
    try:
        reference = float(value)
    except (TypeError, ValueError, OverflowError):
        reference = math.nan
    if isinstance(value, bool) or not (math.isfinite(reference) and reference > 0):
        raise ConfigError(f"reference_loss must be a finite number above 0, not {value!r}")
    return reference
