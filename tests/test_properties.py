"""Property tests (Hypothesis): facts that hold for every input, not for a few chosen ones.

* Every optimizer's ``step``, on any parameters and gradients of either float dtype,
  on every backend: copying equals stepping in place, the arguments of a copying
  step are left alone, dtype and device are kept, and a member stack of one (a
  leading axis of 1) computes what the plain arrays compute, bit for bit.
* The IDX reader, on arbitrary bytes, returns data or raises ``DataError``, never
  anything else; what it returns is what was written.

Arrays are drawn with :mod:`hypothesis.extra.array_api` on NumPy and moved to each
backend's device, so the same examples run on every library. The example counts are
modest (the profile is set in ``conftest.py``).
"""

from __future__ import annotations

import gzip
import struct
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.array_api import make_strategies_namespace

from helpers import assert_on
from optimlab import DataError, optimizers
from optimlab.backend import to_numpy
from optimlab.datasets import read_idx

xps = make_strategies_namespace(np)

# The backend fixture is a function-scoped fixture that Hypothesis reuses across
# examples: it is immutable (a namespace and a device), so that is safe.
on_backends = settings(suppress_health_check=[HealthCheck.function_scoped_fixture])

NAMES = list(optimizers.OPTIMIZERS)
SHAPES = [(1,), (4,), (2, 3)]


@st.composite
def problems(draw):
    """``(dtype, params, [grads per step])``: 1 to 3 parameter arrays of 1 or 2
    dimensions, 1 to 3 steps of gradients, values in [-100, 100] of float32 or float64."""
    dtype = draw(st.sampled_from(["float32", "float64"]))
    # A few shapes, not every one: JAX compiles each operation once per shape, and the
    # rules are elementwise (what varies is the values, and one array or several).
    shapes = draw(st.lists(st.sampled_from(SHAPES), min_size=1, max_size=3))
    elements = {"min_value": -100.0, "max_value": 100.0, "allow_subnormal": False}

    def arrays():
        return [draw(xps.arrays(dtype, s, elements=elements)) for s in shapes]

    params = arrays()
    steps = draw(st.integers(1, 3))
    return dtype, params, [arrays() for _ in range(steps)]


@st.composite
def optimizer(draw, name):
    """The optimizer ``name`` with its defaults, or with a drawn learning rate."""
    hyper = optimizers.defaults(name)
    if "lr" in hyper and draw(st.booleans()):
        return optimizers.get(name, lr=draw(st.floats(1e-4, 1.0)))
    return optimizers.get(name)


def _on(backend, dtype, host_arrays):
    return [backend.asarray(a, dtype=backend.dtype(dtype)) for a in host_arrays]


def _state_arrays(state):
    return [a for name in sorted(state.slots) for a in state.slots[name]]


def _host(arrays):
    return [np.array(to_numpy(a), copy=True) for a in arrays]


def _assert_equal(actual, desired):
    assert len(actual) == len(desired)
    for a, d in zip(actual, desired):
        np.testing.assert_array_equal(to_numpy(a), to_numpy(d))


@pytest.mark.parametrize("name", NAMES)
@on_backends
@given(data=st.data())
def test_copying_step_equals_in_place_step_and_keeps_dtype_and_device(name, backend, data):
    opt = data.draw(optimizer(name), label="optimizer")
    dtype, host_params, host_grads = data.draw(problems(), label="problem")
    want = backend.dtype(dtype)

    params = _on(backend, dtype, host_params)
    state = opt.init(params)
    mine = _on(backend, dtype, host_params)  # the in-place run's own arrays
    mine_state = opt.init(mine)
    for step, host in enumerate(host_grads, start=1):
        grads = _on(backend, dtype, host)
        arguments = [*params, *grads, *_state_arrays(state)]
        before = _host(arguments)
        params, state = opt.step(params, grads, state)
        _assert_equal(arguments, before)  # a copying step leaves its arguments alone
        mine, mine_state = opt.step(mine, grads, mine_state, inplace=True)
        _assert_equal(mine, params)
        _assert_equal(_state_arrays(mine_state), _state_arrays(state))
        assert state.count == mine_state.count == step
        assert state.hyperparameters == opt.hyperparameters
        for array in [*params, *_state_arrays(state), *mine, *_state_arrays(mine_state)]:
            assert_on(backend, array, want)


