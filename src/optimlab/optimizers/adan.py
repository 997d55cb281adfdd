"""Adan (Xie et al., 2022): Nesterov momentum estimated from the gradient's change."""

from __future__ import annotations

from .adafactor import in_dtype
from .base import Optimizer, assign
from .hyperparameters import Hyperparameter, epsilon, flag, fraction, rate
from .muon import lerp

__all__ = ["Adan"]


class Adan(Optimizer):
    """Adan: adaptive steps of the gradient's mean and the mean of its change.

    With ``d = g - g_prev`` (0 on the first step), ``c_i = 1 - beta_i**t``::

        M = M + (1 - beta1) (g - M)                  # the gradient's mean
        D = D + (1 - beta2) (d - D)                  # the mean of its change
        N = beta3 N + (1 - beta3) (g + beta2 d)**2   # the look-ahead's second moment
        den = sqrt(N) / sqrt(c3) + eps
        w *= 1 - lr * weight_decay                   (weight_decouple)
        w -= lr / c1 * M / den + lr * beta2 / c2 * D / den
        w /= 1 + lr * weight_decay                   (otherwise: the paper's proximal step)

    Xie, Zhou, Li, Lin & Yan, "Adan: Adaptive Nesterov Momentum Algorithm for Faster
    Optimizing Deep Models" (2022, arXiv:2208.06677), Algorithm 1 with its betas written
    as decays (the paper's ``1 - beta``), as ``pytorch_optimizer.Adan`` 4.1.0 writes them;
    it equals that class, whose names and defaults these are (``betas`` split). ``lr``
    is in parameter units per unit of normalized step; the betas are per step.

    Not supported from the oracle: ``max_grad_norm`` (its global clipping divides by
    ``norm + eps``; the option ``clip_norm`` clips by ``norm + 1e-6`` instead),
    ``use_gc`` and ``adanorm``/``adanorm_r`` (per-array norms and means: they need each
    array's shape, which an elementwise rule on a flat vector does not have),
    ``maximize`` (negate the loss) and ``foreach`` (an implementation choice).
    """

    name = "adan"
    slots = ("mean", "mean_diff", "mean_square", "previous_grad")
    lr = Hyperparameter(1e-3, rate, "learning rate", search=(1e-4, 1e-1))
    beta1 = Hyperparameter(
        0.98, fraction, "decay of the gradient's mean", search=(0.9, 0.995), scale="log1m"
    )
    beta2 = Hyperparameter(
        0.92,
        fraction,
        "decay of the mean of the gradient's change",
        search=(0.8, 0.99),
        scale="log1m",
    )
    beta3 = Hyperparameter(
        0.99, fraction, "decay of the second moment", search=(0.99, 0.9999), scale="log1m"
    )
    weight_decay = Hyperparameter(0.0, rate, "weight decay (see weight_decouple)")
    weight_decouple = Hyperparameter(
        False, flag, "decay as w *= 1 - lr wd before the step; False: w /= 1 + lr wd after it"
    )
    eps = Hyperparameter(1e-8, epsilon, "added to the denominator")
    pass_cost = 5.5

    @staticmethod
    def update(
        xp, w, g, M, D, N, P, *, t, lr, beta1, beta2, beta3, weight_decay, weight_decouple, eps
    ):
        d = first_step_zero(xp, g - P, t)  # the gradient's change
        M = assign(M, lerp(xp, M, g, 1.0 - beta1))
        D = assign(D, lerp(xp, D, d, 1.0 - beta2))
        d *= beta2
        d += g  # g + beta2 d: the gradient at the look-ahead point
        N *= beta3
        N += (1.0 - beta3) * d * d
        den = xp.sqrt(N)
        den /= in_dtype(xp, (1.0 - beta3**t) ** 0.5, w)
        den += eps
        decay = lr * weight_decay
        if weight_decouple is True or not isinstance(weight_decouple, bool):
            w *= 1.0 - decay * weight_decouple
        w -= in_dtype(xp, lr / (1.0 - beta1**t), w) * (M / den)
        w -= in_dtype(xp, lr * beta2 / (1.0 - beta2**t), w) * (D / den)
        if weight_decouple is False or not isinstance(weight_decouple, bool):
            w /= 1.0 + decay * (1 - weight_decouple)
        P = assign(P, g)
        if P is g:  # an immutable library's: the slot may not be the caller's gradient
            P = xp.asarray(g, copy=True)
        return w, (M, D, N, P)


def first_step_zero(xp, d, t):
    """``d`` where ``t > 1``; 0 on the first step (``t`` a Python int or a device count)."""
    if isinstance(t, int):
        return d if t > 1 else d * 0.0
    return d * xp.astype(t > 1, d.dtype)
