"""Two test problems for optimlab, registered through the entry points of pyproject.toml.

* ``blobs``: a 2-16-3 tanh network with softmax outputs that classifies points drawn
  around three centres (its own data, made by a function: no files, no download);
* ``valley``: a point in 10 dimensions on a noisy, badly conditioned quadratic
  ``0.5 sum_i s_i (theta_i - x_i)^2`` with scales ``s_i`` from 1 to 100, written with
  the array namespace it is given, so it runs on every library optimlab runs on.

At its top a problem plugin imports from ``optimlab.problems`` only (it is imported
while optimlab registers its problems); anything else of optimlab, inside functions.
"""

from __future__ import annotations

import numpy as np

from optimlab.problems import FunctionProblem, NetworkProblem

__all__ = ["BLOBS", "VALLEY", "Valley", "blobs_data"]

_CENTRES = np.array([[0.25, 0.25], [0.75, 0.3], [0.5, 0.8]])


def blobs_data() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """2,000 training and 500 test points in [0, 1]^2 around three centres, with labels."""
    rng = np.random.default_rng(2024)  # the same data at every call: a resume checks it

    def draw(n: int) -> tuple[np.ndarray, np.ndarray]:
        labels = rng.integers(0, 3, n)
        points = _CENTRES[labels] + rng.normal(0.0, 0.12, (n, 2))
        return np.clip(points, 0.0, 1.0), labels

    train, test = draw(2000), draw(500)
    return train[0], train[1], test[0], test[1]


BLOBS = NetworkProblem(
    name="blobs",
    summary="2-16-3 tanh network, softmax cross-entropy, on three Gaussian blobs",
    source="the optimlab-blobs example plugin",
    layers=(2, 16, 3),
    activation="tanh",
    output="softmax",
    batch_size=32,
    epochs=10,
    validation=400,  # of the 2,000 training points (optimlab benchmark)
    init="truncated_normal",
    data=blobs_data,
)


class Valley:
    """``l(theta; x) = 0.5 sum_i s_i (theta_i - x_i)^2``, ``s`` log-spaced from 1 to 100.

    The loss is linear in ``x`` apart from terms without ``theta``, so a batch's
    gradient is the gradient at its mean sample: ``s * (theta - mean(x_B))``.
    """

    name = "valley"
    dim = 10
    noise = 0.5

    def __init__(self) -> None:
        self.scales = np.logspace(0.0, 2.0, self.dim)
        self.start = np.full(self.dim, 2.0)

    def samples(self, noise: float) -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.RandomState(11)
        return noise * rng.standard_normal((4000, self.dim)), np.zeros((200, self.dim))

    def constants(self, backend, dtype):
        return backend.asarray(self.scales, dtype=dtype)

    def loss(self, xp, constants, theta, x):
        d = theta[..., None, :] - x
        return 0.5 * xp.sum(constants * d * d, axis=-1)

    def gradient(self, xp, constants, theta, mean):
        return constants * (theta - mean)

    def start_loss(self, noise: float | None = None) -> float:
        train, _ = self.samples(self.noise if noise is None else noise)
        return float(np.mean(0.5 * np.sum(self.scales * (self.start - train) ** 2, axis=-1)))


VALLEY = FunctionProblem(
    name="valley",
    summary="0.5 sum_i s_i (theta_i - x_i)^2 in 10 dimensions, s from 1 to 100, x ~ N(0, 0.5^2 I)",
    source="the optimlab-blobs example plugin",
    batch_size=64,
    epochs=5,
    validation=500,
    learning_rates={"sgd": 0.01, "adaptive": 0.05},
    function=Valley(),
)
