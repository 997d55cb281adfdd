"""Adan (Xie et al., 2022): Nesterov momentum estimated from the gradient's change."""

from __future__ import annotations

from typing import ClassVar

from ..backend.implementations import Kernel
from .adafactor import in_dtype
from .base import Optimizer, assign
from .hyperparameters import Hyperparameter, epsilon, flag, fraction, rate
from .muon import lerp

__all__ = ["Adan"]


def cuda_lerp(start: str, end: str, weight: str) -> str:
    """``start + weight (end - start)`` in CUDA C, rounded as :func:`~.muon.lerp` (and
    ``torch.lerp``) round it: from the nearer end."""
    return (
        f"(({weight}) < 0.5 ? {start} + ({weight}) * ({end} - {start})"
        f" : {end} - ({end} - {start}) * (1 - ({weight})))"
    )


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
    lr = Hyperparameter(1e-3, rate, "learning rate", search=(1e-5, 1e-1))
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
    weight_decay = Hyperparameter(
        0.0, rate, "weight decay (see weight_decouple)", search=(1e-5, 1.0)
    )
    weight_decouple = Hyperparameter(
        False, flag, "decay as w *= 1 - lr wd before the step; False: w /= 1 + lr wd after it"
    )
    eps = Hyperparameter(1e-8, epsilon, "added to the denominator")
    pass_cost = 9.0  # its step took 1.8x Adam's (2,000 steps of the report's network, NumPy)
    native: ClassVar[dict[str, Kernel]] = {
        "cupy": Kernel(
            ("beta1", "beta2", "beta3", "eps", "keep", "step1", "step2", "root", "shrink", "grow"),
            ("w", "M", "D", "N", "P"),
            "T d = (g - P) * keep;"
            f"M = {cuda_lerp('M', 'g', '1 - beta1')};"
            f"D = {cuda_lerp('D', 'd', '1 - beta2')};"
            "d = d * beta2 + g;"
            "N = N * beta3 + (1 - beta3) * d * d;"
            "T den = sqrt(N) / root + eps;"
            "w *= shrink; w -= step1 * (M / den); w -= step2 * (D / den); w /= grow;"
            "P = g;",
        )
    }

    @staticmethod
    def per_step(t, scalars, *, lr, beta1, beta2, beta3, weight_decay, weight_decouple, **_):
        """The bias corrections and the decay's factors: ``w *= shrink`` before the step
        (decoupled) or ``w /= grow`` after it; ``keep`` is 0 on the first step, else 1."""
        decay = lr * weight_decay
        if isinstance(weight_decouple, bool):  # (a Python bool meets no array)
            weight_decouple = float(weight_decouple)
        return {
            "keep": (1.0 if t > 1 else 0.0) if isinstance(t, int) else t > 1,
            "step1": lr / (1.0 - beta1**t),
            "step2": lr * beta2 / (1.0 - beta2**t),
            "root": (1.0 - beta3**t) ** 0.5,
            "shrink": 1.0 - decay * weight_decouple,
            "grow": 1.0 + decay * (1 - weight_decouple),
        }, scalars

    @staticmethod
    def update(
        xp, w, g, M, D, N, P, *, t, lr, beta1, beta2, beta3, weight_decay, weight_decouple, eps,
        keep, step1, step2, root, shrink, grow,
    ):  # fmt: skip
        d = g - P  # the gradient's change: 0 on the first step
        if not exactly(keep, 1.0):
            d = d * (0.0 if exactly(keep, 0.0) else xp.astype(keep, d.dtype))
        M = assign(M, lerp(xp, M, g, 1.0 - beta1))
        D = assign(D, lerp(xp, D, d, 1.0 - beta2))
        d *= beta2
        d += g  # g + beta2 d: the gradient at the look-ahead point
        N *= beta3
        N += (1.0 - beta3) * d * d
        den = xp.sqrt(N)
        den /= in_dtype(xp, root, w)
        den += eps
        if not exactly(shrink, 1.0):  # weight_decouple
            w *= in_dtype(xp, shrink, w)
        w -= in_dtype(xp, step1, w) * (M / den)
        w -= in_dtype(xp, step2, w) * (D / den)
        if not exactly(grow, 1.0):  # the paper's proximal decay
            w /= in_dtype(xp, grow, w)
        P = assign(P, g)
        if P is g:  # an immutable library's: the slot may not be the caller's gradient
            P = xp.asarray(g, copy=True)
        return w, (M, D, N, P)


def exactly(value, constant: float) -> bool:
    """``value`` is the Python number ``constant`` (an array is not: it may differ)."""
    return isinstance(value, (int, float)) and value == constant
