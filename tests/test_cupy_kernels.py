"""The CuPy fused kernels against the portable Array API code they replace."""

from __future__ import annotations

import numpy as np
import pytest

from helpers import assert_close
from optimlab import optimizers
from optimlab.backend import implementations
from optimlab.backend.cupy_kernels import (
    sigmoid_,
    sigmoid_error_,
    times_sigmoid_slope_,
)
from optimlab.nn import activations, losses

cupy = pytest.importorskip("cupy", reason="CuPy is not installed: the fused kernels need a GPU")
try:
    if cupy.cuda.runtime.getDeviceCount() == 0:
        pytest.skip("CuPy sees no CUDA GPU", allow_module_level=True)
except Exception as error:  # no driver
    pytest.skip(f"CuPy sees no CUDA GPU ({error})", allow_module_level=True)

import array_api_compat.cupy as xp  # noqa: E402

REPORT = {name: cls() for name, cls in optimizers.OPTIMIZERS.items()}


def test_no_fast_path_off_cupy():
    import array_api_compat.numpy as np_xp

    assert implementations.rule(optimizers.Adam, np_xp) is optimizers.Adam.update


#: Every native kernel a registered optimizer declares, as (library, optimizer) rows.
NATIVE = [(lib, name) for name, cls in optimizers.OPTIMIZERS.items() for lib in cls.native]


def test_the_reports_optimizers_have_fused_kernels():
    assert set(optimizers.REPORT) <= {name for library, name in NATIVE if library == "cupy"}


@pytest.mark.parametrize(("library", "name"), NATIVE)
@pytest.mark.parametrize("members", [None, 3])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_native_rule_equals_the_portable_rule(library, name, members, dtype):
    """Each registered native implementation against the reference: one row each."""
    rng = np.random.default_rng(0)
    shape = (7, 50) if members is None else (members, 50)
    opt = REPORT[name]
    hyper = opt.hyperparameters
    if members is not None:  # per-member learning rates: (K, 1) arrays in the kernel
        like = cupy.zeros(shape, dtype=dtype)
        hyper = optimizers.member_hyperparameters(
            [type(opt)(**{**hyper, "lr": hyper["lr"] * (k + 1)}) for k in range(members)], like
        )
    w_ref = cupy.asarray(rng.normal(size=shape), dtype=dtype)
    w = w_ref.copy()
    state_ref = opt.init([w_ref], hyperparameters=hyper)
    accs_ref = [slot[0] for slot in state_ref.slots.values()]
    accs = [a.copy() for a in accs_ref]
    native = implementations.rule(type(opt), xp)
    assert native is not type(opt).update
    scalars = state_ref.scalars
    for t in range(1, 4):
        g = cupy.asarray(rng.normal(size=shape), dtype=dtype)
        step, scalars = opt.per_step(t, scalars, **hyper)  # the step's scalars, once for both
        w_ref, accs_ref = opt.update(xp, w_ref, g, *accs_ref, t=t, **hyper, **step)
        out, accs = native(xp, w, g, *accs, t=t, **hyper, **step)
        assert out is w  # in place
    rtol = 1e-12 if dtype == "float64" else 2e-5
    assert_close(w, w_ref, rtol=rtol, atol=rtol)
    for a, b in zip(accs, accs_ref):
        assert_close(a, b, rtol=rtol, atol=rtol)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_fused_sigmoid_chains_equal_the_portable_ones(dtype):
    rng = np.random.default_rng(1)
    z = cupy.asarray(rng.normal(scale=4, size=(3, 10, 5)), dtype=dtype)
    y = cupy.asarray(rng.integers(0, 2, size=(3, 10, 5)), dtype=dtype)
    rtol = 1e-14 if dtype == "float64" else 1e-6
    assert_close(sigmoid_(z.copy()), activations.Sigmoid()(xp, z), rtol=rtol, atol=rtol)
    out = losses.SigmoidCrossEntropy()
    expected = out.delta_(out(xp, z), y) * 0.1
    assert_close(sigmoid_error_(z.copy(), y, 0.1), expected, rtol=rtol, atol=rtol)
    a = activations.Sigmoid()(xp, z)
    delta = cupy.asarray(rng.normal(size=z.shape), dtype=dtype)
    expected = delta * activations.Sigmoid().derivative(xp, a)
    assert_close(times_sigmoid_slope_(delta.copy(), a), expected, rtol=rtol, atol=rtol)
