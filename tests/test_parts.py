"""A rule composed of parts (``Optimizer.parts``): each array goes to the first part that
takes its shape, with that part's slots; the slots it does not keep hold a placeholder.

Muon is the library's composed rule (tests/test_muon.py); here a small one whose parts
are easy to compute by hand: sign descent with momentum on the matrices, plain gradient
descent at another rate on the rest.
"""

from __future__ import annotations

import numpy as np
import pytest

from optimlab.errors import ConfigError
from optimlab.optimizers import member_hyperparameters
from optimlab.optimizers.base import Optimizer, Part, matrices, the_rest
from optimlab.optimizers.hyperparameters import Hyperparameter, fraction, rate


def _signed(xp, w, g, M, *, t, lead, lr, beta, **_):
    M *= beta
    M += g
    w -= lr * xp.sign(M)
    return w, (M,)


def _plain(xp, w, g, *, t, lead, rest_lr, **_):
    w -= rest_lr * g
    return w, ()


class Composed(Optimizer):
    """Sign descent with momentum on the matrices, gradient descent on the rest."""

    name = "composed_for_tests"
    slots = ("mean",)
    elementwise = False
    parts = (Part(matrices, _signed, slots=("mean",)), Part(the_rest, _plain))
    lr = Hyperparameter(0.1, rate, "the matrices' rate")
    beta = Hyperparameter(0.5, fraction, "decay of the matrices' momentum")
    rest_lr = Hyperparameter(0.01, rate, "the other arrays' rate")


SHAPES = [(3, 4), (3,), (2, 3), (2,)]


def _by_hand(params, grads_per_step, lr, beta, rest_lr):
    """The two rules written out, array by array (numbers, not the library's routing)."""
    params = [p.copy() for p in params]
    momenta = [np.zeros_like(p) for p in params]
    for grads in grads_per_step:
        for i, g in enumerate(grads):
            if params[i].ndim == 2:
                momenta[i] = beta * momenta[i] + g
                params[i] = params[i] - lr * np.sign(momenta[i])
            else:
                params[i] = params[i] - rest_lr * g
    return params, momenta


def test_each_array_takes_its_parts_rule_and_slots():
    rng = np.random.default_rng(0)
    params = [rng.normal(size=s) for s in SHAPES]
    steps = [[rng.normal(size=s) for s in SHAPES] for _ in range(3)]
    opt = Composed(lr=0.1, beta=0.5, rest_lr=0.01)
    state = opt.init(params)
    # the matrices keep a momentum like them; the vectors a placeholder, one zero
    assert [m.shape for m in state.mean] == [(3, 4), (1,), (2, 3), (1,)]
    ours = params
    for grads in steps:
        ours, state = opt.step(ours, grads, state)
    want, momenta = _by_hand(params, steps, 0.1, 0.5, 0.01)
    for i in range(len(SHAPES)):
        np.testing.assert_allclose(ours[i], want[i], rtol=1e-15, atol=1e-15)
    for i in (0, 2):
        np.testing.assert_allclose(state.mean[i], momenta[i], rtol=1e-15, atol=1e-15)
    for i in (1, 3):  # untouched by the rest's part, which keeps no slot
        np.testing.assert_array_equal(state.mean[i], np.zeros(1))


def test_a_member_stack_routes_by_the_shape_without_the_member_axis():
    """(K, 3) is a stack of vectors, not a matrix; (K, 3, 4) a stack of matrices; each
    member uses its own hyper-parameters."""
    rng = np.random.default_rng(1)
    members = [Composed(lr=0.1, rest_lr=0.01), Composed(lr=0.2, rest_lr=0.03)]
    params = [rng.normal(size=(2, *s)) for s in SHAPES]
    steps = [[rng.normal(size=(2, *s)) for s in SHAPES] for _ in range(2)]
    hyper = member_hyperparameters(members, params[0])
    state = members[0].init(params, hyperparameters=hyper, members=True)
    assert [m.shape for m in state.mean] == [(2, 3, 4), (2, 1), (2, 2, 3), (2, 1)]
    ours = params
    for grads in steps:
        ours, state = members[0].step(ours, grads, state)
    for k, (lr, rest_lr) in enumerate([(0.1, 0.01), (0.2, 0.03)]):
        alone = [[g[k] for g in grads] for grads in steps]
        want, _ = _by_hand([p[k] for p in params], alone, lr, 0.5, rest_lr)
        for i in range(len(SHAPES)):
            np.testing.assert_allclose(ours[i][k], want[i], rtol=1e-15, atol=1e-15)


def test_an_array_that_no_part_takes_is_refused_in_one_sentence():
    class MatricesOnly(Composed):
        name = "matrices_only_for_tests"
        parts = (Part(matrices, _signed, slots=("mean",)),)

    with pytest.raises(
        ConfigError,
        match=r"^matrices_only_for_tests has no rule for an array "
        r"of shape \(3,\)$",
    ):
        MatricesOnly().init([np.zeros((3, 4)), np.zeros(3)])


def test_the_first_part_that_takes_an_array_updates_it():
    """Order decides: with the rest first, the matrices take the rest's rule."""

    class RestFirst(Composed):
        name = "rest_first_for_tests"
        parts = (Part(the_rest, _plain), Part(matrices, _signed, slots=("mean",)))

    w, g = np.ones((3, 4)), np.full((3, 4), 2.0)
    opt = RestFirst(lr=0.1, rest_lr=0.01)
    state = opt.init([w])
    assert state.mean[0].shape == (1,)
    (stepped,), _ = opt.step([w], [g], state)
    np.testing.assert_array_equal(stepped, np.full((3, 4), 1.0 - 0.01 * 2.0))
