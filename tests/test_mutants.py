"""Facts that the mutation run (``nox -s mutation``, docs/testing.md) found unchecked.

Each test here kills mutants that survived the first run: the members' path of the
update rules when the members' hyper-parameters differ (RAdam's rectification chosen on
the device), the Trainer's defaults and messages, restoring the step count, the epoch's
seconds, the progress reports, and the optimizers' equality, hash and names.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import pytest

from optimlab import MLP, ConfigError, optimizers
from optimlab.datasets import load_mnist
from optimlab.train import Trainer, fit


@pytest.fixture(scope="module")
def small():
    train, test = load_mnist(dtype="float64")
    return train.head(200), test.head(100)


def _float_hyper(name: str) -> dict[str, float]:
    return {
        k: v
        for k, v in optimizers.get(name).hyperparameters.items()
        if isinstance(v, float) and not isinstance(v, bool)
    }


def _member_value(value: float, k: int) -> float:
    """Member ``k``'s value of a hyper-parameter: all different, all valid."""
    if not value:
        return 0.001 * k
    return value * (1 + 0.05 * k) if value >= 1 else value * (1 - 0.05 * k)


@pytest.mark.parametrize("name", list(optimizers.OPTIMIZERS))
def test_members_with_their_own_hyperparameters_step_as_each_alone(name):
    """Three members whose every hyper-parameter differs (so each is an array on the
    device, and RAdam chooses its rectification there) equal three optimizers alone."""
    members, steps = 3, 60
    rng = np.random.default_rng(0)
    sizes = (12, 5)
    start = [rng.normal(size=(members, n)) for n in sizes]
    curvature = [rng.uniform(0.5, 2.0, size=(members, n)) for n in sizes]
    noise = [[rng.normal(scale=0.3, size=(members, n)) for n in sizes] for _ in range(steps)]
    hyper = [
        {k: _member_value(v, m) for k, v in _float_hyper(name).items()} for m in range(members)
    ]
    chosen = [optimizers.get(name, **h) for h in hyper]

    shared = optimizers.member_hyperparameters(chosen, start[0])
    assert not isinstance(shared["lr"], float), shared
    together = [p.copy() for p in start]
    state = chosen[0].init(together, hyperparameters=shared, members=True)
    for step_noise in noise:
        grads = [a * p + n for p, a, n in zip(together, curvature, step_noise)]
        together, state = chosen[0].step(together, grads, state)

    for m, optimizer in enumerate(chosen):
        alone = [p[m].copy() for p in start]
        state = optimizer.init(alone)
        for step_noise in noise:
            grads = [a[m] * p + n[m] for p, a, n in zip(alone, curvature, step_noise)]
            alone, state = optimizer.step(alone, grads, state)
        for mine, expected in zip(together, alone):
            np.testing.assert_allclose(mine[m], expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(
    "name", [n for n in optimizers.OPTIMIZERS if "weight_decay" in _float_hyper(n)]
)
def test_a_weight_decay_of_one_is_applied(name):
    """Weight decay 1 is not skipped as 0 is: it steps as 1 + 1e-12 does."""
    w = [np.linspace(-1.0, 2.0, 7)]
    g = [np.linspace(0.5, -0.5, 7)]
    ends = []
    for decay in (1.0, 1.0 + 1e-12, 0.0):
        optimizer = optimizers.get(name, weight_decay=decay)
        params, state = [w[0].copy()], optimizer.init([w[0].copy()])
        for _ in range(3):
            params, state = optimizer.step(params, g, state)
        ends.append(params[0])
    np.testing.assert_allclose(ends[0], ends[1], rtol=1e-9, atol=1e-12)
    assert not np.allclose(ends[0], ends[2])


def test_a_momentum_of_zero_is_allowed():
    assert optimizers.get("momentum", momentum=0.0).hyperparameters["momentum"] == 0.0
    with pytest.raises(ConfigError, match=r"momentum must be in \[0, 1\), not 1.0"):
        optimizers.get("momentum", momentum=1.0)


def test_optimizers_are_equal_hashed_and_named_by_their_hyperparameters():
    a, b = optimizers.get("adam", lr=0.1), optimizers.get("adam", lr=0.1)
    assert a == b and hash(a) == hash(b) and len({a, b}) == 1
    assert a != optimizers.get("adam", lr=0.2) and a != optimizers.get("adamw", lr=0.1)
    assert optimizers.get("sgd") != optimizers.get("momentum", momentum=0.0)
    assert repr(optimizers.get("sgd", lr=0.5)).startswith("SGD(lr=0.5")
    assert str(optimizers.get("sgd", lr=0.5)).startswith("sgd (lr=0.5")


def test_member_hyperparameters_take_the_arrays_dtype_and_refuse_none():
    like = np.zeros((2, 3), dtype=np.float32)
    hyper = optimizers.member_hyperparameters(
        [optimizers.get("sgd", lr=0.1), optimizers.get("sgd", lr=0.2)], like
    )
    assert hyper["lr"].dtype == np.float32 and hyper["lr"].shape == (2, 1)
    with pytest.raises(ConfigError, match=r"optimizers of one kind, not none$"):
        optimizers.member_hyperparameters([], like)


def test_a_state_names_its_slots_when_one_is_missing():
    state = optimizers.get("adam").init([np.zeros(3)])
    with pytest.raises(AttributeError, match=r"no slot 'velocity'; its slots are \['mean'"):
        _ = state.velocity


def test_init_names_the_missing_hyperparameters():
    with pytest.raises(ConfigError, match=r"^sgd needs the hyper-parameters lr\b.*, not none$"):
        optimizers.get("sgd").init([np.zeros(3)], hyperparameters={})


# -- the Trainer ---------------------------------------------------------------------------


def test_the_default_shuffle_seed_is_0(small):
    train, _ = small
    ends = []
    for seed in (None, 0, 1):
        model = MLP([784, 6, 10], seed=3, dtype="float64")
        kwargs = {} if seed is None else {"seed": seed}
        Trainer(model, "sgd", train, **kwargs).run(1)
        ends.append(model.params)
    np.testing.assert_array_equal(ends[0], ends[1])
    assert not np.array_equal(ends[0], ends[2])


def test_training_leaves_the_array_the_model_was_given(small):
    train, _ = small
    given = MLP([784, 6, 10], seed=3, dtype="float64").params.copy()
    before = given.copy()
    model = MLP([784, 6, 10], seed=3, dtype="float64", params=given)
    fit(model, "sgd", train, epochs=1)
    np.testing.assert_array_equal(given, before)
    assert not np.array_equal(model.params, before)


def test_a_monitor_set_of_the_wrong_dtype_is_named(small):
    train, _ = small
    model = MLP([784, 6, 10], seed=0, dtype="float64")
    _, test32 = load_mnist()
    with pytest.raises(ConfigError, match=r"^monitor holds float32"):
        Trainer(model, "sgd", train).run(1, monitor=test32.head(10))


def test_optimizer_lists_are_refused_with_the_reason():
    model, train = MLP([784, 6, 10], dtype="float64"), load_mnist(dtype="float64")[0].head(20)
    with pytest.raises(ConfigError, match=r"^2 optimizers given for a single network$"):
        Trainer(model, ["sgd", "sgd"], train)
    with pytest.raises(ConfigError, match=r"or a name, not int$"):
        Trainer(model, 3, train)


def test_callbacks_get_the_member_and_the_histories(small):
    train, test = small
    model = MLP([784, 6, 10], seed=[0, 1], dtype="float64")
    calls, after = [], []

    def after_epoch(histories):
        after.append([len(h.epochs) for h in histories])

    Trainer(model, "sgd", train, seed=[0, 1]).run(
        2, monitor=test, callback=lambda k, r: calls.append((k, r.epoch)), after_epoch=after_epoch
    )
    assert calls == [(0, 1), (1, 1), (0, 2), (1, 2)]
    assert after == [[1, 1], [2, 2]]


def test_divergence_warns_once_where_training_was_called(small):
    train = load_mnist()[0].head(200)
    model = MLP([784, 6, 10], seed=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = fit(model, optimizers.get("sgd", lr=1e38), train, epochs=2)
    assert history.diverged
    assert [str(w.message) for w in caught] == [history.status], [str(w.message) for w in caught]
    assert caught[0].category is RuntimeWarning and caught[0].filename == __file__
    assert history.status.endswith("training stopped (try a smaller learning rate)")
    assert history.status.startswith("sgd: ")


def test_restore_continues_the_step_count_and_refuses_other_members(small):
    train, _ = small
    whole = MLP([784, 6, 10], seed=0, dtype="float64")
    Trainer(whole, "adam", train).run(2)
    first = MLP([784, 6, 10], seed=0, dtype="float64")
    trainer = Trainer(first, "adam", train)
    trainer.run(1)
    state = trainer.checkpoint()
    resumed = MLP([784, 6, 10], seed=0, dtype="float64")
    again = Trainer(resumed, "adam", train)
    again.restore(state)
    again.run(2)
    np.testing.assert_array_equal(resumed.params, whole.params)
    # into float32: the model's dtype is kept
    narrow = Trainer(MLP([784, 6, 10], seed=0), "adam", load_mnist()[0].head(200))
    narrow.restore(state)
    assert narrow.model.params.dtype == np.float32
    # a state of two members, or of another optimizer's slots, is not this trainer's
    other = Trainer(MLP([784, 6, 10], seed=[0, 1], dtype="float64"), "adam", train, seed=[0, 1])
    wider = Trainer(MLP([784, 7, 10], seed=0, dtype="float64"), "adam", train)
    sgd = Trainer(MLP([784, 6, 10], seed=0, dtype="float64"), "sgd", train)
    for trainer_ in (other, wider, sgd):
        with pytest.raises(ConfigError, match=r"^the checkpoint was written for another model"):
            trainer_.restore(state)


def test_an_epochs_seconds_fit_in_the_time_it_took(small):
    train, _ = small
    trainer = Trainer(MLP([784, 6, 10], seed=0, dtype="float64"), "sgd", train)
    started = time.perf_counter()
    seconds = trainer.run_epoch()
    assert 0 < seconds <= time.perf_counter() - started


@pytest.mark.parametrize(("samples", "every"), [(10, 1), (200, 2), (250, 2)])
def test_progress_is_reported_about_a_hundred_times_an_epoch(small, samples, every):
    train = load_mnist(dtype="float64")[0].head(samples)
    ticks = []
    trainer = Trainer(MLP([784, 4, 10], seed=0, dtype="float64"), "sgd", train, batch_size=1)
    trainer.run_epoch(lambda done, total: ticks.append((done, total)))
    expected = [(d, samples) for d in range(0, samples, every)] + [(samples, samples)]
    assert sorted(set(ticks)) == expected


def test_too_few_layers_are_refused_in_one_sentence():
    with pytest.raises(ConfigError, match=r"^layers must list at least two positive integer"):
        MLP([784])
