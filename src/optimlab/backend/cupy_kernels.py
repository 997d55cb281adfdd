"""CuPy fast paths: fused CUDA kernels for the update rules and the sigmoid chains.

At batch 10 a step on the GPU is bound by kernel launches, not arithmetic: the
portable Adam rule is 13 array operations, so 13 launches; here it is one. Each
fast path sits behind one function, used only for CuPy arrays, and the portable
Array API code in :mod:`optimlab.optimizers`, :mod:`optimlab.nn.activations` and
:mod:`optimlab.nn.losses` is its reference: ``tests/test_cupy_kernels.py`` checks
that both give the same numbers.

* :func:`fused_rule` — an optimizer's rule as one in-place kernel over the
  parameters and every accumulator, from the table :data:`RULES` (hyper-parameters
  by name; per-member values broadcast).
* :func:`sigmoid_` — ``sigmoid(z)`` written over ``z``.
* :func:`sigmoid_error_` — the output error ``(sigmoid(z) - y) * scale`` over ``z``.
* :func:`times_sigmoid_slope_` — ``delta * a * (1 - a)`` written over ``delta``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple


class Rule(NamedTuple):
    """An update rule as one CuPy elementwise kernel.

    ``inputs`` are the kernel's scalar (or broadcast ``(K, 1)``) arguments **by
    name**: a rule's hyper-parameters, looked up by their names in the state, or
    what ``prepare(t, **hyperparameters)`` derives from them. ``outputs`` are the
    parameters and the accumulators, updated in place, in the order of the
    optimizer's ``slots``. The body restates the rule of
    :mod:`optimlab.optimizers.rules` in the same order of operations.
    """

    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    body: str
    prepare: Callable[..., dict[str, Any]] | None = None


def _adam_scalars(
    t: Any, lr: Any, beta1: Any, beta2: Any, eps: Any, weight_decay: Any
) -> dict[str, Any]:
    # The bias corrections as in Adam.update: Python floats (or (K, 1) arrays).
    return {
        "step": lr / (1.0 - beta1**t),
        "beta1": beta1,
        "beta2": beta2,
        "root": 1.0 / (1.0 - beta2**t) ** 0.5,
        "eps": eps,
        "weight_decay": weight_decay,
    }


# The gradient with weight decay as an L2 term (optimizers.base.l2): q = g + weight_decay * w
_L2 = "T q = g + weight_decay * w;"

#: Optimizer name -> its fused kernel.
RULES: dict[str, Rule] = {
    "sgd": Rule(("lr", "weight_decay"), ("w",), _L2 + "w -= lr * q;"),
    "momentum": Rule(
        ("lr", "momentum", "weight_decay"),
        ("w", "v"),
        _L2 + "v = momentum * v + lr * q; w -= v;",
    ),
    "nesterov": Rule(
        ("lr", "momentum", "weight_decay"),
        ("w", "v"),
        _L2 + "T s = lr * q; v = momentum * v + s; w -= s + momentum * v;",
    ),
    "adagrad": Rule(
        ("lr", "eps", "weight_decay"),
        ("w", "G"),
        _L2 + "G += q * q; w -= lr * q / (sqrt(G) + eps);",
    ),
    "rmsprop": Rule(
        ("lr", "decay", "eps", "weight_decay"),
        ("w", "E"),
        _L2 + "E = decay * E + (1 - decay) * (q * q); w -= lr * q / (sqrt(E) + eps);",
    ),
    "adadelta": Rule(
        ("lr", "decay", "eps", "weight_decay"),
        ("w", "E", "P"),
        _L2 + "E = decay * E + (1 - decay) * (q * q);"
        "T D = sqrt(P + eps) / sqrt(E + eps) * q;"
        "P = decay * P + (1 - decay) * (D * D);"
        "w -= lr * D;",
    ),
    "adam": Rule(
        ("step", "beta1", "beta2", "root", "eps", "weight_decay"),
        ("w", "M", "N"),
        _L2 + "M = beta1 * M + (1 - beta1) * q; N = beta2 * N + (1 - beta2) * (q * q);"
        "w -= step * M / (sqrt(N) * root + eps);",
        _adam_scalars,
    ),
}


@functools.cache
def _kernel(name: str) -> Any:
    import cupy

    rule = RULES[name]
    inputs = ", ".join(f"T {n}" for n in ("g", *rule.inputs))
    outputs = ", ".join(f"T {n}" for n in rule.outputs)
    return cupy.ElementwiseKernel(inputs, outputs, rule.body, f"optimlab_{name}")


def fused_rule(name: str) -> Callable[..., tuple[Any, tuple]] | None:
    """The rule registered as ``name`` as one in-place CuPy kernel, or None if there is none.

    The returned function has the signature of
    :meth:`optimlab.optimizers.Optimizer.update` and takes the hyper-parameters by
    name; it updates ``w`` and the accumulators in place.
    """
    rule = RULES.get(name)
    if rule is None:
        return None

    def update(xp: Any, w: Any, g: Any, *accumulators: Any, t: Any, **hyper: Any):
        values = hyper if rule.prepare is None else rule.prepare(t, **hyper)
        _kernel(name)(g, *(values[n] for n in rule.inputs), w, *accumulators)
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
