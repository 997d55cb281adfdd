"""Adafactor (Shazeer & Stern, 2018): second moments factored into rows and columns."""

from __future__ import annotations

from typing import Any

import array_api_compat

from .base import Optimizer, decoupled_decay
from .hyperparameters import Hyperparameter, at_least, at_most, rate

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
    """

    name = "adafactor"
    slots = ("row_var", "col_var", "variance")
    elementwise = False
    lr = Hyperparameter(1e-2, rate, "the relative step's cap", search=(1e-4, 1e0))
    beta2_decay = Hyperparameter(
        -0.8, at_most(0.0), "exponent of the second moment's averaging weight t**beta2_decay"
    )
    eps2 = Hyperparameter(1e-3, rate, "floor of the parameters' RMS in the step size")
    d = Hyperparameter(1.0, at_least(1.0), "clipping threshold of the update's RMS")
    weight_decay = Hyperparameter(0.0, rate, "decoupled weight decay", search=(1e-5, 1.0))

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
