"""Accumulators out of the subnormal range: the CPU's slow path, and why a rule falls into it.

An accumulator that decays geometrically while its gradient is exactly 0 — a
velocity ``v = m v``, a moment ``M = b1 M``, a running square ``E = d E`` — falls
below the dtype's smallest normal number (``1.18e-38`` in float32, ``2.23e-308``
in float64) after enough steps and then **never reaches 0**: round-to-nearest of
``0.9 x 1.4e-45`` is ``1.4e-45`` again. The report's network meets this at once:
MNIST's border pixels are 0 in nearly every image, so the weights they feed get a
zero gradient at nearly every step. On many CPUs (Intel's in particular) every
arithmetic operation with a subnormal operand or result takes a microcode assist
of about a hundred cycles; elementwise rules over such entries slow down for the
rest of the run. GPUs have no such slow path.

optimlab's answer is portable and exact where it matters: every
:data:`FLUSH_EVERY` steps, on a CPU, the entries of every accumulator whose
magnitude is below the dtype's smallest normal number are set to 0
(:func:`flush`). Zero is a fixed point of every decaying accumulator, so an entry
flushed once stays 0 until its gradient is nonzero again. The network's own
arithmetic (forward and backward passes, the parameters) stays strict IEEE: unlike
a flush-to-zero mode of the processor (TensorFlow's and XLA's choice on the CPU,
``torch.set_flush_denormal`` in PyTorch), this touches no other computation, no
thread state and no other library in the process. A changed entry moves by less
than the smallest normal number; a parameter moves by ``lr`` times that divided by
a denominator of at least ``eps`` — below a float32 or float64 parameter's
resolution, so the parameters and figures stay as they were, bit for bit, with
one kind of exception: a rule that takes the *sign* of an accumulator (Lion) no
longer moves a weight whose momentum has decayed to a subnormal number.
``flush_subnormals=False`` (an option of every optimizer; ``--keep-subnormals``
on the command line) keeps strict IEEE behaviour.
"""

from __future__ import annotations

from typing import Any

from .. import backend

__all__ = ["FLUSH_EVERY", "flush", "subnormal_count"]

#: Steps between two flushes. An entry spends at most this many steps subnormal
#: before it is set to 0; a flush costs four elementwise passes over each
#: accumulator, so its share of a step's time is about ``4 / FLUSH_EVERY`` of one
#: pass per accumulator (measured in docs/performance.md).
FLUSH_EVERY = 64


def flush(xp: Any, slots: dict[str, list[Any]]) -> dict[str, list[Any]]:
    """The accumulators ``slots`` with every entry below the smallest normal number of its
    dtype in magnitude set to 0, where such numbers are slow (see
    :func:`optimlab.backend.slow_subnormals`: NumPy, array-api-strict, PyTorch on a CPU);
    unchanged elsewhere (a GPU has no slow path, and XLA flushes JAX's by itself).

    The arrays are overwritten in place where the library allows it (the returned
    dict then holds the same arrays) and replaced where it does not (JAX). NaN and
    infinities are kept. Nothing is read back to the host.
    """
    arrays = [a for v in slots.values() for a in v]
    if not arrays or not backend.slow_subnormals(arrays[0]):
        return slots
    flushed = {}
    for name, values in slots.items():
        new = []
        for a in values:
            # 0 where subnormal (or 0), 1 elsewhere: NaN * 0 is NaN, so NaN stays
            keep = xp.abs(a) >= xp.finfo(a.dtype).smallest_normal
            a *= xp.astype(keep, a.dtype)
            new.append(a)
        flushed[name] = new
    return flushed


def subnormal_count(xp: Any, arrays: list[Any]) -> int:
    """How many entries of ``arrays`` are subnormal (nonzero, below the smallest normal
    number in magnitude): a host read, for tests and benchmarks, not the step loop."""
    total = 0
    for a in arrays:
        size = xp.abs(a)
        tiny = xp.finfo(a.dtype).smallest_normal
        total += int(xp.sum(xp.astype(xp.logical_and(size > 0, size < tiny), xp.int64)))
    return total
