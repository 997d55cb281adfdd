"""The seven update rules of the report, as pure functions of (params, grads, state).

Every optimizer follows one small protocol (the shape of optax's)::

    opt = Adam(lr=0.01, beta1=0.9, beta2=0.999, eps=1e-10)
    state = opt.init(params)                        # params: a list of arrays
    params, state = opt.step(params, grads, state)  # new parameters and state

``params`` is a list of arrays of any Array API library (optimlab's own model
passes one flat vector). The state is a NamedTuple: the step count ``count``
(a Python int, so reading it never synchronizes a device) and one list of
arrays per accumulator, each on the parameters' device with their dtype.
``step`` leaves its arguments untouched; ``step(..., inplace=True)``
overwrites them instead of allocating new ones, which is what a training
loop that owns its arrays wants.

In the formulas ``g`` is the gradient, ``t`` the step count starting at 1 and
all hyper-parameters are constant. With those, each rule equals its
``torch.optim`` counterpart, which the tests use as an oracle.

A new optimizer is a NamedTuple for its state, a constructor that validates its
hyper-parameters and an ``update`` that reads like its formula.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Sequence
from typing import Any, ClassVar, NamedTuple

import array_api_compat

from ..errors import ConfigError

__all__ = [
    "OPTIMIZERS",
    "SGD",
    "AdaDelta",
    "AdaGrad",
    "Adam",
    "Momentum",
    "Nesterov",
    "Optimizer",
    "RMSprop",
    "defaults",
    "describe",
    "get",
    "stack",
]


class Optimizer:
    """Base class: runs :meth:`update` on each parameter array and collects the state."""

    #: The registry name (``optimlab.optimizers.get(name)``).
    name: ClassVar[str]
    #: The NamedTuple of the state: ``count`` first, then one field per accumulator.
    State: ClassVar[type]

    def init(self, params: Sequence[Any]) -> Any:
        """The initial state: step count 0 and zero accumulators shaped like ``params``."""
        slots = self.State._fields[1:]
        return self.State(0, *([_zeros_like(p) for p in params] for _ in slots))

    def step(
        self,
        params: Sequence[Any],
        grads: Sequence[Any],
        state: Any,
        *,
        xp: Any = None,
        inplace: bool = False,
    ) -> tuple[list[Any], Any]:
        """One update of every parameter array; returns the new parameters and state.

        The arguments are left as they were, unless ``inplace=True``: then the
        parameter and state arrays are overwritten where the library allows it
        (saving the copies; a training loop that owns its arrays uses this), and
        the returned arrays are the ones to use either way. ``xp`` is the arrays'
        namespace; a training loop passes it to skip looking it up at every step.
        """
        if xp is None:
            xp = array_api_compat.array_namespace(*params, *grads)
        if not inplace:
            params = [xp.asarray(p, copy=True) for p in params]
            state = state._replace(
                **{
                    k: [xp.asarray(a, copy=True) for a in getattr(state, k)]
                    for k in state._fields[1:]
                }
            )
        t = state.count + 1
        # One update per parameter array: (w, g, its accumulators...) -> (w, accumulators).
        updates = [
            self.update(xp, w, g, *accumulators, t=t)
            for w, g, *accumulators in zip(params, grads, *state[1:], strict=True)
        ]
        slots = [list(column) for column in zip(*(acc for _, acc in updates))]
        return [w for w, _ in updates], self.State(t, *(slots or [[] for _ in state[1:]]))

    def update(self, xp: Any, w: Any, g: Any, *accumulators: Any, t: int) -> tuple[Any, tuple]:
        """The rule for one array: ``(w, g, accumulators..., t) -> (new w, new accumulators)``.

        Written with in-place operators (``w -= ...``), which overwrite ``w`` and the
        accumulators on libraries with mutable arrays and rebind them on the others.
        """
        raise NotImplementedError

    @property
    def hyperparameters(self) -> dict[str, float]:
        """The constructor's arguments and their values."""
        return {name: getattr(self, name) for name in _parameters(type(self))}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.hyperparameters.items())
        return f"{type(self).__name__}({args})"

    def __str__(self) -> str:
        return describe(self.name, self.hyperparameters)

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.hyperparameters == other.hyperparameters

    def __hash__(self) -> int:
        return hash((type(self), tuple(self.hyperparameters.items())))


