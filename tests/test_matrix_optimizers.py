"""The shape-aware optimizers (Adafactor, Muon) beyond the oracle table of test_optimizers.py.

``tests/test_optimizers.py`` holds their rows (50 steps against ``torch.optim.Adafactor``
and against torch's Muon transcribed in float64, 1e-12); ``tests/test_muon.py`` compares
with ``torch.optim.Muon`` itself within bfloat16's rounding. Here: member stacks whose
members differ in every hyper-parameter (on matrices, where the rules differ from an
elementwise one), a Trainer's member stack, what a captured CUDA graph needs (a device
step count, in-place steps, replays), every hyper-parameter of Muon drawn at random
against the transcription, and Adafactor on arrays of more than two axes and in float32.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from helpers import EagerGraph, assert_close, assert_on
from optimlab import MLP, ConfigError, Dataset, Trainer, load_mnist, optimizers, schedules
from optimlab.backend import to_numpy
from test_optimizers import (
    CASES,
    _match_the_oracle,
    _oracle_trajectory,
    _stepped,
    _torch,
    _trajectory_inputs,
)

#: The shape-aware rules (not elementwise): from the registry, as their classes declare it.
NAMES = [name for name, cls in optimizers.OPTIMIZERS.items() if not cls.elementwise]
#: a tall and a wide weight matrix and their biases (Muon transposes the tall one)
SHAPES = [(5, 3), (5,), (3, 6), (3,)]
#: two members of one kind whose every hyper-parameter differs (Muon's ns_steps excepted:
#: a stack shares it, see test_a_muon_stack_refuses_members_with_other_ns_steps)
MEMBERS = {
    "adafactor": [
        {"lr": 0.05, "beta2_decay": -0.8, "eps2": 1e-3, "d": 1.0, "weight_decay": 0.0},
        {"lr": 0.02, "beta2_decay": -0.6, "eps2": 1e-2, "d": 1.5, "weight_decay": 0.05},
    ],
    "muon": [
        {"lr": 0.02, "weight_decay": 0.1, "momentum": 0.95, "eps": 1e-7, "adamw_lr": 1e-3},
        {
            "lr": 0.005,
            "weight_decay": 0.0,
            "momentum": 0.8,
            "nesterov": False,
            "ns_a": 3.0,
            "ns_b": -3.2,
            "ns_c": 1.2,
            "eps": 1e-6,
            "adamw_lr": 0.01,
        },
    ],
}
#: SOAP's members share the preconditioners' shapes and refresh steps (an MNIST input's
#: 784 dimensions keep no factor here: two 784 x 784 eigendecompositions per network
#: would be most of these tests' time)
MEMBERS["soap"] = [
    {
        "lr": 0.01,
        "beta1": 0.95,
        "beta2": 0.95,
        "shampoo_beta": 0.9,
        "weight_decay": 0.01,
        "correct_bias": True,
        "normalize_gradient": False,
        "eps": 1e-8,
        "precondition_frequency": 4,
        "max_precondition_dim": 100,
    },
    {
        "lr": 0.003,
        "beta1": 0.8,
        "beta2": 0.99,
        "shampoo_beta": 0.7,
        "weight_decay": 0.0,
        "correct_bias": False,
        "normalize_gradient": True,
        "eps": 1e-6,
        "precondition_frequency": 4,
        "max_precondition_dim": 100,
    },
]
SCHEDULE = schedules.get("warmup_cosine", warmup_steps=3, total_steps=20)


def _problem(lead=(), steps=20, seed=0):
    rng = np.random.default_rng(seed)
    params = [rng.normal(size=(*lead, *s)) for s in SHAPES]
    curvature = [rng.uniform(0.5, 2.0, size=(*lead, *s)) for s in SHAPES]
    noise = [[rng.normal(scale=0.3, size=(*lead, *s)) for s in SHAPES] for _ in range(steps)]
    return params, curvature, noise


def _run(opt, backend, params, curvature, noise, state=None, count=None, inplace=False):
    f64 = backend.xp.float64
    put = lambda arrays: [backend.asarray(a, dtype=f64) for a in arrays]  # noqa: E731
    ours, a_ = put(params), put(curvature)
    state = opt.init(ours) if state is None else state(ours)
    for step_noise in noise:
        if count is not None:  # a captured graph's count: a float64 device scalar
            state = state._replace(count=backend.asarray(float(state.count), dtype=f64))
        grads = [a * p + n for p, a, n in zip(ours, a_, put(step_noise))]
        ours, state = opt.step(ours, grads, state, inplace=inplace)
    return ours, state


def _compiled_once_per_shape(name, backend):
    if name == "soap" and backend.name.startswith("jax"):
        pytest.skip(
            "JAX compiles each operation once per shape, and SOAP steps each member alone "
            "(its oracle and conformance tests run on JAX)"
        )


def _slots(state):
    return [a for name in sorted(state.slots) for a in state.slots[name]]


@pytest.mark.parametrize("name", NAMES)
def test_members_with_their_own_hyperparameters_step_as_each_alone(name, backend):
    """Two members differing in every hyper-parameter (each an array on the device,
    Muon's nesterov chosen there) equal the two runs alone: parameters and slots."""
    _compiled_once_per_shape(name, backend)
    chosen = [optimizers.get(name, **h) for h in MEMBERS[name]]
    params, curvature, noise = _problem(lead=(2,))
    like = backend.asarray(params[0], dtype=backend.xp.float64)
    shared = optimizers.member_hyperparameters(chosen, like)
    differ = [k for k, v in shared.items() if not isinstance(v, (int, float))]
    first, second = (o.hyperparameters for o in chosen)  # what each member was given
    assert set(differ) == {k for k in first if first[k] != second[k]}, differ

    def stack(arrays):
        return chosen[0].init(arrays, hyperparameters=shared, members=True)

    together, state = _run(chosen[0], backend, params, curvature, noise, state=stack)
    for k, opt in enumerate(chosen):
        one = lambda arrays, k=k: [a[k] for a in arrays]  # noqa: E731
        alone, alone_state = _run(
            opt, backend, one(params), one(curvature), [one(n) for n in noise]
        )
        for mine, theirs in zip([*together, *_slots(state)], [*alone, *_slots(alone_state)]):
            assert_on(backend, mine, backend.xp.float64)
            # a stack's matrix products are batched: the library may round them otherwise
            assert_close(mine[k, ...], to_numpy(theirs), rtol=1e-10, atol=1e-12)


def test_a_muon_stack_refuses_members_with_other_ns_steps():
    chosen = [optimizers.get("muon", ns_steps=5), optimizers.get("muon", ns_steps=3)]
    params = [np.zeros((2, 4, 3)), np.zeros((2, 4))]
    shared = optimizers.member_hyperparameters(chosen, params[0])
    message = r"^the members of a muon stack must share one ns_steps \(an integer\)$"
    with pytest.raises(ConfigError, match=message):
        chosen[0].init(params, hyperparameters=shared, members=True)
    state = chosen[0].init(params, hyperparameters={**shared, "ns_steps": 5}, members=True)
    state = state._replace(hyperparameters=shared)  # a state assembled by hand
    with pytest.raises(ConfigError, match=message):
        chosen[0].step(params, [p + 1.0 for p in params], state)


@pytest.mark.parametrize("name", NAMES)
def test_a_device_count_steps_as_a_python_count(name, backend):
    """Inside a captured CUDA graph the count is a float64 device scalar, and a schedule
    reads it there: the same numbers as with Python's count (members differing too)."""
    _compiled_once_per_shape(name, backend)
    chosen = [optimizers.get(name, **h, schedule=SCHEDULE) for h in MEMBERS[name]]
    params, curvature, noise = _problem(lead=(2,))
    like = backend.asarray(params[0], dtype=backend.xp.float64)
    shared = optimizers.member_hyperparameters(chosen, like)

    def stack(arrays):
        return chosen[0].init(arrays, hyperparameters=shared, members=True)

    python, python_state = _run(chosen[0], backend, params, curvature, noise, state=stack)
    device, device_state = _run(chosen[0], backend, params, curvature, noise, stack, count=True)
    for mine, theirs in zip([*device, *_slots(device_state)], [*python, *_slots(python_state)]):
        assert_close(mine, to_numpy(theirs), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("members", [False, True])
@pytest.mark.parametrize("name", NAMES)
def test_an_in_place_step_keeps_every_array(name, members, backend):
    """What a captured CUDA graph needs: with ``inplace=True``, a device count and a
    schedule, the step writes into the parameters and slots it was given."""
    if backend.xp.__name__.startswith("jax"):
        pytest.skip("JAX's arrays cannot be written in place")
    f64 = backend.xp.float64
    chosen = [optimizers.get(name, **h, schedule=SCHEDULE) for h in MEMBERS[name]]
    lead = (2,) if members else ()
    params = [backend.asarray(np.full(lead + s, 0.5), dtype=f64) for s in SHAPES]
    hyper = optimizers.member_hyperparameters(chosen, params[0]) if members else None
    state = chosen[0].init(params, hyperparameters=hyper, members=members)
    state = state._replace(count=backend.asarray(0.0, dtype=f64))
    for _ in range(3):
        arrays = [*params, *_slots(state)]
        grads = [p * 0.5 + 0.1 for p in params]
        params, state = chosen[0].step(params, grads, state, inplace=True)
        assert all(a is b for a, b in zip([*params, *_slots(state)], arrays))


@pytest.fixture(scope="module")
def mnist64():
    train, _ = load_mnist(dtype="float64")
    return train.head(40)


def _on(backend, data):
    return Dataset(
        backend.asarray(data.images, dtype=backend.xp.float64),
        backend.asarray(data.labels),
        data.num_classes,
    )


@pytest.mark.parametrize("name", NAMES)
def test_a_trainers_member_stack_equals_the_members_trained_alone(name, backend, mnist64):
    """A Trainer gives the rule each layer's ``(K, out, in)`` matrix and ``(K, out)`` bias;
    two members with different hyper-parameters equal two networks trained alone."""
    _compiled_once_per_shape(name, backend)
    train = _on(backend, mnist64)
    chosen = [optimizers.get(name, **h) for h in MEMBERS[name]]

    def run(optimizer, seed):
        model = MLP([784, 6, 10], seed=seed, dtype="float64", xp=backend.xp, device=backend.device)
        trainer = Trainer(model, optimizer, train, batch_size=10, seed=seed)
        trainer.run_epoch()
        trainer.run_epoch()
        return model.params

    together = run(chosen, [0, 1])
    assert_on(backend, together, backend.xp.float64)
    for k, opt in enumerate(chosen):
        alone = run(opt, k)
        assert_close(together[k, ...], to_numpy(alone), rtol=1e-10, atol=1e-12)
        assert not np.allclose(to_numpy(alone), to_numpy(run(chosen[1 - k], k)))


def test_replays_of_a_captured_step_train_as_eager_steps(mnist64, monkeypatch):
    """Replays (simulated) with members of both kinds, differing hyper-parameters and a
    schedule: a rule that replaced a slot instead of writing into it would lose it."""
    torch = _torch()
    import array_api_compat

    from optimlab.backend import graphs

    monkeypatch.setattr(graphs, "CapturedStep", EagerGraph)
    xp, cpu = array_api_compat.array_namespace(torch.empty(0)), torch.device("cpu")
    images, labels = to_numpy(mnist64.images)[:35], to_numpy(mnist64.labels)[:35]
    data = Dataset(xp.asarray(images), xp.asarray(labels), 10)
    chosen = [optimizers.get(n, **h, schedule=SCHEDULE) for n in NAMES for h in MEMBERS[n]]
    seeds = list(range(len(chosen)))

    def run(graphed):
        model = MLP([784, 6, 10], seed=seeds, dtype="float64", xp=xp, device=cpu)
        trainer = Trainer(model, chosen, data, batch_size=10, seed=seeds)
        trainer.graphs = graphed  # 3 full batches replayed, the last 5 samples eager
        for _ in range(2):
            trainer.run_epoch()
        return trainer

    graphed, eager = run(True), run(False)
    assert_close(graphed.model.params, eager.model.params, rtol=1e-12, atol=1e-14)
    ours, theirs = graphed.checkpoint(), eager.checkpoint()
    assert ours.count == theirs.count == 8
    for mine, other in zip(ours.slots, theirs.slots):
        for a, b in zip(mine, other):
            for x, y in zip(a, b):
                assert_close(x, y, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_muon_matches_the_float64_transcription_with_every_hyperparameter_random(seed, backend):
    """50 steps at 1e-12 with nesterov, the iteration's coefficients and steps, and the
    biases' AdamW rate drawn too (the table's random test draws only the common ones)."""
    if seed > 1 and backend.name != "numpy":
        pytest.skip("one draw per backend beyond NumPy")
    rng = np.random.default_rng(seed)
    hyper = {
        "lr": math.exp(rng.uniform(math.log(1e-3), math.log(0.1))),
        "weight_decay": rng.uniform(0.0, 0.2),
        "momentum": rng.uniform(0.0, 0.99),
        "nesterov": bool(rng.integers(2)),
        "ns_a": rng.uniform(2.0, 4.0),
        "ns_b": rng.uniform(-5.0, -2.0),
        "ns_c": rng.uniform(0.5, 2.5),
        "eps": math.exp(rng.uniform(math.log(1e-9), math.log(1e-5))),
        "ns_steps": int(rng.integers(1, 9)),
        "adamw_lr": math.exp(rng.uniform(math.log(1e-4), math.log(0.1))),
    }
    hyper = {k: v if isinstance(v, (bool, int)) else float(v) for k, v in hyper.items()}
    (case,) = [c for c in CASES if c.name == "muon"]
    _match_the_oracle(case, hyper, backend)


def _adafactor_against_torch(shapes, dtype, seed=0, steps=30, scale=1.0):
    torch = _torch()
    rng = np.random.default_rng(seed)
    hyper = {"lr": 0.03, "beta2_decay": -0.7, "eps2": 1e-3, "d": 1.2, "weight_decay": 0.01}
    params = [rng.normal(size=s).astype(dtype) for s in shapes]
    grads = [[(scale * rng.normal(size=s)).astype(dtype) for s in shapes] for _ in range(steps)]
    tparams = [torch.tensor(p, requires_grad=True) for p in params]
    h = dict(hyper)
    theirs = torch.optim.Adafactor(tparams, eps=(None, h.pop("eps2")), **h)
    opt = optimizers.get("adafactor", **hyper)
    ours, state = [p.copy() for p in params], opt.init(params)
    for step in grads:
        for p, g in zip(tparams, step):
            p.grad = torch.tensor(g)
        theirs.step()
        ours, state = opt.step(ours, step, state)
    return ours, state, tparams, theirs.state


def test_adafactor_factors_the_last_two_axes_of_any_array_as_torch_does():
    """A 3-axis array (a stack of matrices that is one parameter, as a convolution's):
    one row and one column moment per matrix, one RMS for the whole array."""
    ours, state, tparams, theirs = _adafactor_against_torch([(2, 4, 3), (3,)], np.float64)
    for i, (mine, p) in enumerate(zip(ours, tparams)):
        np.testing.assert_allclose(mine, p.detach().numpy(), rtol=1e-12, atol=1e-14)
        for slot in ("row_var", "col_var", "variance"):
            if theirs[p].get(slot) is not None:
                expected = theirs[p][slot].numpy()
                np.testing.assert_allclose(state.slots[slot][i], expected, rtol=1e-12)
    assert state.slots["row_var"][0].shape == (2, 4, 1)
    assert state.slots["col_var"][0].shape == (2, 1, 3)


def test_adafactor_in_float32_takes_float32s_epsilon_as_torch_does():
    """torch's eps1 = None is the parameters' dtype's machine epsilon: float32's here,
    which floors the second moments of gradients this small (g**2 ~ 1e-16 < eps1**2)."""
    ours, _, tparams, _ = _adafactor_against_torch([(4, 3), (3,)], np.float32, scale=1e-8)
    for mine, p in zip(ours, tparams):
        assert mine.dtype == np.float32
        np.testing.assert_allclose(mine, p.detach().numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("members", [False, True])
@pytest.mark.parametrize("name", NAMES)
def test_float32_and_a_device_count_keep_float32(name, members, backend):
    """A CUDA graph's step: float32 arrays, a float64 device count and a schedule on it;
    every parameter and slot stays float32 on its device (no float64 sneaks in)."""
    _compiled_once_per_shape(name, backend)
    f32 = backend.xp.float32
    chosen = [optimizers.get(name, **h, schedule=SCHEDULE) for h in MEMBERS[name]]
    lead = (2,) if members else ()
    params = [backend.asarray(np.full(lead + s, 0.5), dtype=f32) for s in SHAPES]
    hyper = optimizers.member_hyperparameters(chosen, params[0]) if members else None
    state = chosen[0].init(params, hyperparameters=hyper, members=members)
    state = state._replace(count=backend.asarray(0.0, dtype=backend.xp.float64))
    for _ in range(3):
        grads = [p * 0.5 + 0.1 for p in params]
        params, state = chosen[0].step(params, grads, state)
    for a in [*params, *_slots(state)]:
        assert_on(backend, a, f32)
        assert np.all(np.isfinite(to_numpy(a)))


# -- SOAP's refresh of its bases against pytorch_optimizer.SOAP -------------------------


class _Float64For32:
    """The torch module as pytorch_optimizer's soap module sees it, with float32 read as
    float64: its refresh then runs the QR decomposition in float64, as ours does."""

    def __init__(self, torch):
        self.torch = torch

    def __getattr__(self, name):
        return self.torch.float64 if name == "float32" else getattr(self.torch, name)


def _soap_refreshing(seed):
    """SOAP's hyper-parameters drawn (seeded) with a refresh every 2 to 8 steps."""
    rng = np.random.default_rng([7, seed])
    return {
        "lr": float(math.exp(rng.uniform(math.log(1e-3), math.log(0.1)))),
        "beta1": float(rng.uniform(0.5, 0.99)),
        "beta2": float(rng.uniform(0.8, 0.999)),
        "shampoo_beta": float(rng.uniform(0.5, 0.99)),
        "weight_decay": float(rng.uniform(0.0, 0.1)),
        "precondition_frequency": int(rng.integers(2, 9)),
        "max_precondition_dim": int(rng.choice([3, 4, 10000])),
        "precondition_1d": bool(seed % 2),
        "correct_bias": bool(seed // 2 % 2 == 0),
        "normalize_gradient": bool(seed // 2 % 2),
        "eps": float(math.exp(rng.uniform(math.log(1e-10), math.log(1e-6)))),
    }


#: a tall and a wide matrix (one zero eigenvalue each at step 1) and a 2-long vector (its
#: g g^T too): every null space of one dimension, whose basis is unique up to its sign
REFRESH_SHAPES = ((4, 3), (3, 4), (2,))


@pytest.mark.parametrize("seed", range(4))
def test_soap_refreshes_its_bases_as_the_oracle_does_with_a_float64_qr(seed, backend, monkeypatch):
    """50 steps with a refresh every 2 to 8, at 1e-12 on every backend, against
    pytorch_optimizer.SOAP whose QR decomposition runs in float64 (it casts its input
    to float32, which keeps the bases orthogonal to 1e-7 only; see the next test)."""
    torch = _torch()
    module = pytest.importorskip("pytorch_optimizer.optimizer.soap")
    monkeypatch.setattr(module, "torch", _Float64For32(torch))
    (case,) = [c for c in CASES if c.name == "soap"]
    _match_the_oracle(case, _soap_refreshing(seed), backend, shapes=REFRESH_SHAPES)


def test_soap_is_within_the_float32_rounding_of_the_oracles_own_qr(numpy_backend):
    """The oracle as it is, its QR decomposition in float32: the bases, and so the steps,
    differ by float32's rounding (here by up to 4e-7, on parameters of order 1)."""
    hyper = _soap_refreshing(0)
    (case,) = [c for c in CASES if c.name == "soap"]
    with pytest.raises(AssertionError):  # float32 is visible at 1e-12
        _match_the_oracle(case, hyper, numpy_backend, shapes=REFRESH_SHAPES)
    tparams, _ = _oracle_trajectory(case, hyper, shapes=REFRESH_SHAPES)
    ours, _ = _stepped("soap", hyper, numpy_backend, shapes=REFRESH_SHAPES)
    for mine, theirs in zip(ours, tparams):
        assert_close(mine, theirs.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_soap_gives_a_null_space_the_same_basis_on_every_library(backend):
    """A factor of one gradient is rank-deficient: G G^T of a (6, 3) matrix has a null
    space of 3 dimensions, g g^T of a 5-long vector of 4, and LAPACKs choose different
    bases for them (the oracle's steps then depend on the library). Ours is a function of
    the null space alone: every library takes NumPy's steps, to rounding."""
    hyper = {"precondition_frequency": 5, "precondition_1d": True, "lr": 0.01}
    shapes = ((6, 3), (5,))
    params, curvature, centre, noise = _trajectory_inputs(steps=20, shapes=shapes)

    def run(backend):
        put = lambda arrays: [backend.asarray(a, dtype=backend.xp.float64) for a in arrays]  # noqa: E731
        opt = optimizers.get("soap", **hyper)
        ours, a_, c_ = put(params), put(curvature), put(centre)
        state = opt.init(ours)
        for step_noise in noise:
            grads = [a * (p - c) + n for p, a, c, n in zip(ours, a_, c_, put(step_noise))]
            ours, state = opt.step(ours, grads, state)
        return ours

    from conftest import _make_backend

    for mine, numpy_s in zip(run(backend), run(_make_backend("numpy"))):
        assert_close(mine, to_numpy(numpy_s), rtol=1e-10, atol=1e-13)
