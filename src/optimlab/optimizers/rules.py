"""The seven update rules of the report, each equal to its ``torch.optim`` counterpart.

In the formulas ``g`` is the gradient (plus ``weight_decay * w`` where a rule is given
a weight decay, as torch adds it), ``t`` the step count starting at 1, and the
hyper-parameters are the rule's keyword arguments: Python floats, or arrays that
broadcast against the parameters (one value per member). Each rule is written with
in-place operators, in the order of operations its fused CuPy kernel (``native``,
compiled by :mod:`optimlab.backend.cupy_kernels`) repeats.

A new optimizer is a class here: its ``name``, its ``slots``, its hyper-parameters
declared once (:class:`~optimlab.optimizers.hyperparameters.Hyperparameter`: default,
check, doc line, search range), and an ``update`` that reads like its formula.
"""

from __future__ import annotations

from typing import Any

from ..backend.implementations import Kernel
from .base import Optimizer, l2
from .hyperparameters import Hyperparameter, epsilon, fraction, rate

__all__ = ["SGD", "AdaDelta", "AdaGrad", "Adam", "Momentum", "Nesterov", "RMSprop"]

#: L2 weight decay, as torch adds it (the rules of this module and Adam's family).
L2_DECAY = Hyperparameter(
    0.0,
    rate,
    "L2 weight decay, added to the gradient as torch adds it: g + weight_decay * w",
    search=(1e-7, 1e-3),
)
#: The report's momentum, tuned on a log scale of 1 - m.
MOMENTUM = Hyperparameter(
    0.8, fraction, "fraction of the velocity kept per step", search=(0.5, 0.996), scale="log1m"
)
#: The report's epsilon.
EPS = Hyperparameter(1e-10, epsilon, "added to the denominator")
#: The first and second moments' decays, tuned on a log scale of 1 - beta.
BETA1 = Hyperparameter(
    0.9, fraction, "decay of the first moment (the mean)", search=(0.5, 0.996), scale="log1m"
)
BETA2 = Hyperparameter(
    0.999, fraction, "decay of the second moment", search=(0.99, 0.9999), scale="log1m"
)
#: The decay of RMSprop's and AdaDelta's averages.
DECAY = Hyperparameter(
    0.9, fraction, "fraction of the averages kept per step", search=(0.8, 0.999), scale="log1m"
)


# The gradient with weight decay as an L2 term in a kernel (l2): q = g + weight_decay * w
_L2 = "T q = g + weight_decay * w;"


def learning_rate(default: float, low: float, high: float, doc: str = "learning rate") -> Any:
    """The declaration of a rate ``>= 0`` tuned over ``[low, high]`` on a log scale."""
    return Hyperparameter(default, rate, doc, search=(low, high))


