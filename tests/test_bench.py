"""The benchmark's hand-written NumPy peer computes what optimlab computes."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from optimlab import MLP, Dataset, Trainer, evaluate, load_mnist, optimizers

sys.path.insert(0, str(Path(__file__).parents[1] / "bench"))
from numpy_loop import NumpyLoop


@pytest.fixture(scope="module")
def mnist():
    train, test = load_mnist(dtype="float64")
    return train.head(400), test.head(300)


@pytest.mark.parametrize("name", list(optimizers.OPTIMIZERS))
def test_numpy_loop_follows_optimlab_step_for_step(name, mnist):
    train, _ = mnist
    model = MLP([784, 30, 10], seed=3, dtype="float64")
    opt = optimizers.get(name)
    loop = NumpyLoop(model.params, [784, 30, 10], 10, name, opt.hyperparameters)
    order = np.random.default_rng(1).permutation(train.n)
    Trainer(model, opt, train).run_batches(order)
    onehot = np.eye(10)[train.labels]
    for i in range(0, train.n, 10):
        loop.step(train.images, onehot, order[i : i + 10])
    np.testing.assert_allclose(loop.p, model.params, rtol=1e-9, atol=1e-12)


def test_numpy_loop_evaluates_like_optimlab(mnist):
    _, test = mnist
    model = MLP([784, 30, 10], seed=4, dtype="float64")
    loop = NumpyLoop(model.params, [784, 30, 10], 10, "sgd", {"lr": 1.0})
    accuracy, loss = loop.evaluate(test.images, test.labels)
    ours = evaluate(model, Dataset(test.images, test.labels, 10))
    assert accuracy == ours.accuracy
    assert loss == pytest.approx(ours.loss, rel=1e-12)
