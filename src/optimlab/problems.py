"""Test problems: a data set, a network, its loss and initialization, a batch size and a
default number of epochs, under one name.

``report`` is the lab report's network on MNIST (the default everywhere). The others
follow DeepOBS (Schneider, Balles & Hennig, "DeepOBS: A Deep Learning Optimizer
Benchmark Suite", ICLR 2019; ``deepobs/pytorch/testproblems``): its logistic
regression on MNIST and its four-layer MLP on MNIST and Fashion-MNIST, with their
architectures, initializations, softmax cross-entropy and batch size 128. Its noisy
quadratic ``quadratic_deep`` and 2-D functions ``rosenbrock``, ``beale`` and ``branin``
train a point instead of a network (:mod:`optimlab.functions`, :class:`optimlab.nn.Point`):
they have a loss and no accuracy.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from . import datasets, surfaces
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
    #: Training samples ``optimlab benchmark`` holds out for validation on a function
    #: (a network problem's is ``--validation``).
    validation: int = 10_000

    def learning_rate(self, optimizer: str) -> float | None:
        """The problem's default learning rate for ``optimizer`` (None: the optimizer's
        own): a 2-D surface's rate matched to its curvature (:mod:`optimlab.surfaces`)."""
        surface = surfaces.SURFACES.get(self.function or "")
        return None if surface is None else surface.learning_rate(optimizer)

    @property
    def has_accuracy(self) -> bool:
        """Whether the problem classifies (accuracy and loss) or is a function (loss only)."""
        return self.function is None

    def setting(self) -> dict[str, Any]:
        """The fields of an experiment's :class:`~optimlab.experiment.Setting` it fixes."""
        return {
            "problem": self.name,
            "layers": list(self.layers),
            "activation": self.activation,
            "output": self.output,
            "batch_size": self.batch_size,
            "epochs": self.epochs,
            "init": self.init,
        }


_DEEPOBS = "DeepOBS (Schneider, Balles & Hennig, 2019)"


def _two_d(name: str) -> Problem:
    surface = surfaces.SURFACES[name]
    return Problem(
        name,
        f"{surface.summary}, (x, y) ~ N(0, 1), from {surface.start}",
        f"{_DEEPOBS}: two_d_{name}",
        (2,),
        "none",
        "none",
        batch_size=128,
        epochs=6,  # ~500 steps, as optimlab trajectories (DeepOBS names no default)
        dataset="two_d",
        function=name,
        validation=2000,
    )


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
        Problem(
            "quadratic_deep",
            "0.5 (theta - x)^T Q (theta - x) in 100 dimensions, Q with 90 eigenvalues in (0, 1) "
            "and 10 in (30, 60), x ~ N(0, 0.6^2 I)",
            f"{_DEEPOBS}: quadratic_deep",
            (100,),
            "none",
            "none",
            batch_size=128,
            epochs=100,
            dataset="quadratic",
            function="quadratic_deep",
            validation=200,
        ),
        *(_two_d(name) for name in ("rosenbrock", "beale", "branin")),
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
        if problem.function is not None:
            raise ConfigError(f"{problem.name} draws its own data: it takes no --data-dir")
        return str(data_dir)
    if problem.dataset == "mnist" or problem.function is not None:
        return None
    return str(datasets.fetch(problem.dataset))
