"""Adafactor (Shazeer & Stern, 2018): second moments factored into rows and columns."""

from __future__ import annotations

from typing import Any

import array_api_compat

from ..errors import ConfigError
from .base import Optimizer, decoupled_decay, number, rate

__all__ = ["Adafactor", "in_dtype"]


class Adafactor(Optimizer):
    """Adafactor: RMS scaling with the second moment of a matrix kept as a row and a column.

    For step ``t`` (from 1), ``b_t = t ** beta2_decay``, ``rho_t = min(lr, 1 / sqrt(t))``,
    ``alpha = max(eps2, RMS(w)) * rho_t`` (the parameters' RMS before the decay), then
    ``w *= 1 - lr * weight_decay`` and, for a matrix ``g`` (an array of two or more
    axes, besides a stack's member axis, factored over its last two),::

        R = R + b_t (mean(g**2, over columns) - R)        # (out, 1)
        C = C + b_t (mean(g**2, over rows) - C)           # (1, in)
        V = R @ C / max(mean(R), eps1)

    for a vector ``V = V + b_t (g**2 - V)``; and ``u = g / sqrt(max(V, eps1**2))``,
    ``w -= alpha / max(1, RMS(u) / d) * u``. ``eps1`` is the dtype's machine epsilon
    (torch's ``eps=(None, eps2)``). Equals ``torch.optim.Adafactor``; RMS and means
    are per member in a stack.

    Parameters
    ----------
    lr
        The relative step's cap, ``lr >= 0`` (default 1e-2).
    beta2_decay
        Exponent of the second moment's averaging weight ``t ** beta2_decay``, ``<= 0``
        (default -0.8).
    eps2
        Floor of the parameters' RMS in the step size, ``>= 0`` (default 1e-3).
    d
        Clipping threshold of the update's RMS, ``>= 1`` (default 1).
    weight_decay
        Decoupled weight decay, ``>= 0`` (default 0).
    """

    name = "adafactor"
    slots = ("row_var", "col_var", "variance")
    elementwise = False

    def __init__(
        self,
        lr: float = 1e-2,
        beta2_decay: float = -0.8,
        eps2: float = 1e-3,
        d: float = 1.0,
        weight_decay: float = 0.0,
        **options: Any,
    ) -> None:
        super().__init__(**options)
        self.lr = rate("lr", lr)
        self.beta2_decay = number("beta2_decay", beta2_decay)
        if self.beta2_decay > 0:
            raise ConfigError(f"beta2_decay must be <= 0, not {self.beta2_decay}")
        self.eps2 = rate("eps2", eps2)
        self.d = number("d", d)
        if self.d < 1:
            raise ConfigError(f"d must be >= 1, not {self.d}")
        self.weight_decay = rate("weight_decay", weight_decay)

    def init_slot(self, name: str, p: Any, lead: int) -> Any:
        # a matrix keeps a row and a column, a vector its full second moment; the slot
        # an array does not use is one zero per member
        xp = array_api_compat.array_namespace(p)
        lead_shape = tuple(p.shape[:lead])
        matrix = p.ndim - lead >= 2
        shape = {
            "row_var": (*p.shape[:-1], 1) if matrix else (*lead_shape, 1),
            "col_var": (*p.shape[:-2], 1, p.shape[-1]) if matrix else (*lead_shape, 1),
            "variance": (*lead_shape, 1) if matrix else tuple(p.shape),
        }[name]
        return xp.zeros(shape, dtype=p.dtype, device=array_api_compat.device(p))

    @staticmethod
    def update(xp, w, g, R, C, V, *, t, lead, lr, beta2_decay, eps2, d, weight_decay):
        eps1 = xp.finfo(w.dtype).eps
        axes = tuple(range(lead, w.ndim))
        # the step's scalars in float64 where the count is a graph's float64 device
        # scalar, then in the arrays' dtype (as a Python float meets them eagerly)
        b = in_dtype(xp, t**beta2_decay, w)
        rho = in_dtype(xp, _minimum(xp, lr, t**-0.5, w), w)
        alpha = xp.maximum(_rms(xp, w, axes), _full(xp, eps2, w)) * rho
        w = decoupled_decay(w, lr, weight_decay)
        if w.ndim - lead >= 2:  # factored over the last two axes, as torch's
            R += b * (xp.mean(g * g, axis=-1, keepdims=True) - R)
            C += b * (xp.mean(g * g, axis=-2, keepdims=True) - C)
            mean_row = xp.mean(R, axis=-2, keepdims=True)
            estimate = (R @ C) / xp.maximum(mean_row, _full(xp, eps1, w))
        else:
            V += b * (g * g - V)
            estimate = V
        u = g / xp.sqrt(xp.maximum(estimate, _full(xp, eps1 * eps1, w)))
        denominator = xp.maximum(_rms(xp, u, axes) / d, _full(xp, 1.0, w))
        w -= alpha / denominator * u
        return w, (R, C, V)


def _rms(xp: Any, a: Any, axes: tuple[int, ...]) -> Any:
    """The root mean square over ``axes``, kept as axes of length 1 (per member)."""
    return xp.sqrt(xp.mean(a * a, axis=axes, keepdims=True))


def in_dtype(xp: Any, value: Any, like: Any) -> Any:
    """``value`` (a Python number or an array) in ``like``'s dtype where it is an array of
    another (a float64 device count's power, met by float32 parameters)."""
    if hasattr(value, "dtype") and value.dtype != like.dtype:
        return xp.astype(value, like.dtype)
    return value


def _full(xp: Any, value: float, like: Any) -> Any:
    return xp.asarray(value, dtype=like.dtype, device=array_api_compat.device(like))


def _minimum(xp: Any, a: Any, b: Any, like: Any) -> Any:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return min(a, b)  # a Python step count and a constant rate: no array needed
    as_array = lambda v: v if hasattr(v, "shape") else _full(xp, v, like)  # noqa: E731
    return xp.minimum(as_array(a), as_array(b))
