"""AdEMAMix (Pagliardini et al., 2024): Adam with a second, slow momentum added."""

from __future__ import annotations

import math
from typing import Any

import array_api_compat

from .adafactor import in_dtype
from .base import Optimizer, assign
from .hyperparameters import Hyperparameter, epsilon, flag, fraction, rate
from .muon import lerp
from .rules import BETA1, BETA2

__all__ = ["AdEMAMix"]


class AdEMAMix(Optimizer):
    """AdEMAMix: Adam's step plus ``alpha`` times a slow exponential average of gradients.

    With ``c1 = 1 - beta1**t``, ``c2 = 1 - beta2**t``::

        M = M + (1 - beta1) (g - M)          # the fast mean
        N = beta2 N + (1 - beta2) g**2
        S = S + (1 - beta3_t) (g - S)        # the slow mean, not bias-corrected
        w -= lr * (M / c1 + alpha_t S) / (sqrt(N) / sqrt(c2) + eps)

    ``alpha_t = alpha`` and ``beta3_t = beta3``, or, with a warm-up of
    ``T = t_alpha_beta3`` steps, ``alpha_t = min(t alpha / T, alpha)`` and
    ``beta3_t = min(exp(ln b1 ln b3 / ((1 - t/T) ln b3 + (t/T) ln b1)), beta3)``
    (the slow mean's half-life grows linearly; ``t_alpha_beta3 = 0``, the default, is
    the oracle's None: no warm-up). ``weight_decay`` is L2
    (``g + weight_decay * w``) or, with ``weight_decouple``, ``w *= 1 - lr
    weight_decay`` first (``1 - weight_decay`` with ``fixed_decay``).

    Pagliardini, Ablin & Grangier, "The AdEMAMix Optimizer: Better, Faster, Older"
    (2024, arXiv:2409.03502), Algorithm 1. Equals ``pytorch_optimizer.AdEMAMix`` 4.1.0,
    whose names and defaults these are (``betas`` split). ``lr`` is in parameter units
    per unit of normalized step; ``t_alpha_beta3`` in steps.

    Not supported from the oracle: ``cautious`` and ``stable_adamw`` (variants of other
    papers), ``maximize`` and ``foreach``.
    """

    name = "ademamix"
    slots = ("mean", "mean_square", "slow_mean")
    lr = Hyperparameter(1e-3, rate, "learning rate", search=(1e-4, 1e-1))
    beta1 = BETA1.but(doc="decay of the fast mean")
    beta2 = BETA2
    beta3 = Hyperparameter(
        0.9999, fraction, "decay of the slow mean", search=(0.999, 0.99999), scale="log1m"
    )
    weight_decay = Hyperparameter(0.0, rate, "weight decay (see weight_decouple)")
    weight_decouple = Hyperparameter(
        False, flag, "decay as w *= 1 - lr wd before the step; False: L2, g + wd w"
    )
    fixed_decay = Hyperparameter(False, flag, "decoupled decay w *= 1 - wd, without lr")
    alpha = Hyperparameter(5.0, rate, "weight of the slow mean", search=(1.0, 10.0), scale="linear")
    t_alpha_beta3 = Hyperparameter(
        0.0,
        lambda name, value: 0.0 if value is None else rate(name, value),
        "steps of warm-up of alpha and beta3; 0 (or None, the oracle's): none",
    )
    eps = Hyperparameter(1e-8, epsilon, "added to the denominator")
    pass_cost = 5.5

    @staticmethod
    def update(
        xp,
        w,
        g,
        M,
        N,
        S,
        *,
        t,
        lr,
        beta1,
        beta2,
        beta3,
        weight_decay,
        weight_decouple,
        fixed_decay,
        alpha,
        t_alpha_beta3,
        eps,
    ):
        alpha_t, beta3_t = warmup(xp, t, beta1, beta3, alpha, t_alpha_beta3)
        w, g = decay(xp, w, g, lr, weight_decay, weight_decouple, fixed_decay)
        M = assign(M, lerp(xp, M, g, 1.0 - beta1))
        N *= beta2
        N += (1.0 - beta2) * g * g
        S = assign(S, lerp(xp, S, g, in_dtype(xp, 1.0 - beta3_t, w)))
        den = xp.sqrt(N)
        den /= in_dtype(xp, (1.0 - beta2**t) ** 0.5, w)
        den += eps
        u = M / in_dtype(xp, 1.0 - beta1**t, w)
        u += in_dtype(xp, alpha_t, w) * S
        w -= lr * (u / den)
        return w, (M, N, S)


def warmup(xp: Any, t: Any, beta1: Any, beta3: Any, alpha: Any, T: Any) -> tuple[Any, Any]:
    """``(alpha_t, beta3_t)`` of step ``t``: ``(alpha, beta3)`` without a warm-up (``T`` 0)."""
    values = (t, beta1, beta3, alpha, T)
    if all(isinstance(v, (int, float)) for v in values):  # as the oracle computes them
        if T == 0:
            return alpha, beta3
        s = t / T
        log1, log3 = math.log(beta1), math.log(beta3)
        beta3_t = min(math.exp(log1 * log3 / ((1.0 - s) * log3 + s * log1)), beta3)
        return min(t * alpha / T, alpha), beta3_t
    if isinstance(T, (int, float)) and T == 0:
        return alpha, beta3
    # a device count or members' values: chosen on the device (members without a warm-up
    # divide by 1 instead of 0, and keep alpha and beta3)
    like = next(v for v in values if hasattr(v, "dtype"))
    t, beta1, beta3, alpha, T = (as_array(xp, v, like) for v in values)
    on = T > 0
    T = xp.where(on, T, 1.0)
    s = t / T
    log1, log3 = xp.log(beta1), xp.log(beta3)
    beta3_t = xp.minimum(xp.exp(log1 * log3 / ((1.0 - s) * log3 + s * log1)), beta3)
    alpha_t = xp.minimum(t * alpha / T, alpha)
    return xp.where(on, alpha_t, alpha), xp.where(on, beta3_t, beta3)


def decay(xp: Any, w: Any, g: Any, lr: Any, weight_decay: Any, decouple: Any, fixed: Any):
    """pytorch_optimizer's weight decay: ``w *= 1 - weight_decay * (1 if fixed else lr)``
    where ``decouple``, else ``g + weight_decay * w`` (a new array); returns ``(w, g)``."""
    if isinstance(weight_decay, float) and weight_decay == 0.0:
        return w, g
    if isinstance(decouple, bool) and isinstance(fixed, bool):
        if decouple:
            w *= 1.0 - weight_decay * (1.0 if fixed else lr)
            return w, g
        return w, g + weight_decay * w
    # members that differ in a switch (0 or 1 per member): both forms, each a no-op where off
    scale = fixed + (1 - fixed) * lr
    w *= 1.0 - weight_decay * scale * decouple
    return w, g + (weight_decay * (1 - decouple)) * w


def as_array(xp: Any, value: Any, like: Any) -> Any:
    """``value`` as an array of ``like``'s namespace, dtype and device (an array: itself)."""
    if hasattr(value, "dtype"):
        return value
    return xp.asarray(value, dtype=like.dtype, device=array_api_compat.device(like))
