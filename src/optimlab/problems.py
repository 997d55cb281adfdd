"""Test problems: a data set, a network, its loss and initialization, a batch size and a
default number of epochs, under one name.

``report`` is the lab report's network on MNIST (the default everywhere). The others
follow DeepOBS (Schneider, Balles & Hennig, "DeepOBS: A Deep Learning Optimizer
Benchmark Suite", ICLR 2019; ``deepobs/pytorch/testproblems``): its logistic
regression on MNIST and its four-layer MLP on MNIST and Fashion-MNIST, with their
architectures, initializations, softmax cross-entropy and batch size 128. The
problems that are not fully connected networks (DeepOBS's noisy quadratic and 2-D
functions) are not registered yet.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from . import datasets
from .errors import ConfigError

__all__ = ["PROBLEMS", "Problem", "data_directory", "get"]


@dataclass(frozen=True)
class Problem:
    """One test problem: what is trained, on what, and for how long by default."""

    name: str
    #: One line: the network and the data.
    summary: str
    #: Where the definition comes from.
    source: str
    layers: tuple[int, ...]
    activation: str
    output: str
    batch_size: int
    epochs: int
    #: ``"mnist"`` (packaged) or a data set :func:`optimlab.datasets.fetch` downloads.
    dataset: str = "mnist"
    #: The initialization (:data:`optimlab.nn.layout.INITS`).
    init: str = "uniform"
    #: For a noisy function (DeepOBS's quadratic and 2-D problems) instead of a network:
    #: its name in :mod:`optimlab.functions`; None for a network.
    function: str | None = None

    @property
    def has_accuracy(self) -> bool:
        """Whether the problem classifies (accuracy and loss) or is a function (loss only)."""
        return self.function is None

    def setting(self) -> dict[str, Any]:
        """The fields of an experiment's :class:`~optimlab.experiment.Setting` it fixes."""
        return {
            "layers": list(self.layers),
            "activation": self.activation,
            "output": self.output,
            "batch_size": self.batch_size,
            "epochs": self.epochs,
            "init": self.init,
        }


_DEEPOBS = "DeepOBS (Schneider, Balles & Hennig, 2019)"
_MLP = (784, 1000, 500, 100, 10)

#: The registered problems, by name.
PROBLEMS: dict[str, Problem] = {
    p.name: p
    for p in (
        Problem(
            "report",
            "784-30-10 sigmoid network, sigmoid outputs with binary cross-entropy, on MNIST",
            "the lab report (../shared/seed)",
            (784, 30, 10),
            "sigmoid",
            "sigmoid",
            batch_size=10,
            epochs=40,
        ),
        Problem(
            "mnist_logreg",
            "784-10 softmax regression on MNIST, every parameter initialized to 0",
            f"{_DEEPOBS}: mnist_logreg",
            (784, 10),
            "relu",  # no hidden layer: unused
            "softmax",
            batch_size=128,
            epochs=50,
            init="zeros",
        ),
        Problem(
            "mnist_mlp",
            "784-1000-500-100-10 ReLU network, softmax cross-entropy, on MNIST",
            f"{_DEEPOBS}: mnist_mlp (weights truncated normal, std 3e-2; biases 0)",
            _MLP,
            "relu",
            "softmax",
            batch_size=128,
            epochs=100,
            init="truncated_normal",
        ),
        Problem(
            "fmnist_mlp",
            "784-1000-500-100-10 ReLU network, softmax cross-entropy, on Fashion-MNIST",
            f"{_DEEPOBS}: fmnist_mlp (as mnist_mlp)",
            _MLP,
            "relu",
            "softmax",
            batch_size=128,
            epochs=100,
            dataset="fashion-mnist",
            init="truncated_normal",
        ),
    )
}


def get(name: str) -> Problem:
    """The problem called ``name``.

    Raises
    ------
    ConfigError
        No problem has that name (the message lists them).
    """
    if not isinstance(name, str) or name not in PROBLEMS:
        raise ConfigError(f"unknown problem {name!r}; choose from {', '.join(PROBLEMS)}")
    return PROBLEMS[name]


def data_directory(problem: Problem, data_dir: str | os.PathLike[str] | None = None) -> str | None:
    """Where the problem's data lies: ``data_dir`` if given, None for the packaged MNIST,
    else the cache directory :func:`optimlab.datasets.fetch` fills (downloading once)."""
    if data_dir is not None:
        return str(data_dir)
    if problem.dataset == "mnist":
        return None
    return str(datasets.fetch(problem.dataset))
