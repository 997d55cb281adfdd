"""AdEMAMix (Pagliardini et al., 2024): Adam with a second, slow momentum added."""

from __future__ import annotations

import math
from typing import Any, ClassVar

import array_api_compat

from ..backend.implementations import Kernel
from .adafactor import in_dtype
from .adan import cuda_lerp, exactly
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
    lr = Hyperparameter(1e-3, rate, "learning rate", search=(1e-5, 1e-1))
    beta1 = BETA1.but(doc="decay of the fast mean")
    beta2 = BETA2
    beta3 = Hyperparameter(
        0.9999, fraction, "decay of the slow mean", search=(0.999, 0.99999), scale="log1m"
    )
    weight_decay = Hyperparameter(
        0.0, rate, "weight decay (see weight_decouple)", search=(1e-7, 1e-3)
    )
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
    pass_cost = 7.0  # its step took 1.4x Adam's (2,000 steps of the report's network, NumPy)
    native: ClassVar[dict[str, Kernel]] = {
        "cupy": Kernel(
            ("lr", "beta1", "beta2", "eps", "beta3_t", "alpha_t", "c1", "root", "shrink", "l2"),
            ("w", "M", "N", "S"),
            "w *= shrink; T q = g + l2 * w;"
            f"M = {cuda_lerp('M', 'q', '1 - beta1')};"
            "N = N * beta2 + (1 - beta2) * q * q;"
            f"S = {cuda_lerp('S', 'q', '1 - beta3_t')};"
            "T den = sqrt(N) / root + eps;"
            "T u = M / c1 + alpha_t * S;"
            "w -= lr * (u / den);",
        )
    }

    @staticmethod
    def per_step(t, scalars, *, lr, beta1, beta2, beta3, alpha, t_alpha_beta3, **hyper):
        """The warm-up's ``alpha_t`` and ``beta3_t``, the bias corrections ``c1`` and
        ``root = sqrt(c2)``, and the weight decay's factors (:func:`decay_factors`)."""
        alpha_t, beta3_t = warmup(t, beta1, beta3, alpha, t_alpha_beta3)
        return {
            "alpha_t": alpha_t,
            "beta3_t": beta3_t,
            "c1": 1.0 - beta1**t,
            "root": (1.0 - beta2**t) ** 0.5,
            **decay_factors(
                lr, hyper["weight_decay"], hyper["weight_decouple"], hyper["fixed_decay"]
            ),
        }, scalars

    @staticmethod
    def update(
        xp, w, g, M, N, S, *, t, lr, beta1, beta2, beta3, weight_decay, weight_decouple,
        fixed_decay, alpha, t_alpha_beta3, eps, alpha_t, beta3_t, c1, root, shrink, l2,
    ):  # fmt: skip
        w, g = decay(xp, w, g, shrink, l2)
        M = assign(M, lerp(xp, M, g, 1.0 - beta1))
        N *= beta2
        N += (1.0 - beta2) * g * g
        S = assign(S, lerp(xp, S, g, in_dtype(xp, 1.0 - beta3_t, w)))  # the slow mean
        den = xp.sqrt(N)
        den /= in_dtype(xp, root, w)
        den += eps
        u = M / in_dtype(xp, c1, w)
        u += in_dtype(xp, alpha_t, w) * S
        w -= lr * (u / den)
        return w, (M, N, S)


def warmup(t: Any, beta1: Any, beta3: Any, alpha: Any, T: Any) -> tuple[Any, Any]:
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
    xp = array_api_compat.array_namespace(like)
    t, beta1, beta3, alpha, T = (as_array(xp, v, like) for v in values)
    on = T > 0
    T = xp.where(on, T, 1.0)
    s = t / T
    log1, log3 = xp.log(beta1), xp.log(beta3)
    beta3_t = xp.minimum(xp.exp(log1 * log3 / ((1.0 - s) * log3 + s * log1)), beta3)
    alpha_t = xp.minimum(t * alpha / T, alpha)
    return xp.where(on, alpha_t, alpha), xp.where(on, beta3_t, beta3)


def decay_factors(lr: Any, weight_decay: Any, decouple: Any, fixed: Any) -> dict[str, Any]:
    """pytorch_optimizer's weight decay as two factors of the step: ``w *= shrink``
    (decoupled: ``1 - weight_decay * (1 if fixed else lr)``) and ``g + l2 * w`` (L2:
    ``l2 = weight_decay``); the one not chosen is 1, or 0. Members that differ in a
    switch (0 or 1 each) get both, each a no-op where it is off."""
    if isinstance(decouple, bool) and isinstance(fixed, bool):
        if not decouple:
            return {"shrink": 1.0, "l2": weight_decay}
        return {"shrink": 1.0 - weight_decay * (1.0 if fixed else lr), "l2": 0.0}
    decouple, fixed = (float(v) if isinstance(v, bool) else v for v in (decouple, fixed))
    scale = fixed + (1 - fixed) * lr
    return {"shrink": 1.0 - weight_decay * scale * decouple, "l2": weight_decay * (1 - decouple)}


def decay(xp: Any, w: Any, g: Any, shrink: Any, l2: Any) -> tuple[Any, Any]:
    """``w *= shrink`` (in place) and ``g + l2 * w`` (a new array), skipped where they
    change nothing; returns ``(w, g)``."""
    if not exactly(shrink, 1.0):
        w *= in_dtype(xp, shrink, w)
    if not exactly(l2, 0.0):
        g = g + l2 * w
    return w, g


def as_array(xp: Any, value: Any, like: Any) -> Any:
    """``value`` as an array of ``like``'s namespace, dtype and device (an array: itself)."""
    if hasattr(value, "dtype"):
        return value
    return xp.asarray(value, dtype=like.dtype, device=array_api_compat.device(like))