class SGDState(NamedTuple):
    count: int


class SGD(Optimizer):
    """Plain gradient descent: ``w -= lr * g``.

    Parameters
    ----------
    lr
        Learning rate (step size per unit of gradient), ``lr >= 0``. The report uses 1.
    """

    name = "sgd"
    State = SGDState

    def __init__(self, lr: float = 1.0) -> None:
        self.lr = _rate("lr", lr)

    def update(self, xp, w, g, *, t):
        w -= self.lr * g
        return w, ()


class MomentumState(NamedTuple):
    count: int
    velocity: list[Any]


class Momentum(Optimizer):
    """Gradient descent with momentum (Polyak's heavy ball).

    ``v = momentum * v + lr * g``, then ``w -= v``. Equals ``torch.optim.SGD`` with
    ``momentum`` and ``dampening=0``, whose buffer is ``v / lr``.

    Parameters
    ----------
    lr
        Learning rate, ``lr >= 0`` (report: 0.1).
    momentum
        Fraction of the velocity kept per step, in ``[0, 1)`` (report: 0.8).
    """

    name = "momentum"
    State = MomentumState

    def __init__(self, lr: float = 0.1, momentum: float = 0.8) -> None:
        self.lr = _rate("lr", lr)
        self.momentum = _fraction("momentum", momentum)

    def update(self, xp, w, g, v, *, t):
        v *= self.momentum
        v += self.lr * g
        w -= v
        return w, (v,)


class Nesterov(Optimizer):
    """Nesterov's accelerated gradient, with one gradient per step.

    The report's form evaluates the gradient at the look-ahead point:
    ``v = m * v + lr * grad(w - m * v); w -= v``. Storing that look-ahead point
    ``u = w - m * v`` as the parameters gives the same trajectory from the
    gradient at the parameters alone (the form of ``torch.optim.SGD(nesterov=True)``
    and optax)::

        v = m * v + lr * g(u)
        u -= lr * g(u) + m * v

    Parameters
    ----------
    lr
        Learning rate, ``lr >= 0`` (report: 0.1).
    momentum
        ``m``, in ``[0, 1)`` (report: 0.8).
    """

    name = "nesterov"
    State = MomentumState

    def __init__(self, lr: float = 0.1, momentum: float = 0.8) -> None:
        self.lr = _rate("lr", lr)
        self.momentum = _fraction("momentum", momentum)

    def update(self, xp, u, g, v, *, t):
        step = self.lr * g
        v *= self.momentum
        v += step
        step += self.momentum * v
        u -= step
        return u, (v,)


class AdaGradState(NamedTuple):
    count: int
    sum_squares: list[Any]


class AdaGrad(Optimizer):
    """AdaGrad (Duchi, Hazan & Singer, 2011): per-coordinate steps shrink with the gradient history.

    ``G += g**2``, then ``w -= lr * g / (sqrt(G) + eps)``.

    Parameters
    ----------
    lr
        Learning rate, ``lr >= 0`` (report: 0.1).
    eps
        Added to the denominator, ``eps > 0`` (report: 1e-10).
    """

    name = "adagrad"
    State = AdaGradState

    def __init__(self, lr: float = 0.1, eps: float = 1e-10) -> None:
        self.lr = _rate("lr", lr)
        self.eps = _epsilon(eps)

    def update(self, xp, w, g, G, *, t):
        G += g * g
        denominator = xp.sqrt(G)
        denominator += self.eps
        w -= self.lr * g / denominator
        return w, (G,)


class RMSpropState(NamedTuple):
    count: int
    mean_square: list[Any]


