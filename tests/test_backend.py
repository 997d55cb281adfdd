"""Backends: device names, the one fast path, and conversions."""

from __future__ import annotations

import numpy as np
import pytest

from helpers import assert_close, assert_on
from optimlab import MLP, ConfigError, DeviceError, optimizers
from optimlab.backend import matmul_into, of, resolve, take_rows, to_numpy


def test_cpu_is_numpy():
    backend = resolve("cpu")
    assert backend.library == "numpy" and backend.device == "cpu"
    assert backend.name == "numpy:cpu"
    assert of(np.zeros(2)).holds(np.zeros(3))


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("tpu", "unknown device 'tpu'"),
        ("cpu:1", "unknown device 'cpu:1'"),
        (3, "device must be one of cpu, cuda"),
    ],
)
def test_unknown_devices_are_refused(name, message):
    with pytest.raises(ConfigError, match=message):
        resolve(name)


def test_cuda_without_cupy_or_gpu_says_what_is_missing():
    try:
        import cupy

        if cupy.cuda.runtime.getDeviceCount() > 0:
            pytest.skip("a CUDA GPU is present")
    except ImportError:
        pass
    except Exception:  # CuPy installed without a driver: also the case under test
        pass
    with pytest.raises(DeviceError, match="device 'cuda'"):
        resolve("cuda")


def test_matmul_into_equals_the_portable_assignment(backend):
    """The fast path (matmul with out= on NumPy, CuPy, PyTorch) against ``out[...] = a @ b``."""
    if not backend.views_follow_updates:
        pytest.skip(f"{backend.name}: arrays are immutable; the step writes no buffer there")
    rng = np.random.default_rng(0)
    f64 = backend.xp.float64
    a = backend.asarray(rng.normal(size=(2, 5, 3)), dtype=f64)
    b = backend.asarray(rng.normal(size=(2, 3, 4)), dtype=f64)
    out = backend.xp.zeros((2, 5, 4), dtype=f64, device=backend.device)
    matmul_into(backend.xp, a, b, out)
    assert_on(backend, out, f64)
    assert_close(out, to_numpy(a) @ to_numpy(b), rtol=1e-15)
    portable = backend.xp.zeros((2, 5, 4), dtype=f64, device=backend.device)
    portable[...] = a @ b
    assert_close(out, portable, rtol=1e-14)  # to rounding: out= may choose another kernel


def test_take_rows_equals_take(backend):
    """The batch gather's fast path (PyTorch's index_select) against ``xp.take``."""
    rng = np.random.default_rng(0)
    x = backend.asarray(rng.normal(size=(50, 7)), dtype=backend.xp.float32)
    indices = backend.asarray(rng.permutation(50)[:12])
    rows = take_rows(backend.xp, x, indices)
    assert_on(backend, rows, backend.xp.float32)
    assert_close(rows, to_numpy(x)[to_numpy(indices)], rtol=0)
    assert_close(rows, backend.xp.take(x, indices, axis=0), rtol=0)


@pytest.mark.parametrize("members", [None, 3])
def test_gradient_into_a_buffer_equals_the_concatenated_one(members, backend):
    """The training loop's in-place gradient against the portable reference."""
    if not backend.views_follow_updates:
        pytest.skip(f"{backend.name}: arrays are immutable; the step writes no buffer there")
    model = MLP(
        [6, 5, 4, 3],
        "tanh",
        seed=1,
        members=members,
        dtype="float64",
        xp=backend.xp,
        device=backend.device,
    )
    rng = np.random.default_rng(2)
    lead = () if members is None else (members,)
    x = backend.asarray(rng.normal(size=(*lead, 7, 6)), dtype=backend.xp.float64)
    y = model.targets(backend.asarray(rng.integers(0, 3, (*lead, 7))))
    views = model.views()
    reference = model.passes.backward(views, x, y)
    buffer = backend.xp.zeros_like(model.params)
    assert model.passes.backward(views, x, y, out=model.views(buffer)) is None
    assert_close(buffer, reference, rtol=1e-14, atol=1e-16)


def test_to_numpy_reads_every_backend(backend):
    x = backend.asarray(np.arange(6.0).reshape(2, 3), dtype=backend.xp.float64)
    host = to_numpy(x)
    assert isinstance(host, np.ndarray)
    np.testing.assert_array_equal(host, np.arange(6.0).reshape(2, 3))


def test_library_choice_is_checked():
    with pytest.raises(ConfigError, match="cupy does not run on cpu"):
        resolve("cpu", library="cupy")
    with pytest.raises(ConfigError, match="unknown library 'jax'"):
        resolve("cpu", library="jax")
    torch = pytest.importorskip("torch", reason="PyTorch is not installed")
    backend = resolve("cpu", library="torch")
    assert backend.library == "torch" and backend.device == torch.device("cpu")
    assert not backend.captures_graphs


#: The elementwise rules whose step runs the registered implementation (the others apply
#: their own update: Schedule-Free's and Prodigy's couple the arrays through scalars).
ELEMENTWISE = [
    n
    for n in optimizers.OPTIMIZERS
    if optimizers.get(n).elementwise and type(optimizers.get(n)).apply is optimizers.Optimizer.apply
]


@pytest.mark.parametrize("name", ELEMENTWISE)
@pytest.mark.parametrize("members", [False, True])
def test_numpy_runs_a_long_arrays_rule_in_blocks_with_the_same_figures(name, members, monkeypatch):
    """A million-parameter network's update runs block by block on NumPy (its temporaries
    stay in the cache): every entry as the rule on the whole array computes it, with a
    member stack's (K, 1) hyper-parameters and a per-entry weight decay (decay_biases)."""
    from optimlab.backend import implementations

    n = 2 * implementations.BLOCK + 1001  # just over the threshold: three blocks, one short
    rng = np.random.default_rng(7)
    shape = (3, n) if members else (n,)
    start = rng.standard_normal(shape).astype(np.float32)
    grads = [rng.standard_normal(shape).astype(np.float32) for _ in range(3)]
    biases = np.arange(n) % 5 == 0
    opt = optimizers.get(name, decay_biases=False)
    if "weight_decay" in opt.hyperparameters:
        opt = optimizers.get(name, weight_decay=0.05, decay_biases=False)

    def run():
        params = [start.copy()]
        if members:
            hyper = optimizers.member_hyperparameters([opt] * 3, params[0])
            state = opt.init(params, hyperparameters=hyper, members=True, biases=biases)
        else:
            state = opt.init(params, biases=biases)
        for g in grads:
            params, state = opt.step(params, [g], state, inplace=True)
        return params[0], [a for k in opt.slots for a in state.slots[k]]

    blocked, blocked_slots = run()
    assert implementations.rule(type(opt), np, n) is not type(opt).update  # it did block
    monkeypatch.setattr(implementations, "BLOCK", 10 * n)  # one block: the plain rule
    whole, whole_slots = run()
    np.testing.assert_array_equal(blocked, whole)
    for a, b in zip(blocked_slots, whole_slots):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(blocked, start)
