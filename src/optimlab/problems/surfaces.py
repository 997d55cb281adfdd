"""DeepOBS's noisy 2-D test functions: Rosenbrock, Beale and Branin.

Three classical functions of two parameters ``(u, v)``, made stochastic as DeepOBS
makes them (Schneider, Balles & Hennig, "DeepOBS: A Deep Learning Optimizer Benchmark
Suite", ICLR 2019; repository fsschneider/DeepOBS, files
``deepobs/tensorflow/testproblems/two_d_rosenbrock.py``, ``two_d_beale.py``,
``two_d_branin.py`` and the data set ``deepobs/tensorflow/datasets/two_d.py``; the
PyTorch port keeps the same definitions).

**The noise model.** The data set is ``train_size = 10000`` pairs ``(x_i, y_i)`` of
independent normal draws with mean 0 and standard deviation ``noise`` (DeepOBS's
``noise_level``, default 1.0; DeepOBS draws them from ``RandomState(42)``, so every run
sees the same data set, and so does optimlab). A sample's loss is the function plus a
term linear in the parameters,

.. math:: \\ell_i(u, v) = f(u, v) + u\\,x_i + v\\,y_i ,

and a step's loss is the mean over a mini-batch of ``batch_size = 128`` samples (the
batch size of DeepOBS's other problems and of its first 2-D problems,
``deepobs/two_d/noisy_rosenbrock.py``), drawn without replacement from the data set
shuffled anew each epoch (by the run's seed), the last incomplete batch dropped. Its
gradient is therefore the exact gradient plus the batch means:
``grad = grad f(u, v) + (mean(x_B), mean(y_B))``. DeepOBS's test set is all zeros:
it evaluates the exact function. ``noise = 0`` gives the exact function at every step.

**Steps.** DeepOBS gives these problems no default number of epochs (its
``deepobs/config.py`` lists none for them); optimlab's default is
:data:`DEFAULT_STEPS` steps (6.4 epochs of 78 steps).

Every function is written with the array namespace of its argument, so it runs on any
Array API library; the samples are drawn on the host with NumPy
(:meth:`optimlab.problems.functions.Function.samples`: the noise is data, as DeepOBS's
data set is), and a step's noise is its batch's mean sample, as the Trainer draws the
batches.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import array_api_compat

from .. import _checks, optimizers
from ..errors import ConfigError

__all__ = [
    "BATCH_SIZE",
    "DATA_SEED",
    "DEFAULT_STEPS",
    "SURFACES",
    "TRAIN_SIZE",
    "Surface",
    "check_noise",
    "get",
]

#: DeepOBS's data-set size (``two_d(train_size=10000)``).
TRAIN_SIZE = 10_000
#: Samples per step (DeepOBS's usual 128).
BATCH_SIZE = 128
#: The seed of DeepOBS's draw of the training set (``np.random.RandomState(42)``).
DATA_SEED = 42
#: Steps when none are given.
DEFAULT_STEPS = 500


@dataclass(frozen=True)
class Surface:
    """One 2-D test function: its value, gradient, start point and plotting window.

    ``w`` is an array whose last axis holds ``(u, v)`` (shape ``(2,)`` for a point,
    ``(n, m, 2)`` for a grid); :meth:`value` has its other axes, :meth:`gradient` its shape.
    """

    name: str
    #: The formula, in one line.
    summary: str
    #: Where the definition comes from.
    source: str
    #: DeepOBS's starting point ``(u, v)``.
    start: tuple[float, float]
    #: The global minima ``(u, v)`` (marked on the plot).
    minima: tuple[tuple[float, float], ...]
    #: The function's value at its minima.
    minimum: float
    #: The plotting window ``((u_min, u_max), (v_min, v_max))``.
    window: tuple[tuple[float, float], tuple[float, float]]
    #: ``(u, v, xp) -> f``, written with the namespace ``xp``.
    function: Callable[[Any, Any, Any], Any] = field(repr=False)
    #: ``(u, v, xp) -> (df/du, df/dv)``.
    derivative: Callable[[Any, Any, Any], tuple[Any, Any]] = field(repr=False)
    #: Default learning rates by optimizer name; ``"sgd"`` serves the optimizers that
    #: scale the gradient and ``"adaptive"`` every other one without an entry.
    learning_rates: Mapping[str, float] = field(default_factory=dict)
    #: Whether the problem has DeepOBS's noise model (``--noise`` applies).
    noisy: bool = True

    def value(self, w: Any, *, xp: Any = None) -> Any:
        """``f(u, v)`` over the last axis of ``w`` (the exact function, without noise).

        ``xp``: ``w``'s namespace, where the caller has it (a loop resolves it once).
        """
        xp = array_api_compat.array_namespace(w) if xp is None else xp
        return self.function(w[..., 0], w[..., 1], xp)

    def gradient(self, w: Any, *, xp: Any = None) -> Any:
        """The analytic gradient ``(df/du, df/dv)``, stacked on the last axis: ``w``'s shape."""
        xp = array_api_compat.array_namespace(w) if xp is None else xp
        du, dv = self.derivative(w[..., 0], w[..., 1], xp)
        return xp.stack([du, dv], axis=-1)

    def learning_rate(self, optimizer: str) -> float | None:
        """The default rate of ``optimizer`` here (None: the optimizer's own default): its
        own entry, else its family's (:attr:`~optimlab.optimizers.Optimizer.rate_family`;
        Prodigy estimates its own step size, so it keeps its ``lr = 1``).
        """
        if optimizer in self.learning_rates:
            return self.learning_rates[optimizer]
        cls = optimizers.OPTIMIZERS.get(optimizer)
        family = "adaptive" if cls is None else cls.rate_family
        return None if family is None else self.learning_rates[family]


