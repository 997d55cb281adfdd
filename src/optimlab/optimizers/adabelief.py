"""AdaBelief (Zhuang et al., 2020): Adam whose denominator is the gradient's deviation."""

from __future__ import annotations

import math
from typing import Any, ClassVar

import array_api_compat

from ..backend.implementations import Kernel
from .adafactor import in_dtype
from .adan import cuda_lerp, exactly
from .ademamix import as_array, decay, decay_factors
from .base import Optimizer, assign
from .hyperparameters import Hyperparameter, at_least, epsilon, flag, rate
from .muon import lerp
from .rules import BETA1, BETA2

__all__ = ["AdaBelief"]


class AdaBelief(Optimizer):
    """AdaBelief: steps large where the gradient agrees with its mean (the "belief").

    With ``c1 = 1 - beta1**t``, ``c2 = 1 - beta2**t``::

        M = M + (1 - beta1) (g - M)
        V = beta2 V + (1 - beta2) (g - M)**2 + eps
        w -= lr / c1 * M / (sqrt(V) / sqrt(c2) + eps)

    With ``rectify`` (RAdam's rectification, the paper's code's default later on):
    ``rho_inf = 2 / (1 - beta2) - 1``, ``rho_t = rho_inf - 2 t beta2**t / c2``; where
    ``rho_t >= n_sma_threshold``, ``w -= lr r_t / c1 * M / (sqrt(V) + eps)`` with
    ``r_t = sqrt(c2 (rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))``,
    else ``w -= lr / c1 * M`` (``degenerated_to_sgd``) or no step. ``weight_decay``
    is decoupled, ``w *= 1 - lr weight_decay`` first (``1 - weight_decay`` with
    ``fixed_decay``), or, without ``weight_decouple``, L2 (``g + weight_decay * w``).

    Zhuang, Tang, Ding, Tatikonda, Dvornek, Papademetris & Duncan, "AdaBelief
    Optimizer: Adapting Stepsizes by the Belief in Observed Gradients" (NeurIPS 2020,
    arXiv:2010.07468), Algorithm 2. Equals ``pytorch_optimizer.AdaBelief`` 4.1.0, whose
    names and defaults these are (``betas`` split). ``lr`` is in parameter units per
    unit of normalized step; ``eps`` in squared gradient units (it is added to ``V``)
    and in gradient units (to the denominator).

    Not supported from the oracle: ``ams_bound`` (AMSGrad's running maximum: the
    ``amsgrad`` optimizer's idea, whose slot would cost every run one array),
    ``adanorm``/``adanorm_r`` (per-array norms: an elementwise rule on a flat vector
    has no arrays), ``adam_debias``, ``maximize`` and ``foreach``.
    """

    name = "adabelief"
    slots = ("mean", "belief")
    lr = Hyperparameter(1e-3, rate, "learning rate", search=(1e-5, 1e-1))
    beta1 = BETA1.but(doc="decay of the mean")
    beta2 = BETA2.but(doc="decay of the belief (the squared deviation)")
    weight_decay = Hyperparameter(
        0.0, rate, "weight decay (see weight_decouple)", search=(1e-5, 1.0)
    )
    weight_decouple = Hyperparameter(
        True, flag, "decay as w *= 1 - lr wd before the step; False: L2, g + wd w"
    )
    fixed_decay = Hyperparameter(False, flag, "decoupled decay w *= 1 - wd, without lr")
    rectify = Hyperparameter(False, flag, "RAdam's rectification of the early steps")
    n_sma_threshold = Hyperparameter(
        5, at_least(4), "rectification's threshold of rho_t (>= 4: r_t's square root)"
    )
    degenerated_to_sgd = Hyperparameter(
        True, flag, "below the threshold, step as SGD with momentum (else not at all)"
    )
    eps = Hyperparameter(1e-16, epsilon, "added to the belief and to the denominator")
    pass_cost = 5.5  # its step took 1.1x Adam's (2,000 steps of the report's network, NumPy)
    native: ClassVar[dict[str, Kernel]] = {
        "cupy": Kernel(
            ("beta1", "beta2", "eps", "root", "adaptive", "plain", "shrink", "l2"),
            ("w", "M", "V"),
            "w *= shrink; T q = g + l2 * w;"
            f"M = {cuda_lerp('M', 'q', '1 - beta1')};"
            "T r = q - M;"
            "V = V * beta2 + (1 - beta2) * r * r; V += eps;"
            "T den = sqrt(V) / root + eps;"
            "w -= adaptive * (M / den); w -= plain * M;",
        )
    }

    @staticmethod
    def per_step(t, scalars, *, lr, beta1, beta2, rectify, n_sma_threshold, **hyper):
        """The step sizes (:func:`step_sizes`) and the weight decay's factors
        (:func:`~.ademamix.decay_factors`)."""
        sizes = step_sizes(
            t, lr, beta1, beta2, rectify, n_sma_threshold, hyper["degenerated_to_sgd"]
        )
        return {
            **dict(zip(("root", "adaptive", "plain"), sizes)),
            **decay_factors(
                lr, hyper["weight_decay"], hyper["weight_decouple"], hyper["fixed_decay"]
            ),
        }, scalars

    @staticmethod
    def update(
        xp, w, g, M, V, *, t, lr, beta1, beta2, weight_decay, weight_decouple, fixed_decay,
        rectify, n_sma_threshold, degenerated_to_sgd, eps, root, adaptive, plain, shrink, l2,
    ):  # fmt: skip
        w, g = decay(xp, w, g, shrink, l2)
        M = assign(M, lerp(xp, M, g, 1.0 - beta1))
        r = g - M  # the gradient's deviation from its mean
        V *= beta2
        V += (1.0 - beta2) * r * r
        V += eps
        den = xp.sqrt(V)
        if not exactly(root, 1.0):  # (rectify divides by 1)
            den /= in_dtype(xp, root, w)
        den += eps
        if not exactly(adaptive, 0.0):
            w -= in_dtype(xp, adaptive, w) * (M / den)
        if not exactly(plain, 0.0):  # rectify's early steps: SGD with momentum
            w -= in_dtype(xp, plain, w) * M
        return w, (M, V)


