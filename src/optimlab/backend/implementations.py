"""Which implementation of an update rule runs on a library, chosen in one place.

The portable rule, :meth:`Optimizer.update <optimlab.optimizers.Optimizer.update>`
(Array API code), is the reference and runs everywhere. A library may register a
native implementation of the same rule: CuPy's fused elementwise kernels
(:mod:`optimlab.backend.cupy_kernels`), one kernel instead of one per array
operation. PyTorch has none: its portable rules already run as few operations as
the formulas allow, and a CUDA graph replays them. ``tests/test_cupy_kernels.py``
checks every row of :func:`native_rules` against the reference.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import array_api_compat

__all__ = ["native_rules", "rule"]


def _cupy_rules() -> dict[str, Callable[..., Any]]:
    from . import cupy_kernels  # imports CuPy only when a kernel is first built

    return {name: cupy_kernels.fused_rule(name) for name in cupy_kernels.RULES}


#: Library -> (how to recognise its namespace, its native rules by optimizer name).
_NATIVE: dict[str, tuple[Callable[[Any], bool], Callable[[], dict[str, Callable[..., Any]]]]] = {
    "cupy": (array_api_compat.is_cupy_namespace, _cupy_rules),
}


@functools.cache
def rule(optimizer: type, xp: Any) -> Callable[..., Any]:
    """The update function of ``optimizer`` (a class) for arrays of namespace ``xp``.

    A native implementation where ``xp``'s library registers one, else the
    portable ``optimizer.update``. Both have the same signature and take the
    hyper-parameters by name. Cached: a training loop asks once per block.
    """
    for recognises, rules in _NATIVE.values():
        if recognises(xp):
            native = rules().get(optimizer.name)
            if native is not None:
                return native
    return optimizer.update


def native_rules() -> list[tuple[str, str]]:
    """Every registered native implementation, as ``(library, optimizer name)`` rows."""
    from . import cupy_kernels

    return [("cupy", name) for name in cupy_kernels.RULES]
