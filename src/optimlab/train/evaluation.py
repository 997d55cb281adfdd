"""Scoring a model on a data set: accuracy, mean loss and predictions, in one batched pass."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from .._checks import positive_int
from ..backend import of, to_numpy
from ..errors import ConfigError
from ..nn import MLP, Model, Point

if TYPE_CHECKING:
    from ..datasets import Dataset

__all__ = ["Evaluation", "check_data", "check_model", "evaluate", "evaluate_params"]


class Evaluation:
    """Figures of one batched pass over a data set.

    Attributes
    ----------
    accuracy
        Fraction of samples whose largest output is their label, in ``[0, 1]``
        (a list with one value per member for a model with members); nan for a
        function's :class:`~optimlab.nn.Point`, which has no classes.
    loss
        Mean cost per sample in nats, the report's "loss" for the sigmoid output
        (a list per member likewise); a function's mean loss.
    predictions
        Predicted class per sample, an integer array on the model's device,
        shape ``([K,] samples)``; None for a function.
    """

    __slots__ = ("accuracy", "loss", "predictions")

    def __init__(self, accuracy: Any, loss: Any, predictions: Any) -> None:
        self.accuracy = accuracy
        self.loss = loss
        self.predictions = predictions

    def __repr__(self) -> str:
        if isinstance(self.accuracy, list):
            return f"Evaluation(accuracy={self.accuracy}, loss={self.loss})"
        return f"Evaluation(accuracy={self.accuracy:.4f}, loss={self.loss:.4f})"


def evaluate(model: Model, data: Dataset, *, chunk_size: int = 10_000) -> Evaluation:
    """Accuracy, mean loss and predictions of ``model`` on ``data`` in one batched pass.

    The samples go through in chunks of ``chunk_size`` rows (bounding memory);
    the figures are read back to the host once, at the end. For a model with
    members, every member is scored in the same pass.
    """
    check_model(model)
    check_data(model, data, "data")
    chunk_size = positive_int("chunk_size", chunk_size)
    return evaluate_params(model, model.params, data, chunk_size)


def evaluate_params(model: Model, params: Any, data: Dataset, chunk_size: int) -> Evaluation:
    """:func:`evaluate` at ``params`` (flat, of ``model``'s shape), without the checks."""
    xp = model.xp
    if isinstance(model, Point):  # a function: loss only, no classes to predict
        total = 0.0
        for start in range(0, data.n, chunk_size):
            x = data.images[start : min(start + chunk_size, data.n), ...]
            total = total + xp.sum(model.losses(params, x), axis=-1)
        loss = to_numpy(total).astype(np.float64) / data.n
        if model.members is None:
            return Evaluation(math.nan, float(loss), None)
        return Evaluation([math.nan] * model.members, loss.tolist(), None)
    views = model.views(params)
    total_cost = correct = 0.0
    predictions = []
    for start in range(0, data.n, chunk_size):
        stop = min(start + chunk_size, data.n)  # the standard leaves out-of-range stops undefined
        x = data.images[start:stop, ...]
        labels = data.labels[start:stop]
        z = model.passes.forward(views, x)[1]
        predicted = xp.argmax(z, axis=-1)
        predictions.append(predicted)
        cost = model.output.cost(xp, z, model.targets(labels))
        total_cost = total_cost + xp.sum(cost, axis=-1)
        correct = correct + xp.sum(xp.astype(predicted == labels, model.dtype), axis=-1)
    predictions = predictions[0] if len(predictions) == 1 else xp.concat(predictions, axis=-1)
    # The one read-back of the pass.
    accuracy = to_numpy(xp.stack([correct, total_cost])).astype(np.float64) / data.n
    if model.members is None:
        return Evaluation(float(accuracy[0]), float(accuracy[1]), predictions)
    return Evaluation(accuracy[0].tolist(), accuracy[1].tolist(), predictions)


def check_model(model: object) -> None:
    """A :class:`ConfigError` unless ``model`` is an :class:`~optimlab.MLP` or a
    :class:`~optimlab.nn.Point`."""
    if not isinstance(model, (MLP, Point)):
        raise ConfigError(f"model must be an optimlab MLP, not {type(model).__name__}")


def check_data(model: Model, data: Dataset, name: str) -> None:
    """A :class:`ConfigError` unless ``data`` fits ``model``: features, classes, device, dtype."""
    from ..datasets import Dataset  # datasets imports nothing of train: no cycle

    if not isinstance(data, Dataset):
        raise ConfigError(f"{name} must be an optimlab Dataset, not {type(data).__name__}")
    if data.features != model.layers[0]:
        raise ConfigError(
            f"{name} has {data.features} features per sample but the network's input layer "
            f"has {model.layers[0]}"
        )
    if data.num_classes > model.layers[-1]:
        raise ConfigError(
            f"{name} has {data.num_classes} classes (the largest label of its data set's "
            f"training and test labels, plus one) but the network's output layer has "
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
