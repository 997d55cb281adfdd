"""Training and evaluation: mini-batches, shuffles, the step loop, per-epoch history.

The step loop follows the rules that make small batches fast: the data set
stays on the device; each epoch's shuffle is drawn on the host from a seeded
generator and sent as one index array; batches are gathered on the device;
nothing is read back to the host until the epoch ends.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from . import optimizers
from .backend import of
from .errors import ConfigError
from .model import MLP
from .optimizers import Optimizer

if TYPE_CHECKING:
    from .datasets import Dataset

__all__ = ["EpochRecord", "Evaluation", "History", "evaluate", "fit"]


class Evaluation:
    """Figures of one batched pass over a data set.

    Attributes
    ----------
    accuracy
        Fraction of samples whose largest output is their label, in ``[0, 1]``.
    loss
        Mean cost per sample in nats (the report's "loss" for the sigmoid output).
    predictions
        Predicted class per sample, an integer array on the model's device.
    """

    __slots__ = ("accuracy", "loss", "predictions")

    def __init__(self, accuracy: float, loss: float, predictions: Any) -> None:
        self.accuracy = accuracy
        self.loss = loss
        self.predictions = predictions

    def __repr__(self) -> str:
        return f"Evaluation(accuracy={self.accuracy:.4f}, loss={self.loss:.4f})"


@dataclass(frozen=True)
class EpochRecord:
    """What one epoch produced; ``nan`` where there was nothing to measure.

    ``seconds`` is the wall time of the epoch's training steps (the device
    synchronized before the clock is read), without the evaluations.
    """

    epoch: int
    train_loss: float
    test_accuracy: float
    test_loss: float
    seconds: float


@dataclass
class History:
    """The per-epoch record of one training run.

    ``status`` is ``"completed"``, or says why training stopped early (a loss that
    became ``nan`` or infinite); the records of the epochs run so far are kept.
    """

    optimizer: str
    hyperparameters: dict[str, float]
    epochs: list[EpochRecord] = field(default_factory=list)
    status: str = "completed"

    @property
    def diverged(self) -> bool:
        """Whether training stopped because the loss stopped being finite."""
        return self.status != "completed"

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
    def seconds(self) -> list[float]:
        return self.column("seconds")

    def to_dict(self) -> dict[str, Any]:
        """Plain Python values, ready for JSON."""
        return {
            "optimizer": self.optimizer,
            "hyperparameters": dict(self.hyperparameters),
            "status": self.status,
            "epochs": [asdict(r) for r in self.epochs],
        }


def evaluate(model: MLP, data: Dataset, *, chunk_size: int = 10_000) -> Evaluation:
    """Accuracy, mean loss and predictions of ``model`` on ``data`` in one batched pass.

    The samples go through in chunks of ``chunk_size`` rows (bounding memory);
    the figures are read back to the host once, at the end.
    """
    _check_data(model, data, "data")
    if chunk_size < 1:
        raise ConfigError(f"chunk_size must be >= 1, not {chunk_size}")
    return _evaluate(model, model.params, data, chunk_size)


def _evaluate(model: MLP, params: Any, data: Dataset, chunk_size: int) -> Evaluation:
    xp = model.xp
    views = model._views(params)
    total_cost = correct = 0.0
    predictions = []
    for start in range(0, data.n, chunk_size):
        stop = min(start + chunk_size, data.n)  # the standard leaves out-of-range stops undefined
        x = data.images[start:stop, ...]
        labels = data.labels[start:stop]
        z = model._forward(views, x)[1]
        predicted = xp.argmax(z, axis=-1)
        predictions.append(predicted)
        total_cost = total_cost + xp.sum(model.output.cost(xp, z, model._targets(labels)))
        correct = correct + xp.sum(xp.astype(predicted == labels, model.dtype))
    predictions = predictions[0] if len(predictions) == 1 else xp.concat(predictions)
    return Evaluation(float(correct) / data.n, float(total_cost) / data.n, predictions)


def fit(
    model: MLP,
    optimizer: Optimizer | str,
    train: Dataset,
    *,
    epochs: int = 40,
    batch_size: int = 10,
    monitor: Dataset | None = None,
    seed: int = 0,
    callback: Callable[[EpochRecord], None] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> History:
    """Train ``model`` in place with mini-batch ``optimizer`` steps; return the history.

    Each epoch visits every training sample once in a fresh random order
    (``numpy.random.default_rng(seed)`` on the host, so the same seed gives the same
    run), in batches of ``batch_size`` (the last one may be smaller); the gradient is
    the batch mean. After each epoch the whole training set and ``monitor`` (the test
    set, if given) are evaluated in batched passes.

    Parameters
    ----------
    model
        The network; its :attr:`~optimlab.MLP.params` are replaced after every epoch.
    optimizer
        An :class:`~optimlab.optimizers.Optimizer`, or a registry name for its defaults.
    train, monitor
        Data sets on the model's device (see :func:`optimlab.datasets.load_mnist`).
    epochs, batch_size
        Passes over the training set, and samples per step.
    callback
        Called with each epoch's :class:`EpochRecord` as soon as it is complete.
    progress
        Called as ``progress(steps_done, steps_per_epoch)`` about a hundred times per
        epoch (for a progress bar; it never receives device arrays).

    Returns
    -------
    History
        One :class:`EpochRecord` per epoch run. If the training loss becomes ``nan``
        or infinite, training stops after that epoch, ``history.status`` says so and a
        ``RuntimeWarning`` is issued.
    """
    if isinstance(optimizer, str):
        optimizer = optimizers.get(optimizer)
    if not isinstance(optimizer, Optimizer):
        raise ConfigError(
            f"optimizer must be an Optimizer or a name, not {type(optimizer).__name__}"
        )
    epochs, batch_size = _positive("epochs", epochs), _positive("batch_size", batch_size)
    _check_data(model, train, "train")
    if monitor is not None:
        _check_data(model, monitor, "monitor")

    backend = model.backend
    rng = np.random.default_rng(seed)
    n = train.n
    x_all, y_all = train.images, model._targets(train.labels)
    # fit owns this copy and updates it in place; model.params is it from here on.
    params = model.params = model.xp.asarray(model.params, copy=True)
    state = optimizer.init([params])
    history = History(optimizer.name, optimizer.hyperparameters)
    # A diverging run is reported through history.status, not NumPy's overflow warnings.
    with np.errstate(over="ignore", invalid="ignore"):
        for epoch in range(1, epochs + 1):
            start_time = time.perf_counter()
            order = backend.asarray(rng.permutation(n))
            params, state = _epoch(
                model, optimizer, params, state, x_all, y_all, order, batch_size, progress
            )
            backend.synchronize()
            seconds = time.perf_counter() - start_time
            model.params = params
            train_loss = _evaluate(model, params, train, 10_000).loss
            test = _evaluate(model, params, monitor, 10_000) if monitor is not None else None
            record = EpochRecord(
                epoch,
                train_loss,
                test.accuracy if test else math.nan,
                test.loss if test else math.nan,
                seconds,
            )
            history.epochs.append(record)
            if callback is not None:
                callback(record)
            if not math.isfinite(train_loss):
                history.status = (
                    f"{optimizer.name}: the training loss became {train_loss} in epoch {epoch}; "
                    f"training stopped (try a smaller learning rate)"
                )
                warnings.warn(history.status, RuntimeWarning, stacklevel=2)
                break
    return history


def _epoch(model, optimizer, params, state, x_all, y_all, order, batch_size, progress):
    """One pass over the shuffled training set: the hot loop, free of host synchronization."""
    xp = model.xp
    n = order.shape[0]
    steps = math.ceil(n / batch_size)
    every = max(1, steps // 100)
    views = model._views(params)
    views_follow = model.backend.views_follow_updates
    for step in range(steps):
        batch = order[step * batch_size : min((step + 1) * batch_size, n)]
        x = xp.take(x_all, batch, axis=0)
        y = xp.take(y_all, batch, axis=0)
        grad = model._gradient(views, x, y)
        (updated,), state = optimizer.step([params], [grad], state, xp=xp, inplace=True)
        if updated is not params or not views_follow:  # a library without in-place updates
            params, views = updated, model._views(updated)
        if progress is not None and step % every == 0:
            progress(step, steps)
    if progress is not None:
        progress(steps, steps)
    return params, state


def _positive(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ConfigError(f"{name} must be a positive integer, not {value!r}")
    return int(value)


def _check_data(model: MLP, data: Dataset, name: str) -> None:
    if data.features != model.layers[0]:
        raise ConfigError(
            f"{name} has {data.features} features per sample but the network's input layer "
            f"has {model.layers[0]}"
        )
    if data.num_classes > model.layers[-1]:
        raise ConfigError(
            f"{name} has {data.num_classes} classes but the network's output layer has "
            f"{model.layers[-1]}"
        )
    data_backend = of(data.images)
    if data_backend != model.backend:
        raise ConfigError(
            f"{name} lives on {data_backend.name} but the model on {model.backend.name}; "
            f"load both with the same device"
        )
    if data.images.dtype != model.dtype:
        raise ConfigError(
            f"{name} holds {data.images.dtype} images but the model is {model.dtype_name}; "
            f"load the data with dtype={model.dtype_name!r}"
        )