class RMSprop(Optimizer):
    """RMSprop (Tieleman & Hinton, 2012): AdaGrad with a decaying average of squares.

    ``E = decay * E + (1 - decay) * g**2``, then ``w -= lr * g / (sqrt(E) + eps)``.
    Equals ``torch.optim.RMSprop`` with ``alpha = decay``, uncentered, no momentum.

    Parameters
    ----------
    lr
        Learning rate, ``lr >= 0`` (report: 0.001).
    decay
        Fraction of the average kept per step, in ``[0, 1)`` (report: 0.9).
    eps
        Added to the denominator, ``eps > 0`` (report: 1e-10).
    """

    name = "rmsprop"
    State = RMSpropState

    def __init__(self, lr: float = 0.001, decay: float = 0.9, eps: float = 1e-10) -> None:
        self.lr = _rate("lr", lr)
        self.decay = _fraction("decay", decay)
        self.eps = _epsilon(eps)

    def update(self, xp, w, g, E, *, t):
        E *= self.decay
        E += (1.0 - self.decay) * (g * g)
        denominator = xp.sqrt(E)
        denominator += self.eps
        w -= self.lr * g / denominator
        return w, (E,)


class AdaDeltaState(NamedTuple):
    count: int
    mean_square: list[Any]
    mean_square_delta: list[Any]


class AdaDelta(Optimizer):
    """AdaDelta (Zeiler, 2012): steps scaled by the ratio of past update and gradient RMS.

    ::

        E = decay * E + (1 - decay) * g**2
        D = g * sqrt(P + eps) / sqrt(E + eps)
        P = decay * P + (1 - decay) * D**2
        w -= lr * D

    Equals ``torch.optim.Adadelta`` with ``rho = decay``.

    Parameters
    ----------
    lr
        Scale of the update, ``lr >= 0`` (report: 100; Zeiler's original is 1).
    decay
        Fraction of the averages kept per step, in ``[0, 1)`` (report: 0.9).
    eps
        Added under both square roots, ``eps > 0`` (report: 1e-10).
    """

    name = "adadelta"
    State = AdaDeltaState

    def __init__(self, lr: float = 100.0, decay: float = 0.9, eps: float = 1e-10) -> None:
        self.lr = _rate("lr", lr)
        self.decay = _fraction("decay", decay)
        self.eps = _epsilon(eps)

    def update(self, xp, w, g, E, P, *, t):
        d = self.decay
        E *= d
        E += (1.0 - d) * (g * g)
        D = xp.sqrt(P + self.eps) / xp.sqrt(E + self.eps) * g
        P *= d
        P += (1.0 - d) * (D * D)
        w -= self.lr * D
        return w, (E, P)


