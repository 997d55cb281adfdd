"""Which implementation of an update rule runs on a library, chosen in one place.

The portable rule, :meth:`Optimizer.update <optimlab.optimizers.Optimizer.update>`
(Array API code), is the reference and runs everywhere. An optimizer class may declare
a native implementation of the same rule for a library, beside its rule: its
``native`` attribute maps a library's name to a :class:`Kernel` (source text, no
import of the library), which this package compiles — CuPy's fused elementwise
kernels (:mod:`optimlab.backend.cupy_kernels`), one kernel instead of one per array
operation. PyTorch has none: its portable rules already run as few operations as
the formulas allow, and a CUDA graph replays them. ``tests/test_cupy_kernels.py``
checks every registered optimizer's native kernels against the reference.

On NumPy an elementwise rule runs on blocks of :data:`BLOCK` entries of a large array
(:func:`blocked`): each operation of the formula makes a new temporary, and a
temporary of a million-parameter network (5 MB) is fresh memory every step, where a
block's stays in the cache. The figures are the same, entry by entry.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import array_api_compat

__all__ = ["BLOCK", "LIBRARIES", "Kernel", "blocked", "rule"]

#: Entries per block of :func:`blocked` (256 KiB of float32: a block's temporaries fit
#: a core's L2 cache).
BLOCK = 1 << 16


class Kernel(NamedTuple):
    """An update rule as one elementwise kernel of a library, declared as source text.

    ``inputs`` are the kernel's scalar (or broadcast ``(K, 1)``) arguments **by
    name**: the rule's hyper-parameters, looked up by their names in the state, and
    the values its ``per_step`` hook derives from them once per step (which the
    portable rule receives too).
    ``outputs`` are the parameters and the accumulators, updated in place, in the
    order of the optimizer's ``slots``. ``body`` restates the portable rule in the
    library's language (CUDA C for CuPy, where ``g`` is the gradient and ``T`` the
    arrays' type) in the same order of operations.
    """

    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    body: str


def _cupy(name: str, kernel: Kernel) -> Callable[..., Any]:
    from . import cupy_kernels  # imports CuPy only when a kernel is first built

    return cupy_kernels.fused_rule(name, kernel)


#: Library -> (how to recognise its namespace, how to compile a :class:`Kernel` for it):
#: the libraries whose native kernels an optimizer may declare.
_NATIVE: dict[str, tuple[Callable[[Any], bool], Callable[[str, Kernel], Callable[..., Any]]]] = {
    "cupy": (array_api_compat.is_cupy_namespace, _cupy),
}
#: The names of those libraries (the keys of an optimizer's ``native``).
LIBRARIES = tuple(_NATIVE)


@functools.cache
def rule(optimizer: type, xp: Any, size: int = 0) -> Callable[..., Any]:
    """The update function of ``optimizer`` (a class) for arrays of namespace ``xp``
    whose last axis holds ``size`` entries (0: unknown).

    A native implementation where ``xp``'s library registers one, else the
    portable ``optimizer.update`` (on NumPy, in blocks when ``size`` is over two
    blocks). All have the same signature and take the hyper-parameters by name.
    Cached: a training loop asks once per block.
    """
    for library, (recognises, compile_kernel) in _NATIVE.items():
        kernel = getattr(optimizer, "native", {}).get(library)
        if kernel is not None and recognises(xp):
            return compile_kernel(optimizer.name, kernel)
    if optimizer.elementwise and size > 2 * BLOCK and array_api_compat.is_numpy_namespace(xp):
        return blocked(optimizer.update)
    return optimizer.update


def blocked(update: Callable[..., Any]) -> Callable[..., Any]:
    """``update`` (an elementwise rule) applied to blocks of :data:`BLOCK` entries along
    the last axis of its arrays.

    Each block's parameters and accumulators are views; what the rule returns in place
    of a view is written back into it. A hyper-parameter as long as the arrays (the
    weight decay of ``decay_biases=False``) is cut into the same blocks; the others
    (scalars, a member stack's ``(K, 1)`` columns) broadcast.
    """

    @functools.wraps(update)
    def run(xp: Any, w: Any, g: Any, *accumulators: Any, t: Any, **hyper: Any) -> Any:
        n = w.shape[-1]
        long = [k for k, v in hyper.items() if getattr(v, "ndim", 0) and v.shape[-1] == n]
        for start in range(0, n, BLOCK):
            part = slice(start, min(start + BLOCK, n))
            views = [w[..., part], *(a[..., part] for a in accumulators)]
            cut = {k: hyper[k][..., part] for k in long}
            new = update(xp, views[0], g[..., part], *views[1:], t=t, **hyper | cut)
            for view, value in zip(views, (new[0], *new[1])):
                if value is not view:
                    view[...] = value
        return w, accumulators

    return run
