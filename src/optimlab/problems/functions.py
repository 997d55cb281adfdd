"""DeepOBS's noisy functions as training problems: a point ``theta`` instead of a network.

Each function has a data set of noise samples ``x_i``; a sample's loss is
``l(theta; x_i)`` and a step's loss the mean over a mini-batch, so the stochastic
gradient is the gradient at the batch mean ``mean(x_B)`` (both losses below are
linear in ``x`` apart from terms without ``theta``). The test set is DeepOBS's.

* ``quadratic_deep`` (Schneider, Balles & Hennig, "DeepOBS", ICLR 2019;
  ``deepobs/tensorflow/testproblems/quadratic_deep.py``, ``_quadratic.py`` and
  ``datasets/quadratic.py``): ``l(theta; x) = 0.5 (theta - x)^T Q (theta - x)`` in
  100 dimensions, with ``Q = R^T diag(lambda) R``: 90 eigenvalues drawn uniformly from
  (0, 1) and 10 from (30, 60) (the spectrum reported for deep networks, Chaudhari et
  al. 2017), ``R`` a rotation drawn from the Haar measure by Diaconis & Shahshahani's
  subgroup algorithm, all from ``RandomState(42)`` as DeepOBS draws them. The data:
  1,000 training and 1,000 test samples ``x ~ N(0, 0.6^2 I)`` (``RandomState(42)``
  and ``(43)``); ``theta`` starts at ``(1, ..., 1)``. Gradient: ``Q (theta - mean(x_B))``.
* ``rosenbrock``, ``beale``, ``branin`` (:mod:`optimlab.problems.surfaces`):
  ``l(u, v; x, y) = f(u, v) + u x + v y`` over 10,000 samples ``(x, y) ~ N(0, noise^2)``;
  the test set is all zeros, so the test loss is the exact ``f``. Gradient:
  ``grad f + mean((x, y)_B)``.

``noise`` scales the samples (DeepOBS's ``noise_level``: 0.6 and 1.0); 0 gives the
exact function at every step.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Any

import array_api_compat
import numpy as np

from ..errors import ConfigError
from . import surfaces

__all__ = ["FUNCTIONS", "Function", "deep_hessian", "get"]


@dataclass(frozen=True)
class Function:
    """A noisy function: its loss and gradient on a batch, its data, its start point."""

    name: str
    #: Dimensions of the point ``theta``.
    dim: int
    #: DeepOBS's standard deviation of the samples (its ``noise_level``).
    noise: float
    #: Training samples; the test set's size.
    train_size: int
    test_size: int
    #: ``theta`` at the start, ``(dim,)``.
    start: np.ndarray = field(repr=False)
    #: The quadratic's ``Q`` (None for a 2-D surface).
    hessian: np.ndarray | None = field(default=None, repr=False)

    @property
    def surface(self) -> surfaces.Surface | None:
        """The 2-D surface this function is (None for the quadratic)."""
        return surfaces.SURFACES.get(self.name)

    def samples(self, noise: float) -> tuple[np.ndarray, np.ndarray]:
        """The training and test samples, ``(n, dim)`` float64 on the host, scaled by ``noise``."""
        if self.hessian is not None:  # DeepOBS's draws: normal(0, noise) = noise * standard
            train = np.random.RandomState(42).standard_normal((self.train_size, self.dim))
            test = np.random.RandomState(43).standard_normal((self.test_size, self.dim))
            return noise * train, noise * test
        draws = np.random.RandomState(surfaces.DATA_SEED)  # x, then y, as DeepOBS draws them
        train = np.stack([draws.standard_normal(self.train_size) for _ in range(2)], axis=1)
        return noise * train, np.zeros((self.test_size, 2))

    def loss(self, xp: Any, constants: Any, theta: Any, x: Any) -> Any:
        """Each sample's loss, ``([K,] n)``, at ``theta`` ``([K,] dim)`` for samples ``x``
        ``([K,] n, dim)``; ``constants``: :meth:`constants`' result."""
        if self.hessian is not None:
            d = theta[..., None, :] - x
            return 0.5 * xp.sum(xp.matmul(d, constants) * d, axis=-1)
        f = self.surface.value(theta, xp=xp)
        return f[..., None] + xp.sum(theta[..., None, :] * x, axis=-1)

    def gradient(self, xp: Any, constants: Any, theta: Any, mean: Any) -> Any:
        """The gradient of the batch-mean loss, ``theta``'s shape, from the batch mean
        ``mean`` of the samples ``([K,] dim)``."""
        if self.hessian is not None:
            return xp.matmul(theta - mean, constants)  # Q is symmetric
        return self.surface.gradient(theta, xp=xp) + mean

    def start_loss(self, noise: float | None = None) -> float:
        """The mean training loss at the start point (``noise`` None: :attr:`noise`);
        computed once per function and level (every trial's divergence check reads it)."""
        return _start_loss(self.name, self.noise if noise is None else float(noise))

    def constants(self, backend: Any, dtype: Any) -> Any:
        """What :meth:`loss` and :meth:`gradient` need on the device: ``Q``, or None."""
        return None if self.hessian is None else backend.asarray(self.hessian, dtype=dtype)


