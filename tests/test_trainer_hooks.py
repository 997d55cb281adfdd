"""``run_steps``: a Trainer's steps with a hook after each, its epochs without their last
incomplete batch if asked, the last one cut short; what ``optimlab trajectories`` runs
on (issue 25, item 5)."""

from __future__ import annotations

import numpy as np
import pytest

from optimlab import MLP, ConfigError, Dataset, Trainer, optimizers
from optimlab.backend import to_numpy
from optimlab.train.trainer import run_steps


def _data(backend, n=50, seed=0) -> Dataset:
    rng = np.random.default_rng(seed)
    return Dataset(
        backend.asarray(rng.standard_normal((n, 6)), dtype=backend.dtype("float64")),
        backend.asarray(rng.integers(0, 3, n)),
        3,
        "random",
    )


def _trainer(backend, data, optimizer="adam") -> Trainer:
    model = MLP([6, 5, 3], seed=1, dtype="float64", device=backend.device, xp=backend.xp)
    return Trainer(model, optimizers.get(optimizer, lr=0.01), data, batch_size=8, seed=2)


def _host(a) -> np.ndarray:
    return np.array(to_numpy(a), copy=True)


def test_the_hook_sees_every_step_of_an_epoch_run(backend):
    """Two epochs of 7 steps (50 samples, batches of 8, the last of 2): the hook runs
    after each of the 14, the trainer holding that step's parameters and count; the
    last is where ``run_epoch`` twice ends, bit for bit, and the sixth is where the first
    six batches of the first shuffle take the parameters."""
    data = _data(backend)
    plain = _trainer(backend, data)
    plain.run_epoch()
    plain.run_epoch()
    seen = []
    hooked = _trainer(backend, data)
    run_steps(hooked, 14, lambda t: seen.append((t.state.count, _host(t.eval_params()))))
    assert [count for count, _ in seen] == list(range(1, 15)) and hooked.epoch == 2
    np.testing.assert_array_equal(seen[-1][1], _host(plain.model.params))
    np.testing.assert_array_equal(_host(hooked.model.params), _host(plain.model.params))
    six = _trainer(backend, data)
    six.run_batches(backend.asarray(np.random.default_rng(2).permutation(50)[:48]))
    np.testing.assert_array_equal(seen[5][1], _host(six.model.params))
    assert not np.array_equal(seen[5][1], seen[6][1])


def test_the_hook_sees_where_the_optimizer_evaluates(numpy_backend):
    """Schedule-Free evaluates at its average, not at the point it steps (the two part
    after the first step, whose average is its only iterate)."""
    seen = []
    trainer = _trainer(numpy_backend, _data(numpy_backend), "sf_sgd")
    run_steps(trainer, 4, lambda t: seen.append((_host(t.eval_params()), _host(t.model.params))))
    assert all(not np.allclose(evaluated, stepped) for evaluated, stepped in seen[1:])
    np.testing.assert_array_equal(seen[-1][0], _host(trainer.eval_params()))


def test_drop_last_leaves_out_the_incomplete_batch(numpy_backend):
    """50 samples in batches of 8: 6 steps an epoch, over the first 48 of each shuffle."""
    data = _data(numpy_backend)
    counts = []
    dropped = _trainer(numpy_backend, data)
    run_steps(dropped, 6, lambda t: counts.append(t.state.count), drop_last=True)
    assert counts == [1, 2, 3, 4, 5, 6] and dropped.epoch == 1
    by_hand = _trainer(numpy_backend, data)
    by_hand.run_batches(np.random.default_rng(2).permutation(50)[:48])
    np.testing.assert_array_equal(dropped.model.params, by_hand.model.params)
    run_steps(dropped, 7, lambda t: None, drop_last=True)  # one epoch and a step of the next
    assert dropped.state.count == 13 and dropped.epoch == 3


def test_a_run_that_ends_within_an_epoch_takes_its_first_batches(numpy_backend):
    data = _data(numpy_backend)
    cut = _trainer(numpy_backend, data)
    run_steps(cut, 3, lambda t: None)
    assert cut.state.count == 3 and cut.epoch == 1
    by_hand = _trainer(numpy_backend, data)
    by_hand.run_batches(np.random.default_rng(2).permutation(50)[:24])
    np.testing.assert_array_equal(cut.model.params, by_hand.model.params)


def test_bad_steps_and_a_batch_larger_than_the_data_are_one_sentence(numpy_backend):
    with pytest.raises(ConfigError, match="a batch of 8 does not fit a training set of 5"):
        run_steps(_trainer(numpy_backend, _data(numpy_backend, n=5)), 1, print, drop_last=True)
    with pytest.raises(ConfigError, match="steps must be a positive integer"):
        run_steps(_trainer(numpy_backend, _data(numpy_backend)), 0, print)
