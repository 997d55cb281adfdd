"""The built-in test problems.

``report`` is the lab report's network on MNIST (the default everywhere). The others
follow DeepOBS (Schneider, Balles & Hennig, "DeepOBS: A Deep Learning Optimizer
Benchmark Suite", ICLR 2019; ``deepobs/pytorch/testproblems``): its logistic
regression on MNIST and its four-layer MLP on MNIST and Fashion-MNIST, with their
architectures, initializations, softmax cross-entropy and batch size 128. Its noisy
quadratic ``quadratic_deep`` and 2-D functions ``rosenbrock``, ``beale`` and ``branin``
train a point instead of a network (:mod:`.functions`, :mod:`.surfaces`): they have a
loss and no accuracy.
"""

from __future__ import annotations

import dataclasses

from . import functions, surfaces
from .base import Problem
from .function import FunctionProblem
from .network import NetworkProblem

__all__ = ["BUILTIN"]

_DEEPOBS = "DeepOBS (Schneider, Balles & Hennig, 2019)"


def _two_d(name: str) -> FunctionProblem:
    surface = surfaces.SURFACES[name]
    return FunctionProblem(
        name=name,
        summary=f"{surface.summary}, (x, y) ~ N(0, 1), from {surface.start}",
        source=f"{_DEEPOBS}: two_d_{name}",
        batch_size=128,
        epochs=6,  # ~500 steps, as optimlab trajectories (DeepOBS names no default)
        validation=2000,
        learning_rates=surface.learning_rates,
        function=functions.FUNCTIONS[name],
        noisy=surface.noisy,
        exact_validation=True,  # DeepOBS's test set: the exact function
    )


_MNIST_MLP = NetworkProblem(
    name="mnist_mlp",
    summary="784-1000-500-100-10 ReLU network, softmax cross-entropy, on MNIST",
    source=f"{_DEEPOBS}: mnist_mlp (weights truncated normal, std 3e-2; biases 0)",
    layers=(784, 1000, 500, 100, 10),
    activation="relu",
    output="softmax",
    batch_size=128,
    epochs=100,
    init="truncated_normal",
)

#: The problems optimlab comes with, in the order the command line lists them.
BUILTIN: tuple[Problem, ...] = (
    NetworkProblem(
        name="report",
        summary="784-30-10 sigmoid network, sigmoid outputs with binary cross-entropy, on MNIST",
        source="the lab report (../shared/seed)",
        layers=(784, 30, 10),
        activation="sigmoid",
        output="sigmoid",
        batch_size=10,
        epochs=40,
    ),
    NetworkProblem(
        name="mnist_logreg",
        summary="784-10 softmax regression on MNIST, every parameter initialized to 0",
        source=f"{_DEEPOBS}: mnist_logreg",
        layers=(784, 10),
        activation="relu",  # no hidden layer: unused
        output="softmax",
        batch_size=128,
        epochs=50,
        init="zeros",
    ),
    _MNIST_MLP,
    dataclasses.replace(
        _MNIST_MLP,
        name="fmnist_mlp",
        summary="784-1000-500-100-10 ReLU network, softmax cross-entropy, on Fashion-MNIST",
        source=f"{_DEEPOBS}: fmnist_mlp (as mnist_mlp)",
        data="fashion-mnist",
    ),
    FunctionProblem(
        name="quadratic_deep",
        summary="0.5 (theta - x)^T Q (theta - x) in 100 dimensions, Q with 90 eigenvalues in "
        "(0, 1) and 10 in (30, 60), x ~ N(0, 0.6^2 I)",
        source=f"{_DEEPOBS}: quadratic_deep",
        batch_size=128,
        epochs=100,
        validation=200,
        function=functions.FUNCTIONS["quadratic_deep"],
    ),
    *(_two_d(name) for name in ("rosenbrock", "beale", "branin")),
)
