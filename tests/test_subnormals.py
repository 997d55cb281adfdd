"""No accumulator stays subnormal on a CPU: the flush of ``flush_subnormals`` (the default).

Every registered optimizer with accumulators, both dtypes, every CPU backend: a
gradient spread over the whole range of the dtype on the first step and 0 after
it drives entries of every kind of accumulator below the smallest normal number,
where strict IEEE arithmetic keeps them (``flush_subnormals=False``: the check of
the check). Right after every flush step none is left.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from optimlab import MLP, Trainer, load_mnist, optimizers
from optimlab.backend import slow_subnormals, to_numpy
from optimlab.cli import main
from optimlab.datasets import Dataset
from optimlab.optimizers.subnormals import FLUSH_EVERY, flush

#: Every registered optimizer that keeps accumulators (derived from the registry).
WITH_SLOTS = [name for name, cls in optimizers.OPTIMIZERS.items() if cls.slots]


def _subnormal(arrays) -> int:
    """Entries that are nonzero and below the smallest normal number (NumPy, by hand)."""
    total = 0
    for a in arrays:
        a = np.abs(to_numpy(a))
        total += int(np.count_nonzero((a > 0) & (a < np.finfo(a.dtype).tiny)))
    return total


def _spread(rng, shape, dtype, low) -> np.ndarray:
    """Random signs times magnitudes spread evenly in log scale from 1 down to 10**low."""
    n = int(np.prod(shape))
    magnitudes = 10.0 ** rng.permutation(np.linspace(0.0, low, n))
    return (rng.choice([-1.0, 1.0], n) * magnitudes).reshape(shape).astype(dtype)


def _run(backend, name: str, dtype: str, flush_subnormals: bool, steps: int):
    """``steps`` steps of ``name`` on a (matrix, vector) pair; yields the state after each.

    Parameters spread from 1 down to below the normal floor (copies of the parameters
    are accumulators too: Schedule-Free's ``z``, Prodigy's start point), the first
    gradient from 1 down to 100x the floor (0 on a quarter of the entries) twice, then 0: a
    decaying accumulator of every kind passes the floor within a few steps.
    """
    xp, dt = backend.xp, backend.dtype(dtype)
    rng = np.random.default_rng(7)
    floor = np.log10(np.finfo(dtype).tiny)
    shapes = ((16, 48), (512,))
    params = [backend.asarray(_spread(rng, s, dtype, floor - 4), dtype=dt) for s in shapes]
    first = [_spread(rng, s, dtype, floor + 2) for s in shapes]
    for g in first:  # and 0 on a quarter: accumulators that copy a subnormal parameter
        g.reshape(-1)[::4] = 0
    first = [backend.asarray(g, dtype=dt) for g in first]
    zero = [xp.zeros_like(g) for g in first]
    opt = optimizers.get(name, flush_subnormals=flush_subnormals)
    state = opt.init(params)
    for t in range(1, steps + 1):  # two steps: SOAP's first only builds its bases
        params, state = opt.step(params, first if t <= 2 else zero, state)
        yield t, state


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", WITH_SLOTS)
def test_no_accumulator_stays_subnormal(backend, name: str, dtype: str) -> None:
    slow = slow_subnormals(backend.asarray(np.zeros(1)))
    if not slow and name not in ("adam", "prodigy"):  # prodigy: a copy keeps subnormals
        pytest.skip(f"{backend.name} has no slow path: adam and prodigy show it is left alone")
    steps = 2 * FLUSH_EVERY
    after_flush = {
        t: _subnormal(a for v in state.slots.values() for a in v)
        for t, state in _run(backend, name, dtype, True, steps)
        if t % FLUSH_EVERY == 0
    }
    *_, (_, ieee) = _run(backend, name, dtype, False, steps)
    kept = _subnormal(a for v in ieee.slots.values() for a in v)
    if slow:
        assert kept > 0, "the case reaches no subnormal number"
        assert after_flush == dict.fromkeys(after_flush, 0)
    else:  # a GPU, or JAX (XLA's flush-to-zero): no slow path, the arithmetic is left alone
        assert after_flush[steps] == kept


def test_flush_sets_subnormal_entries_to_zero_and_keeps_the_rest() -> None:
    for dtype in (np.float32, np.float64):
        tiny = np.finfo(dtype).tiny
        a = np.array([tiny, tiny / 2, -tiny / 4, -tiny, 0.0, np.nan, np.inf, -1.5], dtype)
        expected = np.array([tiny, 0.0, 0.0, -tiny, 0.0, np.nan, np.inf, -1.5], dtype)
        out = flush(np, {"m": [a]})
        assert out["m"][0] is a  # in place where arrays are mutable
        np.testing.assert_array_equal(a, expected)


def test_training_leaves_no_subnormal_accumulator_and_the_same_parameters() -> None:
    """The report's network, Adam, float32: MNIST's rare pixels drive first moments below
    the normal floor within an epoch; the flush leaves none and changes no parameter."""
    train, _ = load_mnist(dtype="float32")
    n = 10 * 25 * FLUSH_EVERY  # 1,600 steps, the last a flush: moments decay for 800
    part = Dataset(train.images[:n], train.labels[:n], 10)
    runs = {}
    for flush_subnormals in (True, False):
        model = MLP((784, 30, 10), dtype="float32", seed=0)
        opt = optimizers.get("adam", flush_subnormals=flush_subnormals)
        trainer = Trainer(model, opt, part, batch_size=10, seed=0)
        trainer.run_epoch()
        runs[flush_subnormals] = trainer
    flushed, ieee = runs[True], runs[False]
    assert _subnormal(a for v in flushed.state.slots.values() for a in v) == 0
    assert _subnormal(a for v in ieee.state.slots.values() for a in v) > 0
    np.testing.assert_array_equal(flushed.model.params, ieee.model.params)


def test_keep_subnormals_on_the_command_line(tmp_path: Path) -> None:
    argv = "--optimizers adam --epochs 1 --limit-train 500 --quiet --jobs 1".split()
    assert main(["compare", *argv, "--keep-subnormals", "--out", str(tmp_path / "a")]) == 0
    assert main(["compare", *argv, "--set", "adam.flush_subnormals=false",
                 "--out", str(tmp_path / "b")]) == 0  # fmt: skip
    for out in ("a", "b"):
        results = json.loads((tmp_path / out / "results.json").read_text())
        assert json.dumps(results).count('"flush_subnormals": false') >= 1, out
    assert main(["compare", *argv, "--set", "adam.flush_subnormals=maybe",
                 "--out", str(tmp_path / "c")]) == 2  # fmt: skip
    assert not (tmp_path / "c").exists()
