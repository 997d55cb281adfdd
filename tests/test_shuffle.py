"""The shuffle: every epoch visits the training set in a new order, drawn from its seed.

Issue 17, rows 1 and 2: a shuffle that ignored its seed, or repeated one order every
epoch, passed the whole suite. These tests watch the orders the Trainer hands to its
public ``run_batches`` and, independently of that, the parameters training ends at.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

from optimlab import MLP, Trainer, load_mnist
from optimlab.backend import to_numpy

N = 200  # 20 steps of batch 10 per epoch: milliseconds


@pytest.fixture(scope="module")
def train():
    return load_mnist(dtype="float64")[0].head(N)


class Recording(Trainer):
    """A Trainer that keeps a host copy of every order it steps through."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.orders: list[np.ndarray] = []

    def run_batches(self, order, progress=None):
        self.orders.append(np.array(to_numpy(order), copy=True))
        super().run_batches(order, progress)


def _orders(train, seed, epochs=2, members=None):
    model = MLP([784, 4, 10], seed=0, dtype="float64", members=members)
    trainer = Recording(model, "sgd", train, batch_size=10, seed=seed)
    for _ in range(epochs):
        trainer.run_epoch()
    return trainer.orders


def _assert_permutation(order):
    assert sorted(order.tolist()) == list(range(N)), "an epoch must visit every sample once"


def test_every_epoch_is_a_permutation_of_the_training_set(train):
    for order in _orders(train, seed=0, epochs=3):
        assert order.shape == (N,)
        _assert_permutation(order)
        assert not np.array_equal(order, np.arange(N)), "the samples were not shuffled"


def test_the_shuffle_depends_on_its_seed(train):
    """Row 1: seeds 0 and 1 give different orders; the same seed gives the same ones."""
    zero, one = _orders(train, seed=0), _orders(train, seed=1)
    for a, b in zip(zero, one):
        assert not np.array_equal(a, b), "seeds 0 and 1 shuffled alike"
    for a, b in zip(zero, _orders(train, seed=0)):
        np.testing.assert_array_equal(a, b)
    seven = _orders(train, seed=7, epochs=1)[0]
    assert not any(np.array_equal(seven, a) for a in zero + one)


def test_every_epoch_has_a_new_order(train):
    """Row 2: the orders of successive epochs differ."""
    orders = _orders(train, seed=0, epochs=4)
    for i in range(len(orders)):
        for j in range(i):
            assert not np.array_equal(orders[i], orders[j]), f"epochs {j + 1} and {i + 1}"


def test_members_shuffle_alike_only_where_their_seeds_are_alike(train):
    """A stack of K members draws one order per member per epoch, from that member's seed."""
    stacked = _orders(train, seed=[3, 4, 3], epochs=2, members=3)
    alone = {s: _orders(train, seed=s, epochs=2) for s in (3, 4)}
    for epoch, order in enumerate(stacked):
        assert order.shape == (3, N)
        for row in order:
            _assert_permutation(row)
        assert not np.array_equal(order[0], order[1])
        np.testing.assert_array_equal(order[0], order[2])
        np.testing.assert_array_equal(order[0], alone[3][epoch])
        np.testing.assert_array_equal(order[1], alone[4][epoch])
    assert not np.array_equal(stacked[0][0], stacked[1][0])


# The same facts seen only through what training computes: no hook into the Trainer.


def _params_after(train, shuffle_seed, epochs):
    model = MLP([784, 4, 10], seed=0, dtype="float64")  # one initialization for all
    trainer = Trainer(model, "sgd", train, batch_size=10, seed=shuffle_seed)
    for _ in range(epochs):
        trainer.run_epoch()
    return to_numpy(trainer.model.params).copy()


def test_the_shuffle_seed_alone_changes_the_parameters(train):
    """Equal initialization, shuffle seeds 0 and 1: different parameters after an epoch."""
    zero = _params_after(train, 0, epochs=1)
    np.testing.assert_array_equal(zero, _params_after(train, 0, epochs=1))
    assert not np.array_equal(zero, _params_after(train, 1, epochs=1))


def _trainer(train):
    return Trainer(MLP([784, 4, 10], seed=0, dtype="float64"), "sgd", train, seed=0)


def test_a_second_epoch_is_not_the_first_one_again(train):
    """Two epochs differ from the first epoch run twice (its shuffle generator rewound)."""
    trainer = _trainer(train)
    start = trainer.checkpoint()
    trainer.run_epoch()
    after_one = trainer.checkpoint()
    trainer.run_epoch()
    two_epochs = to_numpy(trainer.model.params).copy()

    # the real state after epoch 1 reproduces epoch 2 ...
    again = _trainer(train)
    again.restore(copy.deepcopy(after_one))  # (a copy: see the last test)
    again.run_epoch()
    np.testing.assert_array_equal(to_numpy(again.model.params), two_epochs)

    # ... and the same state with the generators as they stood before epoch 1 does not
    rewound = _trainer(train)
    after_one.rngs = start.rngs
    rewound.restore(copy.deepcopy(after_one))
    rewound.run_epoch()
    assert not np.array_equal(to_numpy(rewound.model.params), two_epochs)


def test_restoring_a_state_leaves_it_as_it_was(train):
    """A TrainerState restored twice starts two equal runs (it is not trained in place)."""
    trainer = Trainer(MLP([784, 4, 10], seed=0, dtype="float64"), "adam", train, seed=0)
    trainer.run_epoch()
    state = trainer.checkpoint()
    kept = copy.deepcopy(state)
    runs = []
    for _ in range(2):
        restored = _trainer_adam(train)
        restored.restore(state)
        restored.run_epoch()
        runs.append(to_numpy(restored.model.params).copy())
    np.testing.assert_array_equal(state.params, kept.params)
    for slot, kept_slot in zip(state.slots[0], kept.slots[0]):
        np.testing.assert_array_equal(slot[0], kept_slot[0])
    np.testing.assert_array_equal(runs[0], runs[1])


def _trainer_adam(train):
    return Trainer(MLP([784, 4, 10], seed=0, dtype="float64"), "adam", train, seed=0)
