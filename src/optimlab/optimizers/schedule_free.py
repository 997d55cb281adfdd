"""Schedule-Free SGD and AdamW (Defazio et al., 2024): no schedule, an average to evaluate.

A Schedule-Free run keeps two sequences: ``z``, the base optimizer's iterates, and
``x``, their running average, which is where the network is evaluated. Training
computes the gradient at ``y``, a point between them; ``y`` is what the parameters
hold during training (as the oracle's ``train()`` mode does) and ``x`` is found
from ``y`` and ``z`` when it is needed, without a third array::

    x = y + (1 - 1/beta1) (z - y)          (torch's lerp(y, z, 1 - 1/beta1))

Per step (``k = t - 1`` steps taken before), for the whole run at once::

    lr_t   = lr * (k + 1) / warmup_steps   while k < warmup_steps, else lr
    lr_max = max(lr_max, lr_t)                                  (starts at -1)
    weight = (k + 1)**r * lr_max**weight_lr_power
    weight_sum += weight;   c = weight / weight_sum   (0 when weight_sum is 0)

and per coordinate, with ``d`` the step direction (the gradient plus ``weight_decay *
y`` for SGD; AdamW's normalised gradient, then plus ``weight_decay * y``)::

    y = y + c (z - y);   y += lr_t (beta1 (1 - c) - 1) d;   z -= lr_t d

Both equal ``schedulefree.SGDScheduleFree`` and ``schedulefree.AdamWScheduleFree``
(the non-reference classes, in train mode). ``lr_max``, ``weight_sum`` and
``scheduled_lr`` (``lr_t``) are the oracle's per-group values: running scalars of the
state, one per member. The option ``schedule=`` multiplies ``lr`` before all this, as
an ``LRScheduler`` that sets the group's ``lr`` would; its ``lr_max`` follows it.
"""

from __future__ import annotations

from typing import Any, ClassVar

import array_api_compat

from .adaptive import DECOUPLED_DECAY
from .base import Optimizer, State, for_array, l2, store
from .hyperparameters import Hyperparameter, epsilon, number, open_fraction, rate
from .rules import BETA1, BETA2, MOMENTUM, learning_rate

__all__ = ["AdamWScheduleFree", "SGDScheduleFree"]


def _is_zero(value: Any) -> bool:
    return isinstance(value, (int, float)) and value == 0.0


# the hyper-parameters both variants take, after each one's own
_WARMUP = Hyperparameter(0.0, rate, "linear warm-up of the rate over this many steps (0: none)")
_R = Hyperparameter(0.0, number, "the average weighs step t by t**r")
_POWER = Hyperparameter(2.0, rate, "... and by lr_max**weight_lr_power")


class _ScheduleFree(Optimizer):
    """The parts SGD's and AdamW's Schedule-Free variants share: the averaging weights,
    the ``z`` slot starting at the parameters, and the evaluation point."""

    slots: ClassVar[tuple[str, ...]] = ("z",)
    scalars: ClassVar[dict[str, float]] = {"lr_max": -1.0, "weight_sum": 0.0, "scheduled_lr": 0.0}
    #: The name of the momentum hyper-parameter (``beta1`` or ``momentum``).
    momentum_name: ClassVar[str]

    def init_slot(self, name: str, p: Any, lead: int) -> Any:
        if name == "z":  # the oracle's z starts as a copy of the parameters
            return array_api_compat.array_namespace(p).asarray(p, copy=True)
        return super().init_slot(name, p, lead)

    def eval_params(self, params: Any, state: State) -> list[Any]:
        """The average ``x = y + (1 - 1/beta1) (z - y)`` (new arrays): the parameters the
        oracle holds after ``optimizer.eval()``."""
        momentum = state.hyperparameters[self.momentum_name]
        points = []
        for i, (y, z) in enumerate(zip(params, state.slots["z"])):
            m = for_array({"m": momentum}, i, y, state.members)["m"]
            points.append(y + (1.0 - 1.0 / m) * (z - y))
        return points

    def apply(self, xp, params, grads, slots, scalars, *, t, members, **hyper):
        dtype = scalars["lr_max"].dtype
        if hasattr(t, "dtype") and t.dtype != dtype:  # a graph's float64 count: the arrays'
            t = xp.astype(t, dtype)
        lr, ckp1, scalars = _averaging(xp, t, scalars, **hyper)
        new_params, new_slots = [], {k: [] for k in self.slots}
        for i, (y, g) in enumerate(zip(params, grads)):
            h = for_array({**hyper, "lr": lr, "ckp1": ckp1}, i, y, members)
            accumulators = [slots[k][i] for k in self.slots]
            y, accumulators = self.update(xp, y, g, *accumulators, t=t, **h)
            new_params.append(y)
            for k, a in zip(self.slots, accumulators):
                new_slots[k].append(a)
        return new_params, new_slots, scalars

    @staticmethod
    def _move(y: Any, z: Any, d: Any, lr: Any, momentum: Any, ckp1: Any) -> tuple[Any, Any]:
        # y = lerp(y, z, c) + lr (beta1 (1 - c) - 1) d;  z -= lr d  (in place)
        y += ckp1 * (z - y)
        y += lr * (momentum * (1.0 - ckp1) - 1.0) * d
        z -= lr * d
        return y, z


