"""CuPy fast paths: fused CUDA kernels for the update rules and the sigmoid chains.

At batch 10 a step on the GPU is bound by kernel launches, not arithmetic: the
portable Adam rule is 13 array operations, so 13 launches; here it is one. Each
fast path sits behind one function, used only for CuPy arrays, and the portable
Array API code in :mod:`optimlab.optimizers`, :mod:`optimlab.nn.activations` and
:mod:`optimlab.nn.losses` is its reference: ``tests/test_cupy_kernels.py`` checks
that both give the same numbers.

* :func:`fused_update` — an optimizer's rule as one in-place kernel over the
  parameters and every accumulator (per-member hyper-parameters broadcast).
* :func:`sigmoid_` — ``sigmoid(z)`` written over ``z``.
* :func:`sigmoid_error_` — the output error ``(sigmoid(z) - y) * scale`` over ``z``.
* :func:`times_sigmoid_slope_` — ``delta * a * (1 - a)`` written over ``delta``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

# name -> (inputs besides g, in-place outputs, body). The body restates the rule of
# optimizers.py in the same order of operations.
_RULES = {
    "sgd": ("T lr", "T w", "w -= lr * g;"),
    "momentum": ("T lr, T m", "T w, T v", "v = m * v + lr * g; w -= v;"),
    "nesterov": ("T lr, T m", "T w, T v", "T s = lr * g; v = m * v + s; w -= s + m * v;"),
    "adagrad": ("T lr, T eps", "T w, T G", "G += g * g; w -= lr * g / (sqrt(G) + eps);"),
    "rmsprop": (
        "T lr, T d, T eps",
        "T w, T E",
        "E = d * E + (1 - d) * (g * g); w -= lr * g / (sqrt(E) + eps);",
    ),
    "adadelta": (
        "T lr, T d, T eps",
        "T w, T E, T P",
        "E = d * E + (1 - d) * (g * g);"
        "T D = sqrt(P + eps) / sqrt(E + eps) * g;"
        "P = d * P + (1 - d) * (D * D);"
        "w -= lr * D;",
    ),
    "adam": (
        "T step, T b1, T b2, T root, T eps",
        "T w, T M, T N",
        "M = b1 * M + (1 - b1) * g; N = b2 * N + (1 - b2) * (g * g);"
        "w -= step * M / (sqrt(N) * root + eps);",
    ),
}


def _is_cupy(xp: Any) -> bool:
    import array_api_compat

    return array_api_compat.is_cupy_namespace(xp)


@functools.cache
def _kernel(name: str) -> Any:
    import cupy

    inputs, outputs, body = _RULES[name]
    return cupy.ElementwiseKernel(f"T g, {inputs}", outputs, body, f"optimlab_{name}")


def fused_update(optimizer: Any, xp: Any) -> Callable[..., Any] | None:
    """``optimizer.update`` as one CuPy kernel, or None where there is no fast path.

    The returned function has the signature of
    :meth:`optimlab.optimizers.Optimizer.update` and updates ``w`` and the
    accumulators in place.
    """
    if not _is_cupy(xp) or optimizer.name not in _RULES:
        return None
    kernel = _kernel(optimizer.name)
    hyper = list(optimizer.hyperparameters.values())
    if optimizer.name != "adam":

        def update(xp: Any, w: Any, g: Any, *accumulators: Any, t: int) -> tuple[Any, tuple]:
            kernel(g, *hyper, w, *accumulators)
            return w, accumulators

        return update

    lr, b1, b2, eps = hyper

    def adam(xp: Any, w: Any, g: Any, m: Any, n: Any, *, t: int) -> tuple[Any, tuple]:
        # The bias corrections as in Adam.update: Python floats (or (K, 1) arrays).
        kernel(g, lr / (1.0 - b1**t), b1, b2, 1.0 / (1.0 - b2**t) ** 0.5, eps, w, m, n)
        return w, (m, n)

    return adam


@functools.cache
def _elementwise(name: str) -> Any:
    import cupy

    kernels = {
        "sigmoid": ("T x", "T z", "z = 0.5 * tanh(0.5 * x) + 0.5;"),
        "sigmoid_error": ("T y, T scale", "T z", "z = (0.5 * tanh(0.5 * z) + 0.5 - y) * scale;"),
        "slope": ("T a", "T delta", "delta *= a * (1 - a);"),
    }
    inputs, outputs, body = kernels[name]
    return cupy.ElementwiseKernel(inputs, outputs, body, f"optimlab_{name}")


def sigmoid_(z: Any) -> Any:
    """``z = sigmoid(z)`` in place, in the tanh form of ``activations.Sigmoid``."""
    _elementwise("sigmoid")(z, z)
    return z


def sigmoid_error_(z: Any, y: Any, scale: float) -> Any:
    """``z = (sigmoid(z) - y) * scale`` in place: the output error of the report's cost."""
    _elementwise("sigmoid_error")(y, scale, z)
    return z


def times_sigmoid_slope_(delta: Any, a: Any) -> Any:
    """``delta *= a * (1 - a)`` in place: back through a sigmoid layer."""
    _elementwise("slope")(a, delta)
    return delta