def step_sizes(
    t: Any, lr: Any, beta1: Any, beta2: Any, rectify: Any, threshold: Any, sgd: Any
) -> tuple[Any, Any, Any]:
    """``(root, adaptive, plain)`` of step ``t``: the update is
    ``w -= adaptive * M / (sqrt(V) / root + eps) + plain * M``, computed as the oracle
    computes its step size (``plain`` is 0 but in rectify's early steps)."""
    c1 = 1.0 - beta1**t
    values = (t, lr, beta1, beta2, rectify, threshold, sgd)
    if all(isinstance(v, (int, float)) for v in values):
        if not rectify:
            return math.sqrt(1.0 - beta2**t), lr / c1, 0.0
        rho_inf = 2.0 / (1.0 - beta2) - 1.0
        beta2_t = beta2**t
        rho = rho_inf - 2 * t * beta2_t / (1.0 - beta2_t)
        if rho >= threshold:
            r = math.sqrt(
                (1.0 - beta2_t)
                * (rho - 4)
                / (rho_inf - 4)
                * (rho - 2)
                / rho
                * rho_inf
                / (rho_inf - 2)
            )
            return 1.0, lr * r / c1, 0.0
        return 1.0, 0.0, (lr * 1.0 / c1 if sgd else 0.0)
    # device values (a captured graph's count, members' values): chosen on the device
    like = next(v for v in values if hasattr(v, "dtype"))
    xp = array_api_compat.array_namespace(like)
    t, lr, beta2, rectify, threshold, sgd = (
        as_array(xp, v, like) for v in (t, lr, beta2, rectify, threshold, sgd)
    )
    rho_inf = 2.0 / (1.0 - beta2) - 1.0
    beta2_t = beta2**t
    rho = rho_inf - 2 * t * beta2_t / (1.0 - beta2_t)
    ok = rho >= threshold
    ratio = (1.0 - beta2_t) * (rho - 4) / (rho_inf - 4) * (rho - 2) / rho * rho_inf / (rho_inf - 2)
    r = xp.sqrt(xp.where(ok, ratio, 1.0))
    on = rectify != 0
    root = xp.where(on, 1.0, xp.sqrt(1.0 - beta2_t))
    adaptive = xp.where(on, xp.where(ok, lr * r / c1, 0.0), lr / c1)
    plain = xp.where(on & ~ok & (sgd != 0), lr * 1.0 / c1, 0.0)
    return root, adaptive, plain
