"""Lion (Chen et al., 2023): the sign of an interpolated momentum as the step."""

from __future__ import annotations

from typing import Any

from .base import Optimizer, decoupled_decay, fraction, rate

__all__ = ["Lion"]


class Lion(Optimizer):
    """Lion: every coordinate moves by ``lr`` in the direction of a momentum's sign.

    ::

        w *= 1 - lr * weight_decay
        w -= lr * sign(beta1 * M + (1 - beta1) * g)
        M = beta2 * M + (1 - beta2) * g

    Equals ``lion_pytorch.Lion`` (decay applied as that package does by default).

    Parameters
    ----------
    lr
        Step per coordinate, ``lr >= 0`` (default 1e-4).
    beta1, beta2
        Interpolation of the step's momentum and decay of the stored one, in ``[0, 1)``
        (0.9, 0.99).
    weight_decay
        Decoupled weight decay, ``>= 0`` (0).
    """

    name = "lion"
    slots = ("mean",)

    def __init__(
        self,
        lr: float = 1e-4,
        beta1: float = 0.9,
        beta2: float = 0.99,
        weight_decay: float = 0.0,
        **options: Any,
    ) -> None:
        super().__init__(**options)
        self.lr = rate("lr", lr)
        self.beta1 = fraction("beta1", beta1)
        self.beta2 = fraction("beta2", beta2)
        self.weight_decay = rate("weight_decay", weight_decay)

    @staticmethod
    def update(xp, w, g, M, *, t, lr, beta1, beta2, weight_decay):
        w = decoupled_decay(w, lr, weight_decay)
        u = beta1 * M  # the interpolation, built in one temporary
        u += (1.0 - beta1) * g
        u = xp.sign(u)
        u *= lr
        w -= u
        M *= beta2
        M += (1.0 - beta2) * g
        return w, (M,)