@pytest.mark.parametrize("name", NAMES)
@on_backends
@given(data=st.data())
def test_a_member_stack_of_one_computes_what_the_plain_arrays_compute(name, backend, data):
    """Parameters ``(1, *shape)`` with ``member_hyperparameters([opt])`` step like ``shape``."""
    opt = data.draw(optimizer(name), label="optimizer")
    dtype, host_params, host_grads = data.draw(problems(), label="problem")

    plain = _on(backend, dtype, host_params)
    stack = _on(backend, dtype, [a[None, ...] for a in host_params])
    plain_state = opt.init(plain)
    hyper = optimizers.member_hyperparameters([opt], stack[0])
    stack_state = opt.init(stack, hyperparameters=hyper, members=True)
    for host in host_grads:
        plain, plain_state = opt.step(plain, _on(backend, dtype, host), plain_state)
        grads = _on(backend, dtype, [g[None, ...] for g in host])
        stack, stack_state = opt.step(stack, grads, stack_state)
    for s, p in zip([*stack, *_state_arrays(stack_state)], [*plain, *_state_arrays(plain_state)]):
        assert tuple(s.shape) == (1, *p.shape)
        if opt.elementwise:
            np.testing.assert_array_equal(to_numpy(s)[0], to_numpy(p))
        else:  # batched matrix products round as the BLAS does: compared norm-wise, since
            # Newton-Schulz's iterations amplify one ulp in a small entry past any elementwise rtol
            rtol = 1e-5 if "32" in str(p.dtype) else 1e-12
            got, want = to_numpy(s)[0].astype(np.float64), to_numpy(p).astype(np.float64)
            assert np.linalg.norm(got - want) <= rtol * max(np.linalg.norm(want), 1e-30)


# ---------------------------------------------------------------------- IDX files


def _idx(dims, payload):
    return bytes([0, 0, 0x08, len(dims)]) + struct.pack(f">{len(dims)}I", *dims) + payload


@st.composite
def idx_like(draw):
    """Bytes that are close to an IDX file: mostly a valid uint8 header (sometimes another
    magic or type code) with 0 to 4 dimensions of sizes 0 to 5, then a payload that is
    short, right or long by a byte, or of any length; sometimes cut anywhere."""
    dims = draw(st.lists(st.integers(0, 5), max_size=4))
    needed = int(np.prod(dims)) if dims else 0
    size = draw(st.sampled_from([needed, max(needed - 1, 0), needed + 1, draw(st.integers(0, 64))]))
    header = bytearray(_idx(dims, b""))
    if draw(st.integers(0, 4)) == 0:
        header[draw(st.integers(0, 2))] = draw(st.integers(0, 255))
    data = bytes(header) + draw(st.binary(min_size=size, max_size=size))
    cut = draw(st.one_of(st.none(), st.none(), st.integers(0, len(data))))
    return data if cut is None else data[:cut]


def _read(content: bytes, ndim=None):
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "file-idx-ubyte"
        path.write_bytes(content)
        return read_idx(path, ndim=ndim)


def _assert_data_or_data_error(content: bytes, ndim=None):
    """Reading ``content`` raises a one-line DataError naming the file, or returns exactly
    what the file holds: re-encoding the array gives the (uncompressed) bytes back."""
    try:
        array = _read(content, ndim)
    except DataError as error:
        assert "\n" not in str(error) and "file-idx-ubyte" in str(error), str(error)
        return None
    assert isinstance(array, np.ndarray) and array.dtype == np.uint8
    assert array.ndim >= 1 and (ndim is None or array.ndim == ndim)
    raw = gzip.decompress(content) if content[:2] == b"\x1f\x8b" else content
    assert _idx(array.shape, array.tobytes()) == raw  # no byte dropped, added or moved
    return array


@settings(max_examples=300)  # milliseconds each
@given(
    content=st.one_of(st.binary(max_size=300), idx_like(), idx_like()),
    compressed=st.booleans(),
    ndim=st.one_of(st.none(), st.integers(1, 4)),
)
def test_the_idx_reader_returns_data_or_refuses_with_a_data_error(content, compressed, ndim):
    if compressed:
        content = gzip.compress(content, compresslevel=1)
    _assert_data_or_data_error(content, ndim)


@settings(max_examples=100)
@given(content=st.one_of(st.binary(max_size=200), idx_like()), cut=st.integers(0, 200))
def test_damaged_gzip_is_a_data_error(content, cut):
    """A gzip stream cut short or with a byte changed: data (gzip may not notice a change in
    its header) or a DataError."""
    packed = bytearray(gzip.compress(content, compresslevel=1))
    if cut < len(packed):
        packed[cut] ^= 0x55
    _assert_data_or_data_error(bytes(packed))
    _assert_data_or_data_error(bytes(packed[: cut % len(packed)]))


@given(
    array=xps.arrays("uint8", xps.array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=4)),
    compressed=st.booleans(),
)
def test_what_the_idx_reader_returns_is_what_was_written(array, compressed):
    content = _idx(array.shape, array.tobytes())
    if compressed:
        content = gzip.compress(content, compresslevel=1)
    read = _read(content, ndim=array.ndim)
    assert read.shape == array.shape
    np.testing.assert_array_equal(read, array)
