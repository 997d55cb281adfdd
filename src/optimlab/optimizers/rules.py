"""The seven update rules of the report, each equal to its ``torch.optim`` counterpart.

In the formulas ``g`` is the gradient (plus ``weight_decay * w`` where a rule is given
a weight decay, as torch adds it), ``t`` the step count starting at 1, and the
hyper-parameters are the rule's keyword arguments: Python floats, or arrays that
broadcast against the parameters (one value per member). Each rule is written with
in-place operators, in the order of operations its fused CuPy kernel
(:mod:`optimlab.backend.cupy_kernels`) repeats.

A new optimizer is a class here: its ``name``, its ``slots``, a constructor that
validates its hyper-parameters, and an ``update`` that reads like its formula.
"""

from __future__ import annotations

from typing import Any

from .base import Optimizer, epsilon, fraction, l2, rate

__all__ = ["SGD", "AdaDelta", "AdaGrad", "Adam", "Momentum", "Nesterov", "RMSprop"]


class SGD(Optimizer):
    """Plain gradient descent: ``w -= lr * g``.

    Parameters
    ----------
    lr
        Learning rate (step size per unit of gradient), ``lr >= 0``. The report uses 1.
    weight_decay
        L2 weight decay, added to the gradient as torch adds it: ``g + weight_decay * w``;
        ``>= 0`` (default 0).
    **options
        The options every optimizer takes (``schedule``, ``clip_norm``, ``decay_biases``;
        see :class:`~optimlab.optimizers.Optimizer`).
    """

    name = "sgd"

    def __init__(self, lr: float = 1.0, weight_decay: float = 0.0, **options: Any) -> None:
        super().__init__(**options)
        self.lr = rate("lr", lr)
        self.weight_decay = rate("weight_decay", weight_decay)

    @staticmethod
    def update(xp, w, g, *, t, lr, weight_decay):
        w -= lr * l2(w, g, weight_decay)
        return w, ()


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
    weight_decay
        L2 weight decay, added to the gradient as torch adds it: ``g + weight_decay * w``;
        ``>= 0`` (default 0).
    **options
        The options every optimizer takes (``schedule``, ``clip_norm``, ``decay_biases``;
        see :class:`~optimlab.optimizers.Optimizer`).
    """

    name = "momentum"
    slots = ("velocity",)

    def __init__(
        self, lr: float = 0.1, momentum: float = 0.8, weight_decay: float = 0.0, **options: Any
    ) -> None:
        super().__init__(**options)
        self.lr = rate("lr", lr)
        self.momentum = fraction("momentum", momentum)
        self.weight_decay = rate("weight_decay", weight_decay)

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

    Parameters
    ----------
    lr
        Learning rate, ``lr >= 0`` (report: 0.1).
    momentum
        ``m``, in ``[0, 1)`` (report: 0.8).
    weight_decay
        L2 weight decay, added to the gradient as torch adds it: ``g + weight_decay * w``;
        ``>= 0`` (default 0).
    **options
        The options every optimizer takes (``schedule``, ``clip_norm``, ``decay_biases``;
        see :class:`~optimlab.optimizers.Optimizer`).
    """

    name = "nesterov"
    slots = ("velocity",)

    def __init__(
        self, lr: float = 0.1, momentum: float = 0.8, weight_decay: float = 0.0, **options: Any
    ) -> None:
        super().__init__(**options)
        self.lr = rate("lr", lr)
        self.momentum = fraction("momentum", momentum)
        self.weight_decay = rate("weight_decay", weight_decay)

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

    Parameters
    ----------
    lr
        Learning rate, ``lr >= 0`` (report: 0.1).
    eps
        Added to the denominator, ``eps > 0`` (report: 1e-10).
    weight_decay
        L2 weight decay, added to the gradient as torch adds it: ``g + weight_decay * w``;
        ``>= 0`` (default 0).
    **options
        The options every optimizer takes (``schedule``, ``clip_norm``, ``decay_biases``;
        see :class:`~optimlab.optimizers.Optimizer`).
    """

    name = "adagrad"
    slots = ("sum_squares",)

    def __init__(
        self, lr: float = 0.1, eps: float = 1e-10, weight_decay: float = 0.0, **options: Any
    ) -> None:
        super().__init__(**options)
        self.lr = rate("lr", lr)
        self.eps = epsilon(eps)
        self.weight_decay = rate("weight_decay", weight_decay)

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

    Parameters
    ----------
    lr
        Learning rate, ``lr >= 0`` (report: 0.001).
    decay
        Fraction of the average kept per step, in ``[0, 1)`` (report: 0.9).
    eps
        Added to the denominator, ``eps > 0`` (report: 1e-10).
    weight_decay
        L2 weight decay, added to the gradient as torch adds it: ``g + weight_decay * w``;
        ``>= 0`` (default 0).
    **options
        The options every optimizer takes (``schedule``, ``clip_norm``, ``decay_biases``;
        see :class:`~optimlab.optimizers.Optimizer`).
    """

    name = "rmsprop"
    slots = ("mean_square",)

    def __init__(
        self,
        lr: float = 0.001,
        decay: float = 0.9,
        eps: float = 1e-10,
        weight_decay: float = 0.0,
        **options: Any,
    ) -> None:
        super().__init__(**options)
        self.lr = rate("lr", lr)
        self.decay = fraction("decay", decay)
        self.eps = epsilon(eps)
        self.weight_decay = rate("weight_decay", weight_decay)

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

    Parameters
    ----------
    lr
        Scale of the update, ``lr >= 0`` (report: 100; Zeiler's original is 1).
    decay
        Fraction of the averages kept per step, in ``[0, 1)`` (report: 0.9).
    eps
        Added under both square roots, ``eps > 0`` (report: 1e-10).
    weight_decay
        L2 weight decay, added to the gradient as torch adds it: ``g + weight_decay * w``;
        ``>= 0`` (default 0).
    **options
        The options every optimizer takes (``schedule``, ``clip_norm``, ``decay_biases``;
        see :class:`~optimlab.optimizers.Optimizer`).
    """

    name = "adadelta"
    slots = ("mean_square", "mean_square_delta")

    def __init__(
        self,
        lr: float = 100.0,
        decay: float = 0.9,
        eps: float = 1e-10,
        weight_decay: float = 0.0,
        **options: Any,
    ) -> None:
        super().__init__(**options)
        self.lr = rate("lr", lr)
        self.decay = fraction("decay", decay)
        self.eps = epsilon(eps)
        self.weight_decay = rate("weight_decay", weight_decay)

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

    Parameters
    ----------
    lr
        Learning rate, ``lr >= 0`` (report: 0.01).
    beta1, beta2
        Decay of the first and second moment averages, each in ``[0, 1)`` (report: 0.9, 0.999).
    eps
        Added to the denominator, ``eps > 0`` (report: 1e-10).
    weight_decay
        L2 weight decay, added to the gradient as torch adds it: ``g + weight_decay * w``;
        ``>= 0`` (default 0).
    **options
        The options every optimizer takes (``schedule``, ``clip_norm``, ``decay_biases``;
        see :class:`~optimlab.optimizers.Optimizer`).
    """

    name = "adam"
    slots = ("mean", "mean_square")

    def __init__(
        self,
        lr: float = 0.01,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-10,
        weight_decay: float = 0.0,
        **options: Any,
    ) -> None:
        super().__init__(**options)
        self.lr = rate("lr", lr)
        self.beta1 = fraction("beta1", beta1)
        self.beta2 = fraction("beta2", beta2)
        self.eps = epsilon(eps)
        self.weight_decay = rate("weight_decay", weight_decay)

    @staticmethod
    def update(xp, w, g, M, N, *, t, lr, beta1, beta2, eps, weight_decay):
        g = l2(w, g, weight_decay)
        M, N = moments(g, M, N, beta1, beta2)
        w = adam_step(xp, w, M, N, t=t, lr=lr, beta1=beta1, beta2=beta2, eps=eps)
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


def adam_step(
    xp: Any, w: Any, M: Any, N: Any, *, t: Any, lr: Any, beta1: Any, beta2: Any, eps: Any
) -> Any:
    """``w -= lr * (M / (1 - beta1**t)) / (sqrt(N / (1 - beta2**t)) + eps)``; returns ``w``."""
    # sqrt(N / (1 - beta2**t)) + eps, built in one temporary
    denominator = xp.sqrt(N)
    denominator *= 1.0 / (1.0 - beta2**t) ** 0.5
    denominator += eps
    w -= (lr / (1.0 - beta1**t)) * M / denominator
    return w