class AdamState(NamedTuple):
    count: int
    mean: list[Any]
    mean_square: list[Any]


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015): momentum and RMS scaling, both bias-corrected.

    ::

        M = beta1 * M + (1 - beta1) * g
        N = beta2 * N + (1 - beta2) * g**2
        w -= lr * (M / (1 - beta1**t)) / (sqrt(N / (1 - beta2**t)) + eps)

    ``t`` counts steps (the report counted epochs, which shrinks the early steps);
    the corrections ``1 - beta**t`` are computed in Python floats. Equals
    ``torch.optim.Adam``.

    Parameters
    ----------
    lr
        Learning rate, ``lr >= 0`` (report: 0.01).
    beta1, beta2
        Decay of the first and second moment averages, each in ``[0, 1)`` (report: 0.9, 0.999).
    eps
        Added to the denominator, ``eps > 0`` (report: 1e-10).
    """

    name = "adam"
    State = AdamState

    def __init__(
        self, lr: float = 0.01, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-10
    ) -> None:
        self.lr = _rate("lr", lr)
        self.beta1 = _fraction("beta1", beta1)
        self.beta2 = _fraction("beta2", beta2)
        self.eps = _epsilon(eps)

    def update(self, xp, w, g, M, N, *, t):
        b1, b2 = self.beta1, self.beta2
        M *= b1
        M += (1.0 - b1) * g
        N *= b2
        N += (1.0 - b2) * (g * g)
        # sqrt(N / (1 - b2**t)) + eps, built in one temporary
        denominator = xp.sqrt(N)
        denominator *= 1.0 / (1.0 - b2**t) ** 0.5
        denominator += self.eps
        w -= (self.lr / (1.0 - b1**t)) * M / denominator
        return w, (M, N)


#: Registry name -> optimizer class, in the report's order.
OPTIMIZERS: dict[str, type[Optimizer]] = {
    cls.name: cls for cls in (SGD, Momentum, Nesterov, AdaGrad, RMSprop, AdaDelta, Adam)
}


def get(name: str, **hyperparameters: float) -> Optimizer:
    """The optimizer registered as ``name`` with the given hyper-parameters (others default).

    Raises
    ------
    ConfigError
        ``name`` is unknown, or a hyper-parameter is not one of that optimizer's or is
        impossible (``ConfigError`` is a ``ValueError``).
    """
    cls = _class(name)
    allowed = _parameters(cls)
    unknown = [k for k in hyperparameters if k not in allowed]
    if unknown:
        raise ConfigError(
            f"{cls.name} has no hyper-parameter {unknown[0]!r}; its hyper-parameters are "
            f"{', '.join(allowed)}"
        )
    return cls(**hyperparameters)


def defaults(name: str) -> dict[str, float]:
    """The hyper-parameters of the optimizer registered as ``name``, with their defaults."""
    cls = _class(name)
    return {
        k: v.default for k, v in inspect.signature(cls.__init__).parameters.items() if k != "self"
    }


def describe(name: str, hyperparameters: dict[str, float]) -> str:
    """How tables and logs name a setting: ``"adam (lr=0.01, beta1=0.9, ...)"``."""
    return f"{name} ({', '.join(f'{k}={v:g}' for k, v in hyperparameters.items())})"


def stack(optimizers: Sequence[Optimizer], like: Any) -> Optimizer:
    """One optimizer for K members of the same kind, each with its own hyper-parameters.

    A hyper-parameter that all members share stays a Python float; one that differs
    becomes an array of shape ``(K, 1)`` with ``like``'s namespace, device and dtype,
    so that the rule, applied to parameters of shape ``(K, size)``, uses member
    ``k``'s value on row ``k`` (broadcasting does the rest: the rules are unchanged).

    Raises
    ------
    ConfigError
        The optimizers are not all of one kind.
    """
    kinds = {type(o) for o in optimizers}
    if len(kinds) != 1:
        names = ", ".join(sorted(k.name for k in kinds))
        raise ConfigError(f"stack() needs optimizers of one kind, not {names}")
    cls = kinds.pop()
    xp = array_api_compat.array_namespace(like)
    device = array_api_compat.device(like)
    stacked = object.__new__(cls)
    for name in _parameters(cls):
        values = [getattr(o, name) for o in optimizers]
        if all(v == values[0] for v in values):
            setattr(stacked, name, values[0])
        else:
            setattr(
                stacked, name, xp.asarray([[v] for v in values], dtype=like.dtype, device=device)
            )
    return stacked


def _class(name: str) -> type[Optimizer]:
    cls = OPTIMIZERS.get(name.lower()) if isinstance(name, str) else None
    if cls is None:
        raise ConfigError(f"unknown optimizer {name!r}: choose one of {', '.join(OPTIMIZERS)}")
    return cls


def _parameters(cls: type) -> list[str]:
    return list(inspect.signature(cls.__init__).parameters)[1:]


def _zeros_like(p: Any) -> Any:
    return array_api_compat.array_namespace(p).zeros_like(p)


def _number(name: str, value: Any) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a number, not {value!r}") from None
    if not math.isfinite(value):
        raise ConfigError(f"{name} must be finite, not {value}")
    return value


def _rate(name: str, value: Any) -> float:
    value = _number(name, value)
    if value < 0:
        raise ConfigError(f"{name} must be >= 0, not {value}")
    return value


def _fraction(name: str, value: Any) -> float:
    value = _number(name, value)
    if not 0.0 <= value < 1.0:
        raise ConfigError(f"{name} must be in [0, 1), not {value}")
    return value


def _epsilon(value: Any) -> float:
    value = _number("eps", value)
    if value <= 0:
        raise ConfigError(f"eps must be > 0, not {value}")
    return value