# -- the functions and their gradients ------------------------------------------------


def _rosenbrock(u: Any, v: Any, xp: Any) -> Any:
    return (1.0 - u) ** 2 + 100.0 * (v - u**2) ** 2


def _rosenbrock_gradient(u: Any, v: Any, xp: Any) -> tuple[Any, Any]:
    valley = v - u**2
    return -2.0 * (1.0 - u) - 400.0 * u * valley, 200.0 * valley


def _beale_terms(u: Any, v: Any) -> tuple[Any, Any, Any]:
    return 1.5 - u + u * v, 2.25 - u + u * v**2, 2.625 - u + u * v**3


def _beale(u: Any, v: Any, xp: Any) -> Any:
    a, b, c = _beale_terms(u, v)
    return a**2 + b**2 + c**2


def _beale_gradient(u: Any, v: Any, xp: Any) -> tuple[Any, Any]:
    a, b, c = _beale_terms(u, v)
    du = 2.0 * (a * (v - 1.0) + b * (v**2 - 1.0) + c * (v**3 - 1.0))
    dv = 2.0 * u * (a + 2.0 * b * v + 3.0 * c * v**2)
    return du, dv


# Branin's constants, as DeepOBS writes them (a = 1)
_B, _C, _R, _S, _T = 5.1 / (4.0 * math.pi**2), 5.0 / math.pi, 6.0, 10.0, 1.0 / (8.0 * math.pi)


def _branin(u: Any, v: Any, xp: Any) -> Any:
    q = v - _B * u**2 + _C * u - _R
    return q**2 + _S * (1.0 - _T) * xp.cos(u) + _S


def _branin_gradient(u: Any, v: Any, xp: Any) -> tuple[Any, Any]:
    q = v - _B * u**2 + _C * u - _R
    return 2.0 * q * (_C - 2.0 * _B * u) - _S * (1.0 - _T) * xp.sin(u), 2.0 * q


_DEEPOBS = "DeepOBS (Schneider, Balles & Hennig, 2019): deepobs/tensorflow/testproblems"

