"""Sign-SGD (Bernstein et al., 2018) for optimlab: ``w -= lr * sign(g)``."""

from __future__ import annotations

from typing import Any

# At import time only optimlab.optimizers (and its modules) and optimlab.errors:
# plugins load while optimlab itself is importing.
from optimlab.optimizers.base import Optimizer, rate

__all__ = ["SignSGD"]


class SignSGD(Optimizer):
    """Steps of length ``lr`` along the sign of each gradient coordinate.

    Parameters
    ----------
    lr
        Step size, ``>= 0`` (default 0.01).
    **options
        The options every optimizer takes (``schedule``, ``clip_norm``, ``decay_biases``).
    """

    name = "signsgd"  # the registry name: the entry point's name
    slots = ()  # no accumulators (a momentum would be ("velocity",))

    def __init__(self, lr: float = 0.01, **options: Any) -> None:
        super().__init__(**options)
        self.lr = rate("lr", lr)  # a ConfigError naming lr unless lr >= 0

    @staticmethod
    def update(xp, w, g, *, t, lr):
        w -= lr * xp.sign(g)  # in place where the library allows it
        return w, ()
