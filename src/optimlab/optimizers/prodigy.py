"""Prodigy (Mishchenko & Defazio, 2024): Adam whose step size ``d`` estimates itself.

Prodigy runs Adam with the rate ``d * lr`` and grows ``d`` towards the distance to
the solution, estimated from sums over **all** parameters (per member)::

    dlr = d * lr * bc          bc = sqrt(1 - beta2**(k+1)) / (1 - beta1**(k+1)) with
                               use_bias_correction, else 1 (k: steps taken)
    M = beta1 M + d (1 - beta1) g;   N = beta2 N + d**2 (1 - beta2) g**2
    s = beta3 s + (d / d0) * dlr * g        (``d`` instead of ``dlr``: safeguard_warmup)
    numerator = beta3 * numerator + (d / d0) * dlr * <g, p0 - w>     (p0: the start)
    denominator = sum |s|
    d_hat = d_coef * numerator / denominator
    d = max(d, d_hat) if d == d0;   d_max = max(d_max, d_hat);   d = min(d_max, d * growth_rate)
    w -= weight_decay * dlr * w    (decouple; else weight_decay * w joins g at the start)
    w -= dlr * M / (sqrt(N) + d * eps)      (old dlr, new d)

Equals ``prodigyopt.Prodigy`` (``slice_p=1``, no FSDP), including its two branches
that depend on values, taken on the device without a host read:

* a step with rate ``lr <= 0`` (a schedule's zero) changes nothing but the count;
* a step whose ``denominator`` is 0 (every ``s`` zero: zero gradients so far) updates
  ``M``, ``N`` and ``s`` and stops there: the oracle returns before the rest, so ``d``,
  ``d_max``, ``d_numerator``, ``k`` and the parameters stay as they were.

The running scalars are the oracle's per-group values: ``d``, ``d_max``,
``d_numerator``, ``d_hat``, ``d_denom`` and ``k`` (the steps that got past the early
return, which the bias correction counts). The slots are ``s``, ``p0`` (the
parameters at the start), ``exp_avg`` and ``exp_avg_sq``, shaped like the parameters
(the oracle keeps ``s`` and ``p0`` flat). With ``beta1 = 0`` the oracle keeps no
``exp_avg`` and steps along ``d * g``; ``exp_avg`` then holds ``d * g``, the same step.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import array_api_compat

from .base import Optimizer, State, assign, for_array, l2, member_sum, store
from .hyperparameters import Hyperparameter, epsilon, flag, fraction, positive, rate
from .rules import BETA1, BETA2

__all__ = ["Prodigy"]


def _growth(name: str, value: Any) -> float:
    """A factor ``> 0``, or ``inf``."""
    if isinstance(value, (int, float)) and value == math.inf:
        return math.inf
    return positive(name, value)


def _choose(xp: Any, condition: Any, a: Any, b: Any) -> Any:
    """``a if condition else b`` for a Python condition (a constant hyper-parameter),
    ``xp.where`` for an array one (members' values: 1.0 or 0.0); ``a`` is an array."""
    if isinstance(condition, bool):
        return a if condition else b
    return xp.where(condition != 0.0, a, b)


def _times(value: Any, factor: Any) -> Any:
    """``value * factor`` for a value that may be a list (one per array)."""
    if isinstance(value, list):
        return [v * factor for v in value]
    return value * factor


class Prodigy(Optimizer):
    """Prodigy: Adam at the rate ``d * lr``, with ``d`` estimated from global sums.

    See the module's formulas. Equals ``prodigyopt.Prodigy``.
    """

    name = "prodigy"
    rate_family = None  # d estimates the step size: lr stays 1
    slots = ("s", "p0", "exp_avg", "exp_avg_sq")
    # d and d_max start at d0 (see init); these are the values for the default d0
    scalars: ClassVar[dict[str, float]] = {
        "d": 1e-6,
        "d_max": 1e-6,
        "d_numerator": 0.0,
        "d_hat": 0.0,
        "d_denom": 0.0,
        "k": 0.0,
    }
    lr = Hyperparameter(1.0, positive, "a multiplier of the estimated rate", search=(1e-3, 1e1))
    beta1 = BETA1
    beta2 = BETA2.but(search=None)
    beta3 = Hyperparameter(
        None,
        fraction,
        "decay of s and of the numerator; None: sqrt(beta2), resolved here (a number, as "
        "member stacks need)",
        derive=lambda opt: math.sqrt(opt.beta2),
    )
    eps = Hyperparameter(1e-8, epsilon, "added to the root, scaled by d")
    weight_decay = Hyperparameter(
        0.0, rate, "decoupled, or L2 in the gradient with decouple=False", search=(1e-5, 1.0)
    )
    decouple = Hyperparameter(True, flag, "AdamW-style weight decay")
    use_bias_correction = Hyperparameter(False, flag, "Adam's bias corrections in dlr")
    safeguard_warmup = Hyperparameter(False, flag, "s accumulates d instead of dlr")
    d0 = Hyperparameter(1e-6, positive, "the initial estimate", search=(1e-8, 1e-2))
    d_coef = Hyperparameter(1.0, positive, "multiplies the estimate d_hat")
    growth_rate = Hyperparameter(
        math.inf, _growth, "d grows at most by this factor per step (> 0, may be inf)"
    )

    def init(self, params: Any, **kwargs: Any) -> State:
        """As :meth:`Optimizer.init`, with ``d`` and ``d_max`` starting at ``d0`` (per member)."""
        state = super().init(params, **kwargs)
        d0 = state.hyperparameters["d0"]
        xp = array_api_compat.array_namespace(params[0])
        scalars = dict(state.scalars)
        for name in ("d", "d_max"):
            scalars[name] = store(xp, scalars[name], d0)
        return state._replace(scalars=scalars)

    def init_slot(self, name: str, p: Any, lead: int) -> Any:
        if name == "p0":  # the parameters where the run started
            return array_api_compat.array_namespace(p).asarray(p, copy=True)
        return super().init_slot(name, p, lead)

    def apply(self, xp, params, grads, slots, scalars, *, t, members, **hyper):
        lr = hyper["lr"]
        active = lr > 0.0  # the oracle's `group_lr > 0.0`
        if active is False:  # nothing accumulates, the denominator is 0: the early return
            return params, slots, scalars
        beta1, beta2, beta3, d0 = hyper["beta1"], hyper["beta2"], hyper["beta3"], hyper["d0"]
        d, d_max, k = scalars["d"], scalars["d_max"], scalars["k"]
        correction = hyper["use_bias_correction"]
        if correction is False:
            dlr = d * lr
        else:
            corrected = (1.0 - beta2 ** (k + 1.0)) ** 0.5 / (1.0 - beta1 ** (k + 1.0))
            dlr = d * lr * _choose(xp, correction, corrected, 1.0)
        decay, decouple = hyper["weight_decay"], hyper["decouple"]
        if isinstance(decouple, bool):
            coupled, decoupled = (0.0, decay) if decouple else (decay, 0.0)
        else:
            coupled, decoupled = _times(decay, 1.0 - decouple), _times(decay, decouple)
        grow = d / d0
        each = {
            "active": active,
            "coupled": coupled,
            "beta1": beta1,
            "beta2": beta2,
            "beta3": beta3,
            "m": d * (1.0 - beta1),
            "v": d * d * (1.0 - beta2),
            "s": grow * _choose(xp, hyper["safeguard_warmup"], d, dlr),
        }
        S, P0, M, N = ([] for _ in self.slots)
        dots = []
        for i, (w, g) in enumerate(zip(params, grads)):
            h = for_array(each, i, w, members)
            g = l2(w, g, h["coupled"])  # a new array: the caller's gradient stays
            P0.append(slots["p0"][i])
            dots.append(g * (P0[i] - w))
            M.append(_ema(xp, slots["exp_avg"][i], h["beta1"], h["m"], g, h["active"]))
            N.append(_ema(xp, slots["exp_avg_sq"][i], h["beta2"], h["v"], g * g, h["active"]))
            S.append(_ema(xp, slots["s"][i], h["beta3"], h["s"], g, h["active"]))
        d_denom = member_sum(xp, [xp.abs(s) for s in S], members)
        if active is not True:
            d_denom = xp.where(active, d_denom, 0.0)
        numerator = scalars["d_numerator"] * beta3 + grow * dlr * member_sum(xp, dots, members)
        proceed = d_denom != 0.0  # else the oracle returns here
        d_hat = hyper["d_coef"] * numerator / xp.where(proceed, d_denom, 1.0)
        d_new = xp.where(d == d0, xp.maximum(d, d_hat), d)
        d_max_new = xp.maximum(d_max, d_hat)
        d_new = xp.minimum(d_max_new, d_new * hyper["growth_rate"])
        step = xp.where(proceed, dlr, 0.0)  # the old d's rate, or no step at all
        new = {
            "d": d_new,
            "d_max": d_max_new,
            "d_numerator": numerator,
            "d_hat": d_hat,
            "d_denom": d_denom,
            "k": k + 1.0,
        }
        scalars = {
            name: store(xp, scalars[name], xp.where(proceed, value, scalars[name]))
            for name, value in new.items()
        }
        each = {"step": step, "d_eps": scalars["d"] * hyper["eps"], "decoupled": decoupled}
        new_params = []
        for i, w in enumerate(params):
            h = for_array(each, i, w, members)
            denominator = xp.sqrt(N[i])
            denominator += h["d_eps"]
            if not (isinstance(h["decoupled"], float) and h["decoupled"] == 0.0):
                w -= (h["decoupled"] * h["step"]) * w
            w -= h["step"] * (M[i] / denominator)
            new_params.append(w)
        return new_params, {"s": S, "p0": P0, "exp_avg": M, "exp_avg_sq": N}, scalars


def _ema(xp: Any, a: Any, decay: Any, scale: Any, x: Any, active: Any) -> Any:
    """``a = decay * a + scale * x`` in place where ``active`` (the rate is positive)."""
    if active is True:
        a *= decay
        a += scale * x
        return a
    return assign(a, xp.where(active, decay * a + scale * x, a))
