"""CuPy fast paths: fused CUDA kernels for the update rules and the sigmoid chains.

At batch 10 a step on the GPU is bound by kernel launches, not arithmetic: the
portable Adam rule is 13 array operations, so 13 launches; here it is one. Each
fast path sits behind one function, used only for CuPy arrays, and the portable
Array API code in :mod:`optimlab.optimizers`, :mod:`optimlab.nn.activations` and
:mod:`optimlab.nn.losses` is its reference: ``tests/test_cupy_kernels.py`` checks
that both give the same numbers.

* :func:`fused_rule` — an optimizer's rule as one in-place kernel over the
  parameters and every accumulator, compiled from the
  :class:`~optimlab.backend.implementations.Kernel` its class declares (``native``;
  hyper-parameters by name, per-member values broadcast).
* :func:`sigmoid_` — ``sigmoid(z)`` written over ``z``.
* :func:`sigmoid_error_` — the output error ``(sigmoid(z) - y) * scale`` over ``z``.
* :func:`times_sigmoid_slope_` — ``delta * a * (1 - a)`` written over ``delta``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any


@functools.cache
def _kernel(name: str, kernel: Any) -> Any:
    import cupy

    inputs = ", ".join(f"T {n}" for n in ("g", *kernel.inputs))
    outputs = ", ".join(f"T {n}" for n in kernel.outputs)
    return cupy.ElementwiseKernel(inputs, outputs, kernel.body, f"optimlab_{name}")


@functools.cache
def fused_rule(name: str, kernel: Any) -> Callable[..., tuple[Any, tuple]]:
    """The rule of the optimizer registered as ``name``, declared as ``kernel`` (its
    ``native["cupy"]``, an :class:`~optimlab.backend.implementations.Kernel`), as one
    in-place CuPy kernel.

    The returned function has the signature of
    :meth:`optimlab.optimizers.Optimizer.update` and takes the hyper-parameters by
    name; it updates ``w`` and the accumulators in place.
    """

    def update(xp: Any, w: Any, g: Any, *accumulators: Any, t: Any, **hyper: Any):
        _kernel(name, kernel)(g, *(hyper[n] for n in kernel.inputs), w, *accumulators)
        return w, accumulators

    return update


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
