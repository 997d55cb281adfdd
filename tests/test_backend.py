"""Backends: device names, the one fast path, and conversions."""

from __future__ import annotations

import numpy as np
import pytest

from helpers import assert_close, assert_on
from optimlab import MLP, ConfigError, DeviceError
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
