"""Members: K runs in one pass equal the same K runs one by one."""

from __future__ import annotations

import math

import numpy as np
import pytest

from helpers import assert_close, assert_on
from optimlab import MLP, ConfigError, Dataset, Trainer, fit, fit_members, load_mnist, optimizers

LAYERS = [784, 8, 10]

# Mixed kinds, per-member learning rates, and one kind in two separate runs (adam),
# which makes two groups of it.
MIXED = [
    optimizers.Adam(lr=0.01),
    optimizers.Adam(lr=0.003),
    optimizers.SGD(lr=0.5),
    optimizers.SGD(lr=1.0),
    optimizers.Momentum(lr=0.1, momentum=0.8),
    optimizers.Nesterov(lr=0.05, momentum=0.9),
    optimizers.AdaGrad(lr=0.1),
    optimizers.RMSprop(lr=0.001, decay=0.9),
    optimizers.AdaDelta(lr=100.0, decay=0.9),
    optimizers.Adam(lr=0.02, beta1=0.8, beta2=0.99),
]
SEEDS = list(range(20, 20 + len(MIXED)))


@pytest.fixture(scope="module")
def mnist64():
    train, test = load_mnist(dtype="float64")
    return train.head(300), test.head(200)


def _on(backend, data: Dataset) -> Dataset:
    return Dataset(
        backend.asarray(data.images, dtype=backend.xp.float64),
        backend.asarray(data.labels),
        data.num_classes,
    )


def test_members_together_equal_members_one_by_one(backend, mnist64):
    """float64, 2 epochs of 30 steps: parameters within 1e-10 relative, histories alike."""
    train, test = _on(backend, mnist64[0]), _on(backend, mnist64[1])
    xp = backend.xp
    model = MLP(LAYERS, seed=SEEDS, dtype="float64", xp=xp, device=backend.device)
    histories = fit_members(model, MIXED, train, epochs=2, batch_size=10, monitor=test)
    assert_on(backend, model.params, xp.float64)
    assert tuple(model.params.shape) == (len(MIXED), MLP(LAYERS).size)
    for k, (opt, seed) in enumerate(zip(MIXED, SEEDS)):
        alone = MLP(LAYERS, seed=seed, dtype="float64", xp=xp, device=backend.device)
        expected = fit(alone, opt, train, epochs=2, batch_size=10, monitor=test, seed=seed)
        # 1e-11: JAX's products round the stack and the single run differently (2.5e-12)
        assert_close(model.params[k, ...], alone.params, rtol=1e-10, atol=1e-11)
        assert histories[k].optimizer == opt.name
        assert histories[k].hyperparameters == opt.hyperparameters
        assert histories[k].test_accuracy == pytest.approx(expected.test_accuracy, abs=1e-12)
        assert histories[k].train_loss == pytest.approx(expected.train_loss, rel=1e-10)


def test_neighbours_of_one_kind_share_one_update(mnist64):
    model = MLP(LAYERS, seed=SEEDS, dtype="float64")
    trainer = Trainer(model, MIXED, mnist64[0])
    kinds = [(type(g.optimizer).__name__, g.rows.start, g.rows.stop) for g in trainer.groups]
    assert kinds == [
        ("Adam", 0, 2),
        ("SGD", 2, 4),
        ("Momentum", 4, 5),
        ("Nesterov", 5, 6),
        ("AdaGrad", 6, 7),
        ("RMSprop", 7, 8),
        ("AdaDelta", 8, 9),
        ("Adam", 9, 10),
    ]
    # Differing learning rates became one (rows, 1) array; shared values stayed floats.
    hyper = trainer.groups[0].state.hyperparameters
    np.testing.assert_array_equal(hyper["lr"], [[0.01], [0.003]])
    assert hyper["beta1"] == 0.9 and isinstance(hyper["beta1"], float)


def test_a_diverging_member_stops_without_spoiling_the_others(mnist64):
    train = mnist64[0]
    chosen = [optimizers.SGD(lr=0.5), optimizers.SGD(lr=1e200), optimizers.SGD(lr=0.1)]
    model = MLP(LAYERS, "relu", seed=[1, 2, 3], dtype="float64")
    with pytest.warns(RuntimeWarning, match="member 1 \\(sgd\\): the training loss became"):
        histories = fit_members(model, chosen, train, epochs=3, batch_size=10)
    assert [len(h.epochs) for h in histories] == [3, 1, 3]
    assert histories[1].diverged and not math.isfinite(histories[1].train_loss[0])
    assert not histories[0].diverged and not histories[2].diverged
    for k in (0, 2):
        alone = MLP(LAYERS, "relu", seed=k + 1, dtype="float64")
        fit(alone, chosen[k], train, epochs=3, batch_size=10, seed=k + 1)
        np.testing.assert_allclose(model.params[k], alone.params, rtol=1e-10, atol=1e-13)


def test_one_optimizer_for_all_members_and_explicit_shuffle_seeds(mnist64):
    train = mnist64[0]
    model = MLP(LAYERS, seed=[5, 6], dtype="float64")
    histories = fit_members(model, "adam", train, epochs=1, seeds=[7, 8])
    assert [h.optimizer for h in histories] == ["adam", "adam"]
    alone = MLP(LAYERS, seed=6, dtype="float64")
    fit(alone, "adam", train, epochs=1, seed=8)
    np.testing.assert_allclose(model.params[1], alone.params, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda t: fit(MLP(LAYERS, seed=[1, 2], dtype="float64"), "sgd", t),
            "this model has members: train it with fit_members",
        ),
        (
            lambda t: fit_members(MLP(LAYERS, dtype="float64"), "sgd", t),
            "needs a model with members",
        ),
        (
            lambda t: fit_members(MLP(LAYERS, seed=[1, 2], dtype="float64"), ["sgd"] * 3, t),
            "3 optimizers given for 2 members",
        ),
        (
            lambda t: fit_members(MLP(LAYERS, seed=[1, 2], dtype="float64"), "sgd", t, seeds=[1]),
            "1 shuffle seeds given for 2 members",
        ),
        (
            lambda t: optimizers.member_hyperparameters(
                [optimizers.SGD(), optimizers.Adam()], t.images
            ),
            "a member stack needs optimizers of one kind",
        ),
    ],
)
def test_bad_member_input_is_refused(call, message, mnist64):
    with pytest.raises(ConfigError, match=message):
        call(mnist64[0])
