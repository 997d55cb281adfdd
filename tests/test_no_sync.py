"""No device-to-host transfer inside an epoch: the step loop never reads an array back."""

from __future__ import annotations

import numpy as np
import pytest

from optimlab import MLP, Dataset, Trainer, load_mnist

# Every way an array-api-strict array can reach the host or a Python scalar.
_EXITS = (
    "__float__",
    "__bool__",
    "__int__",
    "__index__",
    "__complex__",
    "__array__",
    "__dlpack__",
    "__iter__",
    "__repr__",
    "__str__",
)


@pytest.mark.parametrize("members", [None, 3])
def test_the_step_loop_reads_nothing_back(members, monkeypatch):
    strict = pytest.importorskip("array_api_strict")
    device = strict.Device("device1")
    train, _ = load_mnist(dtype="float64")
    data = Dataset(
        strict.asarray(train.images[:200], device=device),
        strict.asarray(train.labels[:200], device=device),
        10,
    )
    model = MLP(
        [784, 8, 10],
        seed=0 if members is None else [0, 1, 2],
        dtype="float64",
        xp=strict,
        device=device,
    )
    names = "adam" if members is None else ["sgd", "adam", "adam"]
    trainer = Trainer(model, names, data, batch_size=10)
    rows = np.arange(200) if members is None else np.stack([np.arange(200)] * members)
    order = strict.asarray(rows, device=device)
    exits = []
    array_type = type(order)
    for name in _EXITS:
        original = getattr(array_type, name)

        def spy(self, *args, _name=name, _original=original, **kwargs):
            exits.append(_name)
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(array_type, name, spy)
    trainer.run_batches(order)  # 20 steps
    assert exits == []
    assert trainer.state.count == 20
    float(strict.sum(model.params))  # a read-back after the loop: the spies see it
    assert exits == ["__float__"]


def test_cupy_step_loop_never_synchronizes():
    cupy = pytest.importorskip("cupy", reason="CuPy is not installed: needs a CUDA GPU")
    cupyx = pytest.importorskip("cupyx")
    try:
        if cupy.cuda.runtime.getDeviceCount() == 0:
            pytest.skip("CuPy sees no CUDA GPU")
    except Exception as error:
        pytest.skip(f"CuPy sees no CUDA GPU ({error})")
    allow = getattr(cupyx, "allow_synchronize", None)
    if allow is None:
        pytest.skip("this CuPy has no cupyx.allow_synchronize to detect synchronizations")
    train, _ = load_mnist(device="cuda")
    model = MLP([784, 30, 10], seed=[0, 1], device="cuda")
    trainer = Trainer(model, ["sgd", "adam"], train.head(1000))
    order = cupy.asarray(np.stack([np.arange(1000)] * 2))
    trainer.run_batches(order[:, :100])  # compile the kernels first
    with allow(False):
        trainer.run_batches(order)  # raises cupyx.DeviceSynchronized on any sync
    assert trainer.state.count == 110
