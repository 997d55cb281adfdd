"""Library misuse is refused with an OptimlabError subclass and one sentence, never a raw
TypeError or AttributeError, and impossible values are never silently accepted."""

from __future__ import annotations

import numpy as np
import pytest

import optimlab
from optimlab import MLP, Dataset, evaluate, fit, fit_members, optimizers


@pytest.fixture(scope="module")
def small():
    return optimlab.load_mnist()[0].head(50)


CASES = {
    "optimizers.get(['adam'])": (lambda d: optimizers.get(["adam"]), "unknown optimizer"),
    "MLP(seed=-1)": (lambda d: MLP(seed=-1), "seeds must be integers >= 0"),
    "fit(seed=-1)": (lambda d: fit(MLP(), "sgd", d, seed=-1), "seeds must be integers >= 0"),
    "fit_members(seeds=['a', 'b'])": (
        lambda d: fit_members(MLP(seed=[0, 1]), "sgd", d, seeds=["a", "b"]),
        "shuffle seeds must be an integer or a sequence of integers",
    ),
    "MLP(params=list)": (lambda d: MLP([2, 1], params=[0.0] * 3), "params must be an array"),
    "fit(train=None)": (lambda d: fit(MLP(), "sgd", None), "train must be an optimlab Dataset"),
    "fit(model=str)": (lambda d: fit("model", "sgd", d), "model must be an optimlab MLP"),
    "evaluate(chunk_size=2.5)": (
        lambda d: evaluate(MLP(), d, chunk_size=2.5),
        "chunk_size must be a positive integer",
    ),
    "float labels": (
        lambda d: Dataset(d.images, np.asarray(d.labels, dtype=np.float32), 10),
        "labels must be integers",
    ),
    "labels outside the classes": (
        lambda d: Dataset(d.images, d.labels + 10, 10),
        "labels must lie in 0..9",
    ),
    "MLP(dtype=float16)": (lambda d: MLP(dtype=np.float16), "dtype must be float32 or float64"),
    "lr=True": (lambda d: optimizers.SGD(lr=True), "lr must be a number"),
    "step without a state": (
        lambda d: optimizers.SGD().step([np.zeros(3)], [np.zeros(3)], None),
        "needs a state made by sgd's init",
    ),
    "step with an array, not a list": (
        lambda d: optimizers.SGD().step(
            np.zeros(3), np.zeros(3), optimizers.SGD().init([np.zeros(3)])
        ),
        "takes params as a list of arrays",
    ),
    "init with an array": (
        lambda d: optimizers.Adam().init(np.zeros(3)),
        "takes a list of parameter arrays",
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_misuse_is_one_sentence_of_an_optimlab_error(name, small):
    call, message = CASES[name]
    with pytest.raises(optimlab.OptimlabError, match=message) as info:
        call(small)
    assert "\n" not in str(info.value)
