"""The PyTorch fast paths of the sigmoid chains against the portable code they replace."""

from __future__ import annotations

import numpy as np
import pytest

from helpers import assert_close
from optimlab import MLP
from optimlab.nn import activations, losses

torch = pytest.importorskip("torch", reason="PyTorch is not installed")

import array_api_compat.torch as xp  # noqa: E402

from optimlab.backend.torch_kernels import sigmoid_, sigmoid_error_, times_sigmoid_slope_  # noqa: E402


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_sigmoid_chains_equal_the_portable_ones(dtype):
    rng = np.random.default_rng(1)
    t = getattr(torch, dtype)
    z = torch.as_tensor(rng.normal(scale=4, size=(3, 10, 5)), dtype=t)
    y = torch.as_tensor(rng.integers(0, 2, size=(3, 10, 5)), dtype=t)
    rtol = 1e-15 if dtype == "float64" else 1e-6
    sigmoid = activations.Sigmoid()
    assert_close(sigmoid_(z.clone()), sigmoid(xp, z), rtol=rtol, atol=rtol)
    out = losses.SigmoidCrossEntropy()
    expected = out.delta_(out(xp, z), y) * 0.1
    assert_close(sigmoid_error_(z.clone(), y, 0.1), expected, rtol=rtol, atol=rtol)
    a = sigmoid(xp, z)
    delta = torch.as_tensor(rng.normal(size=z.shape), dtype=t)
    expected = delta * sigmoid.derivative(xp, a)
    slope = delta.clone()
    assert times_sigmoid_slope_(slope, a) is slope  # written in place, no new array
    assert_close(slope, expected, rtol=rtol, atol=rtol)


def test_the_model_uses_them_on_torch_only():
    model = MLP([4, 3, 2], seed=0, xp=xp, device=torch.device("cpu"))
    assert model.passes.chains.sigmoid_ is sigmoid_
    assert MLP([4, 3, 2], seed=0).passes.chains is None  # NumPy: the portable code
    assert (
        MLP([4, 3, 2], "tanh", seed=0, xp=xp, device=torch.device("cpu")).passes.fused_hidden
        is False
    )