def adam_corrections(
    t: Any, scalars: dict[str, Any], *, lr: Any, beta1: Any, beta2: Any, **_: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Adam's per-step hook: the bias corrections ``step = lr / (1 - beta1**t)`` and
    ``root = 1 / sqrt(1 - beta2**t)``, Python floats (or the hyper-parameters' and a
    graph's count's arrays), computed once per step for :func:`adam_step` and the kernel."""
    return {"step": lr / (1.0 - beta1**t), "root": 1.0 / (1.0 - beta2**t) ** 0.5}, scalars


#: The learning rate the report gives momentum, Nesterov and AdaGrad.
REPORT_RATE = learning_rate(0.1, 1e-3, 1e1, "learning rate (the report's)")


class SGD(Optimizer):
    """Plain gradient descent: ``w -= lr * g``."""

    name = "sgd"
    lr = learning_rate(1.0, 1e-3, 1e1, "step size per unit of gradient (the report's)")
    weight_decay = L2_DECAY
    pass_cost = 1.0
    rate_family = "sgd"
    native = {"cupy": Kernel(("lr", "weight_decay"), ("w",), _L2 + "w -= lr * q;")}

    @staticmethod
    def update(xp, w, g, *, t, lr, weight_decay):
        w -= lr * l2(w, g, weight_decay)
        return w, ()


class Momentum(Optimizer):
    """Gradient descent with momentum (Polyak's heavy ball).

    ``v = momentum * v + lr * g``, then ``w -= v``. Equals ``torch.optim.SGD`` with
    ``momentum`` and ``dampening=0``, whose buffer is ``v / lr``.
    """

    name = "momentum"
    slots = ("velocity",)
    lr = REPORT_RATE
    momentum = MOMENTUM
    weight_decay = L2_DECAY
    pass_cost = 2.0
    rate_family = "sgd"
    native = {
        "cupy": Kernel(
            ("lr", "momentum", "weight_decay"),
            ("w", "v"),
            _L2 + "v = momentum * v + lr * q; w -= v;",
        )
    }

    @staticmethod
    def update(xp, w, g, v, *, t, lr, momentum, weight_decay):
        g = l2(w, g, weight_decay)
        v *= momentum
        v += lr * g
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
    """

    name = "nesterov"
    slots = ("velocity",)
    lr = REPORT_RATE
    momentum = MOMENTUM.but(doc="m, the momentum of the look-ahead")
    weight_decay = L2_DECAY
    pass_cost = 2.9
    rate_family = "sgd"
    native = {
        "cupy": Kernel(
            ("lr", "momentum", "weight_decay"),
            ("w", "v"),
            _L2 + "T s = lr * q; v = momentum * v + s; w -= s + momentum * v;",
        )
    }

    @staticmethod
    def update(xp, u, g, v, *, t, lr, momentum, weight_decay):
        step = lr * l2(u, g, weight_decay)
        v *= momentum
        v += step
        step += momentum * v
        u -= step
        return u, (v,)


class AdaGrad(Optimizer):
    """AdaGrad (Duchi, Hazan & Singer, 2011): per-coordinate steps shrink with the gradient history.

    ``G += g**2``, then ``w -= lr * g / (sqrt(G) + eps)``.
    """

    name = "adagrad"
    slots = ("sum_squares",)
    lr = REPORT_RATE
    eps = EPS
    weight_decay = L2_DECAY
    pass_cost = 1.4
    native = {
        "cupy": Kernel(
            ("lr", "eps", "weight_decay"),
            ("w", "G"),
            _L2 + "G += q * q; w -= lr * q / (sqrt(G) + eps);",
        )
    }

    @staticmethod
    def update(xp, w, g, G, *, t, lr, eps, weight_decay):
        g = l2(w, g, weight_decay)
        G += g * g
        denominator = xp.sqrt(G)
        denominator += eps
        w -= lr * g / denominator
        return w, (G,)


class RMSprop(Optimizer):
    """RMSprop (Tieleman & Hinton, 2012): AdaGrad with a decaying average of squares.

    ``E = decay * E + (1 - decay) * g**2``, then ``w -= lr * g / (sqrt(E) + eps)``.
    Equals ``torch.optim.RMSprop`` with ``alpha = decay``, uncentered, no momentum.
    """

    name = "rmsprop"
    slots = ("mean_square",)
    lr = learning_rate(0.001, 1e-5, 1e-1, "learning rate (the report's)")
    decay = DECAY.but(doc="fraction of the average of squares kept per step")
    eps = EPS
    weight_decay = L2_DECAY
    pass_cost = 3.2
    native = {
        "cupy": Kernel(
            ("lr", "decay", "eps", "weight_decay"),
            ("w", "E"),
            _L2 + "E = decay * E + (1 - decay) * (q * q); w -= lr * q / (sqrt(E) + eps);",
        )
    }

    @staticmethod
    def update(xp, w, g, E, *, t, lr, decay, eps, weight_decay):
        g = l2(w, g, weight_decay)
        E *= decay
        E += (1.0 - decay) * (g * g)
        denominator = xp.sqrt(E)
        denominator += eps
        w -= lr * g / denominator
        return w, (E,)


class AdaDelta(Optimizer):
    """AdaDelta (Zeiler, 2012): steps scaled by the ratio of past update and gradient RMS.

    ::

        E = decay * E + (1 - decay) * g**2
        D = g * sqrt(P + eps) / sqrt(E + eps)
        P = decay * P + (1 - decay) * D**2
        w -= lr * D

    Equals ``torch.optim.Adadelta`` with ``rho = decay``.
    """

    name = "adadelta"
    slots = ("mean_square", "mean_square_delta")
    lr = learning_rate(100.0, 1e-1, 1e3, "scale of the update (the report's; Zeiler's is 1)")
    decay = DECAY
    eps = EPS.but(doc="added under both square roots")
    weight_decay = L2_DECAY
    pass_cost = 3.5
    native = {
        "cupy": Kernel(
            ("lr", "decay", "eps", "weight_decay"),
            ("w", "E", "P"),
            _L2 + "E = decay * E + (1 - decay) * (q * q);"
            "T D = sqrt(P + eps) / sqrt(E + eps) * q;"
            "P = decay * P + (1 - decay) * (D * D);"
            "w -= lr * D;",
        )
    }

    @staticmethod
    def update(xp, w, g, E, P, *, t, lr, decay, eps, weight_decay):
        g = l2(w, g, weight_decay)
        E *= decay
        E += (1.0 - decay) * (g * g)
        D = xp.sqrt(P + eps) / xp.sqrt(E + eps) * g
        P *= decay
        P += (1.0 - decay) * (D * D)
        w -= lr * D
        return w, (E, P)


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015): momentum and RMS scaling, both bias-corrected.

    ::

        M = beta1 * M + (1 - beta1) * g
        N = beta2 * N + (1 - beta2) * g**2
        w -= lr * (M / (1 - beta1**t)) / (sqrt(N / (1 - beta2**t)) + eps)

    ``t`` counts steps (the report counted epochs, which shrinks the early steps);
    the corrections ``1 - beta**t`` are computed in Python floats (or the
    hyper-parameters' arrays). Equals ``torch.optim.Adam``.
    """

    name = "adam"
    slots = ("mean", "mean_square")
    lr = learning_rate(0.01, 1e-5, 1e-1, "learning rate (the report's)")
    beta1 = BETA1
    beta2 = BETA2
    eps = EPS
    weight_decay = L2_DECAY
    pass_cost = 5.0
    native = {
        "cupy": Kernel(
            ("step", "beta1", "beta2", "root", "eps", "weight_decay"),
            ("w", "M", "N"),
            _L2 + "M = beta1 * M + (1 - beta1) * q; N = beta2 * N + (1 - beta2) * (q * q);"
            "w -= step * M / (sqrt(N) * root + eps);",
        )
    }

    per_step = staticmethod(adam_corrections)

    @staticmethod
    def update(xp, w, g, M, N, *, t, lr, beta1, beta2, eps, weight_decay, step, root):
        g = l2(w, g, weight_decay)
        M, N = moments(g, M, N, beta1, beta2)
        w = adam_step(xp, w, M, N, step=step, root=root, eps=eps)
        return w, (M, N)


def moments(g: Any, M: Any, N: Any, beta1: Any, beta2: Any) -> tuple[Any, Any]:
    """``M = beta1 M + (1 - beta1) g`` and ``N = beta2 N + (1 - beta2) g**2``.

    In place where arrays are mutable; use the returned arrays (on the others the
    operators rebind).
    """
    M *= beta1
    M += (1.0 - beta1) * g
    N *= beta2
    N += (1.0 - beta2) * (g * g)
    return M, N


def adam_step(xp: Any, w: Any, M: Any, N: Any, *, step: Any, root: Any, eps: Any) -> Any:
    """``w -= step * M / (sqrt(N) * root + eps)`` with :func:`adam_corrections`' ``step``
    and ``root``: ``lr * (M / (1 - beta1**t)) / (sqrt(N / (1 - beta2**t)) + eps)``."""
    denominator = xp.sqrt(N)  # sqrt(N / (1 - beta2**t)) + eps, built in one temporary
    denominator *= root
    denominator += eps
    w -= step * M / denominator
    return w
