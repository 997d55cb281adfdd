"""Adam's family after the report: AdamW, AMSGrad, NAdam, NAdamW, RAdam and Adamax.

Each equals its ``torch.optim`` counterpart with the same hyper-parameter names
and defaults (``betas`` split into ``beta1``/``beta2``). In the formulas ``g`` is
the gradient (plus ``weight_decay * w`` where the decay is L2, as torch adds it),
``t`` the step count from 1, and ``c1 = 1 - beta1**t``, ``c2 = 1 - beta2**t`` the
bias corrections.
"""

from __future__ import annotations

import math
from typing import ClassVar

from .base import Optimizer, assign, decoupled_decay, l2
from .hyperparameters import Hyperparameter, epsilon, rate
from .rules import BETA1, BETA2, L2_DECAY, adam_corrections, adam_step, learning_rate, moments

__all__ = ["AMSGrad", "AdamW", "Adamax", "NAdam", "NAdamW", "RAdam"]


#: Decoupled weight decay, tuned over AlgoPerf's AdamW range (5e-3 to 1) widened down to
#: 1e-5, where it does next to nothing.
DECOUPLED_DECAY = Hyperparameter(
    0.01, rate, "decoupled weight decay: w *= 1 - lr * weight_decay", search=(1e-5, 1.0)
)


class _AdamLike(Optimizer):
    """The hyper-parameters Adam's family shares (torch's names and defaults)."""

    lr = learning_rate(0.001, 1e-5, 1e-1)
    beta1 = BETA1
    beta2 = BETA2
    eps = Hyperparameter(1e-8, epsilon, "added to the denominator")
    weight_decay = L2_DECAY


class AdamW(_AdamLike):
    """AdamW (Loshchilov & Hutter, 2019): Adam with decoupled weight decay.

    ``w *= 1 - lr * weight_decay``, then Adam's step
    ``w -= lr * (M / c1) / (sqrt(N / c2) + eps)``. Equals ``torch.optim.AdamW``.
    """

    name = "adamw"
    slots = ("mean", "mean_square")
    weight_decay = DECOUPLED_DECAY
    pass_cost = 3.2

    per_step = staticmethod(adam_corrections)

    @staticmethod
    def update(xp, w, g, M, N, *, t, lr, beta1, beta2, eps, weight_decay, step, root):
        w = decoupled_decay(w, lr, weight_decay)
        M, N = moments(g, M, N, beta1, beta2)
        w = adam_step(xp, w, M, N, step=step, root=root, eps=eps)
        return w, (M, N)


class AMSGrad(_AdamLike):
    """AMSGrad (Reddi, Kale & Kumar, 2018): Adam whose denominator never shrinks.

    ``V = max(V, N)``, then ``w -= lr * (M / c1) / (sqrt(V / c2) + eps)``. Equals
    ``torch.optim.Adam(amsgrad=True)``; ``weight_decay`` is L2.
    """

    name = "amsgrad"
    slots = ("mean", "mean_square", "max_mean_square")
    pass_cost = 3.3

    per_step = staticmethod(adam_corrections)

    @staticmethod
    def update(xp, w, g, M, N, V, *, t, lr, beta1, beta2, eps, weight_decay, step, root):
        g = l2(w, g, weight_decay)
        M, N = moments(g, M, N, beta1, beta2)
        V = assign(V, xp.maximum(V, N))
        w = adam_step(xp, w, M, V, step=step, root=root, eps=eps)
        return w, (M, N, V)


