"""PyTorch fast paths: the sigmoid chains as PyTorch's own single operations.

On CUDA the ``Trainer`` replays a captured graph of the step, whose cost is about
one launch latency per node (see docs/performance.md), so operations count there
as they do for CuPy. The portable sigmoid is four array operations (its tanh
form), the output error six and the sigmoid's slope three; here they are one,
three and one. Each function restates the portable code of
:mod:`optimlab.nn.activations` and :mod:`optimlab.nn.losses`, which is its reference:
``tests/test_torch_kernels.py`` checks that both give the same numbers. The
functions have the signatures of :mod:`optimlab.backend.cupy_kernels`'s.
"""

from __future__ import annotations

from typing import Any

import torch


def sigmoid_(z: Any) -> Any:
    """``z = sigmoid(z)`` in place."""
    return z.sigmoid_()


def sigmoid_error_(z: Any, y: Any, scale: float) -> Any:
    """``z = (sigmoid(z) - y) * scale`` in place: the output error of the report's cost."""
    return z.sigmoid_().sub_(y).mul_(scale)


def times_sigmoid_slope_(delta: Any, a: Any) -> Any:
    """``delta *= a * (1 - a)`` in place: back through a sigmoid layer (one kernel)."""
    return torch.ops.aten.sigmoid_backward.grad_input(delta, a, grad_input=delta)
