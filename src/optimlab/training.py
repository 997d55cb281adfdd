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

__all__ = ["EpochRecord", "Evaluation", "History", "Trainer", "evaluate", "fit"]


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


class Trainer:
    """The state of a training run between steps: parameters, optimizer state, shuffles.

    :func:`fit` is a loop over :meth:`run_epoch`; use a ``Trainer`` directly to run
    steps one block at a time (benchmarks, custom loops). It owns a copy of the
    model's parameters, which it updates in place; ``model.params`` is that copy.

    Parameters
    ----------
    model, optimizer, train, batch_size, seed
        As for :func:`fit`.
    """

    def __init__(
        self,
        model: MLP,
        optimizer: Optimizer | str,
        train: Dataset,
        *,
        batch_size: int = 10,
        seed: int = 0,
    ) -> None:
        if isinstance(optimizer, str):
            optimizer = optimizers.get(optimizer)
        if not isinstance(optimizer, Optimizer):
            raise ConfigError(
                f"optimizer must be an Optimizer or a name, not {type(optimizer).__name__}"
            )
        self.batch_size = _positive("batch_size", batch_size)
        _check_data(model, train, "train")
        self.model, self.optimizer, self.train = model, optimizer, train
        #: Host generator of the shuffles: one permutation per epoch.
        self.rng = np.random.default_rng(seed)
        #: Epochs completed.
        self.epoch = 0
        self._targets = model._targets(train.labels)
        model.params = model.xp.asarray(model.params, copy=True)
        self.state = optimizer.init([model.params])

    @property
    def steps_per_epoch(self) -> int:
        """Optimizer steps in one pass over the training set."""
        return math.ceil(self.train.n / self.batch_size)

    def run_epoch(self, progress: Callable[[int, int], None] | None = None) -> float:
        """One pass over the training set in a fresh random order; returns its seconds.

        The seconds are wall time with the device synchronized before the clock is read.
        """
        backend = self.model.backend
        start = time.perf_counter()
        order = backend.asarray(self.rng.permutation(self.train.n))
        self.run_batches(order, progress)
        backend.synchronize()
        self.epoch += 1
        return time.perf_counter() - start

    def run_batches(self, order: Any, progress: Callable[[int, int], None] | None = None) -> None:
        """Steps over the training samples ``order`` (device integers), ``batch_size`` at a time.

        The hot loop: batches are gathered on the device, the update happens in place,
        and nothing is read back to the host.
        """
        model, optimizer, xp = self.model, self.optimizer, self.model.xp
        x_all, y_all, size = self.train.images, self._targets, self.batch_size
        n = order.shape[0]
        steps = math.ceil(n / size)
        every = max(1, steps // 100)
        params, state = model.params, self.state
        views = model._views(params)
        if model.backend.views_follow_updates:
            # Gradients are written into one buffer; parameters are updated in place.
            grad = xp.zeros_like(params)
            grad_views = model._views(grad)
        else:
            grad_views = None
        # The rule is applied to the one flat array directly (what step() does for a
        # list of arrays), keeping the state's arrays unpacked until the block ends.
        update, t = optimizer.update, state.count
        accumulators = [slot[0] for slot in state[1:]]
        for step in range(steps):
            batch = order[step * size : min((step + 1) * size, n)]
            x = xp.take(x_all, batch, axis=0)
            y = xp.take(y_all, batch, axis=0)
            if grad_views is None:
                grad = model._gradient(views, x, y)
            else:
                model._gradient(views, x, y, out=grad_views)
            t += 1
            updated, accumulators = update(xp, params, grad, *accumulators, t=t)
            if updated is not params or grad_views is None:  # a library with no mutation
                params, views = updated, model._views(updated)
            if progress is not None and step % every == 0:
                progress(step, steps)
        if progress is not None:
            progress(steps, steps)
        model.params = params
        self.state = optimizer.State(t, *([a] for a in accumulators))


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
        The network. Training works on a copy of its parameters, updated in place
        as it goes, which becomes :attr:`~optimlab.MLP.params`.
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
    epochs = _positive("epochs", epochs)
    if monitor is not None:
        _check_data(model, monitor, "monitor")
    trainer = Trainer(model, optimizer, train, batch_size=batch_size, seed=seed)
    optimizer = trainer.optimizer
    history = History(optimizer.name, optimizer.hyperparameters)
    # A diverging run is reported through history.status, not NumPy's overflow warnings.
    with np.errstate(over="ignore", invalid="ignore"):
        for epoch in range(1, epochs + 1):
            seconds = trainer.run_epoch(progress)
            train_loss = _evaluate(model, model.params, train, 10_000).loss
            test = _evaluate(model, model.params, monitor, 10_000) if monitor else None
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
    if not model.backend.holds(data.images):
        raise ConfigError(
            f"{name} lives on {of(data.images).name} but the model on {model.backend.name}; "
            f"load both with the same device"
        )
    if data.images.dtype != model.dtype:
        raise ConfigError(
            f"{name} holds {data.images.dtype} images but the model is {model.dtype_name}; "
            f"load the data with dtype={model.dtype_name!r}"
        )
