"""Hidden-layer activation functions.

Each activation knows its value ``f(z)`` and its derivative expressed through
the value, ``f'(z) = d(a)`` with ``a = f(z)``: the backward pass already holds
``a`` from the forward pass, so no pre-activation has to be kept or recomputed.
"""

from __future__ import annotations

from typing import Any

from ..errors import ConfigError

__all__ = ["ACTIVATIONS", "Activation", "ReLU", "Sigmoid", "Tanh", "get"]


class Activation:
    """An elementwise activation ``a = f(z)`` with its derivative ``f'(z)`` written in ``a``."""

    name: str = ""

    def __call__(self, xp: Any, z: Any) -> Any:
        raise NotImplementedError

    def apply_(self, xp: Any, z: Any) -> Any:
        """``f(z)``, free to overwrite ``z`` (a temporary of the caller's) to save memory."""
        return self(xp, z)

    def derivative(self, xp: Any, a: Any) -> Any:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class Sigmoid(Activation):
    """``f(z) = 1 / (1 + exp(-z))``, ``f'(z) = a (1 - a)``.

    Computed as ``0.5 tanh(z / 2) + 0.5``: the same function, but ``exp(-z)``
    cannot overflow for very negative ``z`` (no warnings, no ``inf``).
    """

    name = "sigmoid"

    def __call__(self, xp: Any, z: Any) -> Any:
        return _sigmoid_of_half(xp, 0.5 * z)

    def apply_(self, xp: Any, z: Any) -> Any:
        z *= 0.5
        return _sigmoid_of_half(xp, z)

    def derivative(self, xp: Any, a: Any) -> Any:
        return a * (1.0 - a)


def _sigmoid_of_half(xp: Any, half: Any) -> Any:
    """``sigmoid(z)`` from ``z / 2``, in one new array."""
    a = xp.tanh(half)
    a *= 0.5
    a += 0.5
    return a


class Tanh(Activation):
    """``f(z) = tanh(z)``, ``f'(z) = 1 - a**2``."""

    name = "tanh"

    def __call__(self, xp: Any, z: Any) -> Any:
        return xp.tanh(z)

    def derivative(self, xp: Any, a: Any) -> Any:
        return 1.0 - a * a


class ReLU(Activation):
    """``f(z) = max(z, 0)``, ``f'(z) = 1 where a > 0 else 0``."""

    name = "relu"

    def __call__(self, xp: Any, z: Any) -> Any:
        return xp.maximum(z, 0.0)

    def derivative(self, xp: Any, a: Any) -> Any:
        return xp.astype(a > 0.0, a.dtype)


#: Activation name -> instance.
ACTIVATIONS: dict[str, Activation] = {a.name: a for a in (Sigmoid(), Tanh(), ReLU())}


def get(name: str) -> Activation:
    """The activation called ``name`` (one of :data:`ACTIVATIONS`)."""
    try:
        return ACTIVATIONS[name]
    except KeyError:
        raise ConfigError(
            f"unknown activation {name!r}: choose one of {', '.join(ACTIVATIONS)}"
        ) from None
