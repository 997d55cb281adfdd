"""Sign-SGD (Bernstein et al., 2018) for optimlab: ``w -= lr * sign(g)``."""

from __future__ import annotations

# At import time only optimlab.optimizers (and its modules) and optimlab.errors:
# plugins load while optimlab itself is importing.
from optimlab.optimizers.base import Hyperparameter, Optimizer, rate

__all__ = ["SignSGD"]


class SignSGD(Optimizer):
    """Steps of length ``lr`` along the sign of each gradient coordinate."""

    name = "signsgd"  # the registry name: the entry point's name
    slots = ()  # no accumulators (a momentum would be ("velocity",))
    # Each hyper-parameter once: default, check (a ConfigError naming lr unless lr >= 0),
    # one line of doc, and the range the benchmark tunes it over. The constructor
    # SignSGD(lr=0.01, **options), its flag --lr and its search space follow.
    lr = Hyperparameter(0.01, rate, "step size", search=(1e-4, 1.0))

    @staticmethod
    def update(xp, w, g, *, t, lr):
        w -= lr * xp.sign(g)  # in place where the library allows it
        return w, ()