def _averaging(
    xp: Any,
    t: Any,
    scalars: dict[str, Any],
    *,
    lr: Any,
    warmup_steps: Any,
    r: Any,
    weight_lr_power: Any,
    **_: Any,
) -> tuple[Any, Any, dict[str, Any]]:
    """The step's warmed-up rate and the weight ``c`` of ``z`` in the average; advances
    ``lr_max``, ``weight_sum`` and ``scheduled_lr`` (on the device, no host read)."""
    k = t - 1
    if isinstance(t, int) and isinstance(warmup_steps, float):
        sched = t / warmup_steps if k < warmup_steps else 1.0
    else:  # a graph's count or members' warm-ups: choose on the device
        warm = k < warmup_steps
        safe = xp.where(warm, warmup_steps, xp.ones_like(warm, dtype=scalars["lr_max"].dtype))
        sched = xp.where(warm, t / safe, 1.0)
    lr = lr * sched
    lr_max = store(xp, scalars["lr_max"], xp.maximum(scalars["lr_max"], lr))
    weight = t**r * lr_max**weight_lr_power
    weight_sum = store(xp, scalars["weight_sum"], scalars["weight_sum"] + weight)
    # the oracle's ZeroDivisionError -> 0: the weight is 0 whenever the sum is
    ckp1 = weight / xp.where(weight_sum == 0.0, 1.0, weight_sum)
    scheduled = store(xp, scalars["scheduled_lr"], lr)
    return lr, ckp1, {"lr_max": lr_max, "weight_sum": weight_sum, "scheduled_lr": scheduled}


class SGDScheduleFree(_ScheduleFree):
    """Schedule-Free SGD: SGD's steps on ``z``, evaluated at their average ``x``.

    The direction is ``d = g + weight_decay * y`` (see the module's formulas). Equals
    ``schedulefree.SGDScheduleFree``; :meth:`eval_params` is its ``eval()`` point,
    ``x = y + (1 - 1/momentum) (z - y)``.
    """

    name = "sf_sgd"
    rate_family = "sgd"
    momentum_name = "momentum"
    lr = learning_rate(1.0, 1e-3, 1e1, "step size")
    momentum = MOMENTUM.but(
        default=0.9, check=open_fraction, doc="the interpolation beta between z and x"
    )
    weight_decay = Hyperparameter(
        0.0, rate, "added to the gradient as weight_decay * y", search=(1e-7, 1e-3)
    )
    warmup_steps = _WARMUP
    r = _R
    weight_lr_power = _POWER

    @classmethod
    def update(cls, xp, y, g, z, *, t, lr, ckp1, momentum, weight_decay, **_):
        g = l2(y, g, weight_decay)
        y, z = cls._move(y, z, g, lr, momentum, ckp1)
        return y, (z,)


class AdamWScheduleFree(_ScheduleFree):
    """Schedule-Free AdamW: Adam's normalised steps on ``z``, evaluated at their average.

    ``N = beta2 N + (1 - beta2) g**2``; the direction is
    ``d = g / (sqrt(N / (1 - beta2**t)) + eps) + weight_decay * y`` (see the module's
    formulas; no first moment: the averaging is the momentum). Equals
    ``schedulefree.AdamWScheduleFree``; :meth:`eval_params` is its ``eval()`` point,
    ``x = y + (1 - 1/beta1) (z - y)``.
    """

    name = "sf_adamw"
    slots = ("z", "exp_avg_sq")
    momentum_name = "beta1"
    lr = learning_rate(0.0025, 1e-5, 1e-1, "step size")
    beta1 = BETA1.but(check=open_fraction, doc="the interpolation between z and x")
    beta2 = BETA2.but(doc="decay of the mean square")
    eps = Hyperparameter(1e-8, epsilon, "added to the root")
    weight_decay = DECOUPLED_DECAY.but(
        default=0.0, doc="added to the direction as weight_decay * y"
    )
    warmup_steps = _WARMUP
    r = _R
    weight_lr_power = _POWER

    @classmethod
    def update(cls, xp, y, g, z, N, *, t, lr, ckp1, beta1, beta2, eps, weight_decay, **_):
        N *= beta2
        N += (1.0 - beta2) * (g * g)
        denominator = xp.sqrt(N / (1.0 - beta2**t))
        denominator += eps
        d = g / denominator
        if not _is_zero(weight_decay):
            d += weight_decay * y
        y, z = cls._move(y, z, d, lr, beta1, ckp1)
        return y, (z, N)