#: The registered surfaces, by name.
#:
#: Their default learning rates make the picture of 500 steps at noise 1 sensible:
#: each is, among 25 rates log-spaced from 1e-7 to 10 (1e-6 to 1e5 for AdaDelta, whose
#: first steps are about ``lr * sqrt(eps)``), the one whose worst end over seeds 0 and
#: 1 is lowest, moved to a smaller rate where that one zig-zags across the valley.
#: The optimizers that scale the gradient (SGD, momentum) need rates below
#: ``2 / curvature``: Rosenbrock's valley has curvature ~1000 near (1, 1), Beale's is
#: ~1e5 at its start (-4.5, 4.5), hence 1.5e-3 and 1e-5. The adaptive ones step about
#: ``lr`` per coordinate, so theirs is a fraction of the way to the minimum (0.2);
#: RAdam's first five steps are SGD with momentum, so it takes SGD-sized rates where
#: the start is steep. Prodigy keeps ``lr = 1`` (it estimates its step size).
SURFACES: dict[str, Surface] = {
    s.name: s
    for s in (
        Surface(
            "rosenbrock",
            "(1 - u)^2 + 100 (v - u^2)^2 + u x + v y",
            f"{_DEEPOBS}/two_d_rosenbrock.py",
            start=(-0.5, 1.5),
            minima=((1.0, 1.0),),
            minimum=0.0,
            window=((-1.5, 1.5), (-0.5, 2.0)),
            function=_rosenbrock,
            derivative=_rosenbrock_gradient,
            learning_rates={
                "sgd": 1.5e-3,
                "momentum": 1e-3,
                "nesterov": 1e-3,
                "sf_sgd": 2e-3,
                "adagrad": 0.5,
                "rmsprop": 0.01,
                "adadelta": 300.0,
                "lion": 0.01,
                "radam": 3e-3,
                "adaptive": 0.2,
            },
        ),
        Surface(
            "beale",
            "(1.5 - u + uv)^2 + (2.25 - u + uv^2)^2 + (2.625 - u + uv^3)^2 + u x + v y",
            f"{_DEEPOBS}/two_d_beale.py",
            start=(-4.5, 4.5),
            minima=((3.0, 0.5),),
            minimum=0.0,
            window=((-4.5, 4.5), (-4.5, 4.5)),
            function=_beale,
            derivative=_beale_gradient,
            learning_rates={
                "sgd": 1e-5,
                "momentum": 1e-6,
                "nesterov": 2e-6,
                "sf_sgd": 5e-6,
                "adagrad": 2.0,
                "rmsprop": 0.02,
                "adadelta": 1000.0,
                "lion": 0.05,
                "radam": 1e-5,
                "adaptive": 0.2,
            },
        ),
        Surface(
            "branin",
            "(v - 5.1/(4 pi^2) u^2 + 5/pi u - 6)^2 + 10 (1 - 1/(8 pi)) cos(u) + 10 + u x + v y",
            f"{_DEEPOBS}/two_d_branin.py",
            start=(2.5, 12.5),
            minima=((-math.pi, 12.275), (math.pi, 2.275), (3.0 * math.pi, 2.475)),
            minimum=_S * _T,  # q = 0 and cos(u) = -1
            window=((-5.0, 10.0), (0.0, 15.0)),
            function=_branin,
            derivative=_branin_gradient,
            learning_rates={
                "sgd": 0.02,
                "momentum": 5e-3,
                "nesterov": 5e-3,
                "sf_sgd": 0.1,
                "adagrad": 1.0,
                "rmsprop": 0.02,
                "adadelta": 1000.0,
                "lion": 0.05,
                "radam": 0.2,
                "adafactor": 5e-3,
                "adaptive": 0.2,
            },
        ),
    )
}


def get(name: str) -> Surface:
    """The surface called ``name`` (DeepOBS's names, ``two_d_rosenbrock``, are accepted).

    Raises
    ------
    ConfigError
        No surface has that name (the message lists them).
    """
    key = name.strip().lower().removeprefix("two_d_") if isinstance(name, str) else None
    if key not in SURFACES:
        raise ConfigError(f"unknown 2-D problem {name!r}; choose from {', '.join(SURFACES)}")
    return SURFACES[key]


def check_noise(surface: Surface, noise: float) -> float:
    """``noise`` as a float ``>= 0``, the standard deviation of DeepOBS's ``x`` and ``y``.

    Raises
    ------
    ConfigError
        ``noise`` is not a finite number ``>= 0``, or is not 0 on a surface without a
        noise model.
    """
    return _checks.noise(surface.name, noise, surface.noisy)