def deep_hessian(dim: int = 100, seed: int = 42) -> np.ndarray:
    """DeepOBS's ``quadratic_deep`` Hessian ``R^T diag(lambda) R``, drawn from
    ``RandomState(seed)``: the eigenvalues (90% from U(0, 1), 10% from U(30, 60)), then
    the rotation (Diaconis & Shahshahani's subgroup algorithm: a random angle in SO(2),
    then for ``d = 2 .. dim-1`` a reflection taking ``e_1`` to a uniform point of the
    sphere, applied to ``diag(1, R_d)``; negated at the end, as DeepOBS returns it)."""
    rng = np.random.RandomState(seed)
    small = dim * 9 // 10
    eigenvalues = np.concatenate(
        [rng.uniform(0.0, 1.0, small), rng.uniform(30.0, 60.0, dim - small)]
    )
    angle = 2 * math.pi * rng.uniform()
    rotation = np.array([[math.cos(angle), math.sin(angle)], [-math.sin(angle), math.cos(angle)]])
    for d in range(2, dim):
        v = rng.normal(size=d + 1)
        v /= np.linalg.norm(v)
        e = np.zeros(d + 1)
        e[0] = 1.0
        u = (e - v) / np.linalg.norm(e - v)  # the reflection's normal
        block = np.zeros((d + 1, d + 1))
        block[0, 0] = 1.0
        block[1:, 1:] = rotation
        rotation = block - 2 * np.outer(u, u @ block)
    rotation = -rotation
    return rotation.T @ np.diag(eigenvalues) @ rotation


def _surface(name: str) -> Function:
    s = surfaces.SURFACES[name]
    size = surfaces.TRAIN_SIZE
    return Function(name, 2, 1.0, size, 1, np.array(s.start, dtype=np.float64))


#: The functions, by name.
FUNCTIONS: dict[str, Function] = {
    "quadratic_deep": Function(
        "quadratic_deep", 100, 0.6, 1000, 1000, np.ones(100), deep_hessian()
    ),
    **{name: _surface(name) for name in surfaces.SURFACES},
}


def get(name: str) -> Function:
    """The function called ``name``; a :class:`ConfigError` listing them if none is."""
    if name not in FUNCTIONS:
        raise ConfigError(f"unknown function {name!r}; choose from {', '.join(FUNCTIONS)}")
    return FUNCTIONS[name]


@functools.cache
def _start_loss(name: str, noise: float) -> float:
    function = FUNCTIONS[name]
    train, _ = function.samples(noise)
    xp = array_api_compat.array_namespace(train)
    return float(np.mean(function.loss(xp, function.hessian, function.start, train)))