class NAdam(_AdamLike):
    """NAdam (Dozat, 2016): Adam with Nesterov momentum and a momentum schedule.

    ::

        mu_t = beta1 * (1 - 0.5 * 0.96**(t * momentum_decay)),  P = P * mu_t  (P starts at 1)
        M, N as Adam's;  D = sqrt(N / c2) + eps
        w -= lr * (1 - mu_t) / (1 - P) * g / D + lr * mu_{t+1} / (1 - P * mu_{t+1}) * M / D

    Equals ``torch.optim.NAdam`` (``weight_decay`` L2). The product ``P`` is one number
    per run (a running scalar of the state), so the two factors in front of ``g / D``
    and ``M / D`` cost nothing per coordinate.
    """

    name = "nadam"
    slots = ("mean", "mean_square")
    scalars: ClassVar[dict[str, float]] = {"mu_product": 1.0}
    decoupled: ClassVar[bool] = False
    lr = _AdamLike.lr.but(default=0.002)
    momentum_decay = Hyperparameter(0.004, rate, "the momentum schedule's psi")
    pass_cost = 3.9

    @staticmethod
    def per_step(t, scalars, *, beta1, momentum_decay, **_):
        # mu_t and mu_{t+1}, and P advanced once per step, for every array
        mu = beta1 * (1.0 - 0.5 * 0.96 ** (t * momentum_decay))
        mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * momentum_decay))
        P = assign(scalars["mu_product"], scalars["mu_product"] * mu)
        return {"mu": mu, "mu_next": mu_next, "mu_product": P}, {"mu_product": P}

    @classmethod
    def update(
        cls, xp, w, g, M, N, *, t, lr, beta1, beta2, eps, weight_decay, mu, mu_next, mu_product, **_
    ):
        if cls.decoupled:
            w = decoupled_decay(w, lr, weight_decay)
        else:
            g = l2(w, g, weight_decay)
        P = mu_product
        M, N = moments(g, M, N, beta1, beta2)
        denominator = xp.sqrt(N / (1.0 - beta2**t))
        denominator += eps
        w -= (lr * (1.0 - mu) / (1.0 - P)) * g / denominator
        w -= (lr * mu_next / (1.0 - P * mu_next)) * M / denominator
        return w, (M, N)


class NAdamW(NAdam):
    """NAdam with decoupled weight decay, ``w *= 1 - lr * weight_decay`` first.

    Equals ``torch.optim.NAdam(decoupled_weight_decay=True)``.
    """

    name = "nadamw"
    decoupled = True
    weight_decay = DECOUPLED_DECAY.but(default=0.0)
    pass_cost = 4.0


class RAdam(_AdamLike):
    """RAdam (Liu et al., 2020): Adam whose adaptive step is rectified while its variance
    estimate is unreliable.

    ::

        rho_inf = 2 / (1 - beta2) - 1,   rho_t = rho_inf - 2 t beta2**t / c2
        rho_t > 5:   r = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))
                     w -= lr * (M / c1) * r * sqrt(c2) / (sqrt(N) + eps)
        otherwise:   w -= lr * (M / c1)

    Equals ``torch.optim.RAdam`` (``weight_decay`` L2).
    """

    name = "radam"
    slots = ("mean", "mean_square")
    pass_cost = 3.3

    @staticmethod
    def update(xp, w, g, M, N, *, t, lr, beta1, beta2, eps, weight_decay):
        g = l2(w, g, weight_decay)
        M, N = moments(g, M, N, beta1, beta2)
        c2 = 1.0 - beta2**t
        rho_inf = 2.0 / (1.0 - beta2) - 1.0
        rho_t = rho_inf - 2.0 * t * beta2**t / c2
        momentum = M * (lr / (1.0 - beta1**t))
        adaptive = c2**0.5 / (xp.sqrt(N) + eps)
        if isinstance(rho_t, float):  # constant hyper-parameters, a Python count
            if rho_t > 5.0:
                rect = math.sqrt(
                    (rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)
                )
                momentum *= adaptive * rect
        else:  # device values (a graph's count, members' betas): choose on the device
            ratio = (rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)
            rect = xp.sqrt(xp.where(rho_t > 5.0, ratio, 1.0))
            momentum = xp.where(rho_t > 5.0, momentum * adaptive * rect, momentum)
        w -= momentum
        return w, (M, N)


class Adamax(_AdamLike):
    """Adamax (Kingma & Ba, 2015): Adam with the infinity norm in the denominator.

    ``M`` as Adam's; ``U = max(beta2 * U, |g| + eps)``; ``w -= lr / c1 * M / U``.
    Equals ``torch.optim.Adamax`` (``weight_decay`` L2).
    """

    name = "adamax"
    slots = ("mean", "max_norm")
    lr = _AdamLike.lr.but(default=0.002)
    beta2 = BETA2.but(doc="decay of the infinity norm")
    pass_cost = 2.9

    @staticmethod
    def update(xp, w, g, M, U, *, t, lr, beta1, beta2, eps, weight_decay):
        g = l2(w, g, weight_decay)
        M *= beta1
        M += (1.0 - beta1) * g
        U = assign(U, xp.maximum(U * beta2, xp.abs(g) + eps))
        w -= (lr / (1.0 - beta1**t)) * M / U
        return w, (M, U)
