"""Lion (Chen et al., 2023): the sign of an interpolated momentum as the step."""

from __future__ import annotations

from .adaptive import DECOUPLED_DECAY
from .base import Optimizer, decoupled_decay
from .hyperparameters import Hyperparameter, fraction
from .rules import BETA1, learning_rate

__all__ = ["Lion"]


class Lion(Optimizer):
    """Lion: every coordinate moves by ``lr`` in the direction of a momentum's sign.

    ::

        w *= 1 - lr * weight_decay
        w -= lr * sign(beta1 * M + (1 - beta1) * g)
        M = beta2 * M + (1 - beta2) * g

    Equals ``lion_pytorch.Lion`` (decay applied as that package does by default).

    """

    name = "lion"
    slots = ("mean",)
    lr = learning_rate(1e-4, 1e-6, 1e-2, "step per coordinate")
    beta1 = BETA1.but(doc="interpolation of the step's momentum")
    beta2 = Hyperparameter(
        0.99, fraction, "decay of the stored momentum", search=(0.9, 0.999), scale="log1m"
    )
    weight_decay = DECOUPLED_DECAY.but(default=0.0, search=(1e-4, 10.0))
    pass_cost = 1.9

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
