"""Schedule-Free (sf_sgd, sf_adamw) and Prodigy: rules with running scalars, an evaluation
point of their own (Schedule-Free) and sums over all parameters (Prodigy).

Against their oracles (``schedulefree``, ``prodigyopt``) with random hyper-parameters in
float64 over 60 steps: parameters, every slot, every per-group value and the evaluation
point; with a schedule (the oracle's group ``lr`` set as an ``LRScheduler`` would) on a
Python count and on a device count (a CUDA graph's); Prodigy's early return; member
stacks against single runs; several arrays against their concatenation; a Trainer's
checkpoint resumed exactly; ``fit`` leaving the network at the evaluation point.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest

from helpers import EagerGraph, assert_close, assert_on
from optimlab import (
    MLP,
    Dataset,
    Trainer,
    evaluate,
    fit,
    fit_members,
    load_mnist,
    optimizers,
    schedules,
)
from optimlab.backend import to_numpy
from optimlab.train import checkpoint

#: The elementwise rules that take every array at once (their own ``apply``: global sums,
#: running scalars advanced per step): from the registry, as their classes declare it.
NAMES = [
    name
    for name, cls in optimizers.OPTIMIZERS.items()
    if cls.elementwise and cls.apply is not optimizers.Optimizer.apply
]
SHAPES = [(4, 3), (3,), (5,)]
STEPS = 60
#: per-group values of each oracle that are running scalars of ours
SCALARS = {
    "sf_sgd": ("lr_max", "weight_sum", "scheduled_lr"),
    "sf_adamw": ("lr_max", "weight_sum", "scheduled_lr"),
    "prodigy": ("d", "d_max", "d_numerator", "d_hat", "d_denom", "k"),
}


def _torch():
    return pytest.importorskip("torch", reason="PyTorch is not installed (the oracle)")


def _draw(name, seed):
    """Random hyper-parameters of ``name`` in their valid ranges (seeded)."""
    rng = np.random.default_rng([12, NAMES.index(name), seed])
    log = lambda lo, hi: float(10 ** rng.uniform(math.log10(lo), math.log10(hi)))  # noqa: E731
    decay = float(rng.uniform(0.0, 0.1)) if rng.random() < 0.7 else 0.0
    if name == "prodigy":
        return {
            "lr": float(rng.uniform(0.2, 2.0)),
            "beta1": float(rng.uniform(0.5, 0.99)),
            "beta2": float(rng.uniform(0.9, 0.9999)),
            "beta3": None if rng.random() < 0.5 else float(rng.uniform(0.5, 0.999)),
            "eps": log(1e-10, 1e-6),
            "weight_decay": decay,
            "decouple": bool(rng.random() < 0.5),
            "use_bias_correction": bool(rng.random() < 0.5),
            "safeguard_warmup": bool(rng.random() < 0.5),
            "d0": log(1e-7, 1e-3),
            "d_coef": float(rng.uniform(0.5, 2.0)),
            "growth_rate": math.inf if rng.random() < 0.5 else float(rng.uniform(1.01, 1.5)),
        }
    hyper = {
        "lr": log(1e-3, 0.3) if name == "sf_sgd" else log(1e-3, 0.1),
        "weight_decay": decay,
        "warmup_steps": float(rng.integers(0, 20)),
        "r": float(rng.uniform(0.0, 2.0)),
        "weight_lr_power": float(rng.uniform(0.0, 3.0)),
    }
    if name == "sf_sgd":
        return {**hyper, "momentum": float(rng.uniform(0.5, 0.99))}
    return {
        **hyper,
        "beta1": float(rng.uniform(0.5, 0.99)),
        "beta2": float(rng.uniform(0.9, 0.9999)),
        "eps": log(1e-10, 1e-6),
    }


def _oracle(name, params, hyper):
    """The oracle optimizer over torch ``params`` (in train mode for Schedule-Free)."""
    h = dict(hyper)
    if "beta1" in h:
        h["betas"] = (h.pop("beta1"), h.pop("beta2"))
    if name == "prodigy":
        return pytest.importorskip("prodigyopt").Prodigy(params, **h)
    schedulefree = pytest.importorskip("schedulefree")
    h["warmup_steps"] = int(h["warmup_steps"])
    cls = schedulefree.SGDScheduleFree if name == "sf_sgd" else schedulefree.AdamWScheduleFree
    opt = cls(params, **h)
    opt.train()
    return opt


def _problem(seed=0, steps=STEPS, zero_steps=0):
    """A noisy quadratic's inputs: g = a * (w - c) + n (the first ``zero_steps`` zero)."""
    rng = np.random.default_rng(seed)
    params = [rng.normal(size=s) for s in SHAPES]
    curvature = [rng.uniform(0.5, 2.0, size=s) for s in SHAPES]
    centre = [rng.normal(size=s) for s in SHAPES]
    noise = [[rng.normal(scale=0.3, size=s) for s in SHAPES] for _ in range(steps)]
    return params, curvature, centre, noise, zero_steps


def _run_oracle(name, hyper, problem, schedule=None, cycle=0):
    """The oracle's parameters, state and group after the problem's steps, and its eval
    point. ``cycle``: also go to eval mode and back every ``cycle`` steps."""
    torch = _torch()
    params, curvature, centre, noise, zero_steps = problem
    default = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        tparams = [torch.tensor(p, requires_grad=True) for p in params]
        opt = _oracle(name, tparams, hyper)
        for t, step_noise in enumerate(noise):
            if schedule is not None:  # as an LRScheduler sets it
                for group in opt.param_groups:
                    group["lr"] = hyper["lr"] * schedule(t)
            with torch.no_grad():
                for p, a, c, n in zip(tparams, curvature, centre, step_noise):
                    g = torch.tensor(a) * (p - torch.tensor(c)) + torch.tensor(n)
                    p.grad = g * 0.0 if t < zero_steps else g
            opt.step()
            if cycle and (t + 1) % cycle == 0:
                opt.eval()
                opt.train()
        trained = [p.detach().numpy().copy() for p in tparams]
        state = {
            key: [opt.state[p][key].numpy().copy() for p in tparams]
            for key in opt.state[tparams[0]]
            if isinstance(opt.state[tparams[0]][key], torch.Tensor)
        }
        group = dict(opt.param_groups[0])
        evaluated = trained
        if hasattr(opt, "eval"):
            opt.eval()
            evaluated = [p.detach().numpy().copy() for p in tparams]
    finally:
        torch.set_default_dtype(default)
    return trained, state, group, evaluated


def _run_ours(name, hyper, problem, backend, schedule=None, count=None):
    """Our parameters and state after the problem's steps; ``count``: a device step count
    (the start of a captured graph's) instead of a Python int."""
    params, curvature, centre, noise, zero_steps = problem
    f64 = backend.xp.float64
    put = lambda arrays: [backend.asarray(a, dtype=f64) for a in arrays]  # noqa: E731
    ours, a_, c_ = put(params), put(curvature), put(centre)
    opt = optimizers.get(name, **hyper, schedule=schedule)
    state = opt.init(ours)
    if count is not None:
        state = state._replace(count=count)
    for t, step_noise in enumerate(noise):
        grads = [a * (p - c) + n for p, a, c, n in zip(ours, a_, c_, put(step_noise))]
        if t < zero_steps:
            grads = [g * 0.0 for g in grads]
        ours, state = opt.step(ours, grads, state)
    return opt, ours, state


def _compare(name, opt, ours, state, oracle, backend, rtol=1e-12):
    trained, their_state, group, evaluated = oracle
    f64 = backend.xp.float64
    close = lambda a, b: assert_close(a, b, rtol=rtol, atol=1e-14)  # noqa: E731
    for mine, theirs in zip(ours, trained):
        assert_on(backend, mine, f64)
        close(mine, theirs)
    assert set(state.slots) == set(their_state)
    for key, arrays in state.slots.items():
        for mine, theirs in zip(arrays, their_state[key]):
            assert_on(backend, mine, f64)
            size = math.prod(mine.shape)  # (the oracle keeps Prodigy's s and p0 flat)
            theirs = np.broadcast_to(np.reshape(theirs, -1), (size,)).reshape(tuple(mine.shape))
            close(mine, theirs)
    assert set(state.scalars) == set(SCALARS[name])
    for key, mine in state.scalars.items():
        assert_on(backend, mine, f64)
        assert tuple(mine.shape) == ()
        close(mine, np.asarray(float(group[key])))
    for mine, theirs in zip(opt.eval_params(ours, state), evaluated):
        assert_on(backend, mine, f64)
        close(mine, theirs)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("name", NAMES)
def test_random_hyperparameters_match_the_oracle(name, seed, backend):
    """60 steps with drawn hyper-parameters: parameters, slots, the oracle's per-group
    values and (Schedule-Free) its eval() point, all to 1e-12 relative."""
    hyper = _draw(name, seed)
    problem = _problem(seed)
    oracle = _run_oracle(name, hyper, problem)
    opt, ours, state = _run_ours(name, hyper, problem, backend)
    assert state.count == STEPS
    _compare(name, opt, ours, state, oracle, backend)


SCHEDULE = schedules.get("warmup_cosine", warmup_steps=5, total_steps=40)  # 0 at 0 and >= 40


def _device_count(backend):
    return backend.asarray(0.0, dtype=backend.xp.float64)


@pytest.mark.parametrize("count", ["int", "device"])
@pytest.mark.parametrize("seed", range(2))
@pytest.mark.parametrize("name", NAMES)
def test_a_schedule_sets_the_rate_as_an_lr_scheduler_would(name, seed, count, backend):
    """``schedule=`` multiplies ``lr`` before the rule, as a scheduler setting the oracle's
    group ``lr``: with a rate of 0 on the first step and after step 40 (Schedule-Free's
    zero weight sum, Prodigy's early return), and on a device count, where every choice
    the rule makes is an ``xp.where``."""
    hyper = _draw(name, seed)
    problem = _problem(seed)
    oracle = _run_oracle(name, hyper, problem, schedule=SCHEDULE)
    start = None if count == "int" else _device_count(backend)
    opt, ours, state = _run_ours(name, hyper, problem, backend, SCHEDULE, start)
    assert float(to_numpy(state.count) if count == "device" else state.count) == STEPS
    _compare(name, opt, ours, state, oracle, backend)


@pytest.mark.parametrize("correction", [False, True])
def test_prodigy_returns_early_while_no_gradient_has_been_seen(correction, backend):
    """Zero gradients for 5 steps: ``s`` stays 0, so the oracle returns before ``d``, ``k``
    and the parameters change; then 55 real steps (``k`` counts 55: the bias correction
    starts there)."""
    # (decoupled decay: an L2 term would make the gradient nonzero)
    hyper = {**_draw("prodigy", 7), "use_bias_correction": correction, "decouple": True}
    problem = _problem(3, zero_steps=5)
    oracle = _run_oracle("prodigy", hyper, problem)
    assert oracle[2]["k"] == STEPS - 5
    opt, ours, state = _run_ours("prodigy", hyper, problem, backend)
    _compare("prodigy", opt, ours, state, oracle, backend)


@pytest.mark.parametrize("name", ["sf_sgd", "sf_adamw"])
def test_the_evaluation_point_needs_no_round_trip(name, numpy_backend):
    """The oracle's parameters pass through x and back to y at each eval()/train(); ours
    stay at y. The two agree to rounding (1e-12), and the evaluation point is new arrays."""
    hyper = _draw(name, 1)
    problem = _problem(1)
    oracle = _run_oracle(name, hyper, problem, cycle=10)
    opt, ours, state = _run_ours(name, hyper, problem, numpy_backend)
    _compare(name, opt, ours, state, oracle, numpy_backend)
    point = opt.eval_params(ours, state)
    assert not any(np.shares_memory(p, y) for p, y in zip(point, ours))
    fresh = opt.init(ours)  # before any step, z = y: the point is the parameters
    for p, y in zip(opt.eval_params(ours, fresh), ours):
        np.testing.assert_array_equal(p, y)


MEMBERS = {  # K = 2 members of one kind whose hyper-parameters differ
    "sf_sgd": [{"lr": 0.1, "warmup_steps": 5.0}, {"lr": 0.02, "momentum": 0.7, "r": 1.0}],
    "sf_adamw": [
        {"lr": 0.01, "weight_decay": 0.05},
        {"lr": 0.003, "beta1": 0.8, "warmup_steps": 10.0, "weight_lr_power": 1.0},
    ],
    "prodigy": [
        {"lr": 1.0, "weight_decay": 0.01},
        {
            "lr": 0.5,
            "d0": 1e-4,
            "growth_rate": 1.1,
            "beta3": 0.9,
            "weight_decay": 0.02,
            "decouple": False,
            "use_bias_correction": True,
            "safeguard_warmup": True,
        },
    ],
}


@pytest.mark.parametrize("name", NAMES)
def test_a_member_stack_equals_its_members_run_alone(name, backend):
    """Two members with different rates (and more), a schedule and zero gradients at first:
    each row of the stack, its slots, its running scalars and its evaluation point equal
    the member's own run (1e-13: a stack's sums may add in another order)."""
    f64 = backend.xp.float64
    problem = _problem(5, zero_steps=2)
    params, curvature, centre, noise, _ = problem
    chosen = [optimizers.get(name, **h, schedule=SCHEDULE) for h in MEMBERS[name]]
    put = lambda arrays: [backend.asarray(np.stack([a, a]), dtype=f64) for a in arrays]  # noqa: E731
    stack, a_, c_ = put(params), put(curvature), put(centre)
    hyper = optimizers.member_hyperparameters(chosen, stack[0])
    assert not isinstance(hyper["lr"], float)
    state = chosen[0].init(stack, hyperparameters=hyper, members=True)
    for t, step_noise in enumerate(noise):
        grads = [a * (p - c) + n for p, a, c, n in zip(stack, a_, c_, put(step_noise))]
        if t < 2:
            grads = [g * 0.0 for g in grads]
        stack, state = chosen[0].step(stack, grads, state)
    point = chosen[0].eval_params(stack, state)
    for k, h in enumerate(MEMBERS[name]):
        opt, ours, alone = _run_ours(name, h, problem, backend, SCHEDULE)
        for s, p in zip(stack, ours):
            assert_close(s[k, ...], p, rtol=1e-13, atol=1e-15)
        for key in state.slots:
            for s, p in zip(state.slots[key], alone.slots[key]):
                assert_close(s[k, ...], p, rtol=1e-13, atol=1e-15)
        for key, s in state.scalars.items():
            assert tuple(s.shape) == (2, 1)
            assert_close(s[k, 0], alone.scalars[key], rtol=1e-13)
        for s, p in zip(point, opt.eval_params(ours, alone)):
            assert_close(s[k, ...], p, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("name", NAMES)
def test_several_arrays_step_as_their_concatenation(name, backend):
    """The flat vector a training loop hands an elementwise rule: the arrays' global sums
    (Prodigy's) are the same sums, so one vector steps as the list (to rounding)."""
    hyper = _draw(name, 2)
    problem = _problem(2)
    params, curvature, centre, noise, _ = problem
    flat = lambda arrays: [np.concatenate([np.reshape(a, -1) for a in arrays])]  # noqa: E731
    concatenated = (flat(params), flat(curvature), flat(centre), [flat(n) for n in noise], 0)
    _, ours, state = _run_ours(name, hyper, problem, backend)
    _, joined, joined_state = _run_ours(name, hyper, concatenated, backend)
    assert_close(joined[0], flat([to_numpy(a) for a in ours])[0], rtol=1e-12, atol=1e-14)
    for key, arrays in state.slots.items():
        mine = flat([to_numpy(a) for a in arrays])[0]
        assert_close(joined_state.slots[key][0], mine, rtol=1e-12, atol=1e-14)
    for key, value in state.scalars.items():
        assert_close(joined_state.scalars[key], to_numpy(value), rtol=1e-12)


@pytest.mark.parametrize("name", NAMES)
def test_float32_and_a_device_count_keep_float32(name, backend):
    """A CUDA graph's step: float32 arrays, a float64 device count and a schedule on it;
    every array, slot and running scalar stays float32 on its device."""
    f32 = backend.xp.float32
    params = [backend.asarray(np.full(s, 0.5), dtype=f32) for s in SHAPES]
    opt = optimizers.get(name, schedule=SCHEDULE)
    state = opt.init(params)
    state = state._replace(count=_device_count(backend))
    for _ in range(3):
        grads = [p * 0.5 + 0.1 for p in params]
        params, state = opt.step(params, grads, state, inplace=True)
    arrays = [*params, *(a for v in state.slots.values() for a in v), *state.scalars.values()]
    for a in [*arrays, *opt.eval_params(params, state)]:
        assert_on(backend, a, f32)


# -- training: checkpoints and the evaluation point ---------------------------------------


@pytest.fixture(scope="module")
def mnist64():
    train, test = load_mnist(dtype="float64")
    return train.head(300), test.head(100)


TRAINED = {  # settings that learn on the small network in a few epochs
    "sf_sgd": [optimizers.get("sf_sgd", lr=0.5, warmup_steps=10), optimizers.get("sf_sgd")],
    "sf_adamw": [
        optimizers.get("sf_adamw", weight_decay=0.01, warmup_steps=10),
        optimizers.get("sf_adamw", lr=0.01),
    ],
    "prodigy": [
        optimizers.get("prodigy", use_bias_correction=True),
        optimizers.get("prodigy", lr=0.5, weight_decay=0.01),
    ],
}


def _trainer(name, train, members):
    if members:
        model = MLP([784, 8, 10], seed=[3, 4], dtype="float64")
        return Trainer(model, TRAINED[name], train, seed=[5, 6])
    return Trainer(MLP([784, 8, 10], seed=3, dtype="float64"), TRAINED[name][0], train, seed=5)


@pytest.mark.parametrize("members", [False, True])
@pytest.mark.parametrize("name", NAMES)
def test_a_checkpoint_resumes_exactly(name, members, mnist64, tmp_path):
    """Two epochs straight equal one epoch, a checkpoint written to a file and read into a
    new Trainer, and one more epoch: parameters, evaluation point, slots and running
    scalars bit for bit."""
    train = mnist64[0]
    straight = _trainer(name, train, members)
    straight.run_epoch()
    straight.run_epoch()

    first = _trainer(name, train, members)
    first.run_epoch()
    checkpoint.save(tmp_path / "run.npz", first, [], {})
    resumed = _trainer(name, train, members)
    resumed.restore(copy.deepcopy(checkpoint.load(tmp_path / "run.npz")["trainer"]))
    resumed.run_epoch()

    np.testing.assert_array_equal(resumed.model.params, straight.model.params)
    np.testing.assert_array_equal(resumed.eval_params(), straight.eval_params())
    ours, theirs = resumed.checkpoint(), straight.checkpoint()
    assert ours.count == theirs.count == 2 * 30
    for mine, other in zip(ours.slots, theirs.slots):
        for a, b in zip(mine, other):
            for x, y in zip(a, b):
                np.testing.assert_array_equal(x, y)
    for mine, other in zip(ours.scalars, theirs.scalars):
        assert set(mine) == set(SCALARS[name])
        for key in mine:
            np.testing.assert_array_equal(mine[key], other[key])
    if name != "prodigy":  # the evaluation point is not where training stands
        assert not np.array_equal(straight.eval_params(), straight.model.params)


@pytest.mark.parametrize("name", ["sf_sgd", "sf_adamw"])
def test_fit_leaves_the_network_at_the_evaluation_point(name, mnist64):
    """After ``fit`` the model holds x = y + (1 - 1/beta1)(z - y), where it was evaluated:
    its test accuracy is the history's last one."""
    train, test = mnist64
    opt = TRAINED[name][0]
    model = MLP([784, 8, 10], seed=3, dtype="float64")
    history = fit(model, opt, train, epochs=2, batch_size=10, monitor=test, seed=5)
    trainer = Trainer(MLP([784, 8, 10], seed=3, dtype="float64"), opt, train, seed=5)
    trainer.run_epoch()
    trainer.run_epoch()
    y, z = trainer.model.params, trainer.state.slots["z"][0]
    momentum = opt.hyperparameters["beta1" if name == "sf_adamw" else "momentum"]
    np.testing.assert_array_equal(model.params, trainer.eval_params())
    assert_close(model.params, y + (1.0 - 1.0 / momentum) * (z - y), rtol=1e-14, atol=1e-15)
    assert not np.allclose(model.params, y)

    assert evaluate(model, test).accuracy == pytest.approx(history.test_accuracy[-1], abs=1e-12)


def test_members_of_mixed_kinds_evaluate_each_at_its_own_point(mnist64):
    """fit_members with Schedule-Free, Prodigy and Adam members side by side: each row ends
    where the member's own ``fit`` ends (its evaluation point)."""
    train, test = mnist64
    chosen = [*TRAINED["sf_adamw"], optimizers.Adam(lr=0.01), *TRAINED["prodigy"]]
    seeds = list(range(10, 10 + len(chosen)))
    model = MLP([784, 8, 10], seed=seeds, dtype="float64")
    fit_members(model, chosen, train, epochs=2, batch_size=10, monitor=test)
    for k, (opt, seed) in enumerate(zip(chosen, seeds)):
        alone = MLP([784, 8, 10], seed=seed, dtype="float64")
        fit(alone, opt, train, epochs=2, batch_size=10, seed=seed)
        assert_close(model.params[k], alone.params, rtol=1e-10, atol=1e-12)


def test_training_on_another_backend_keeps_the_evaluation_point(backend, mnist64):
    """One epoch of sf_adamw on the backend: the evaluation point equals NumPy's."""
    train = mnist64[0]
    reference = MLP([784, 8, 10], seed=3, dtype="float64")
    fit(reference, TRAINED["sf_adamw"][0], train, epochs=1, seed=5)
    model = MLP([784, 8, 10], seed=3, dtype="float64", xp=backend.xp, device=backend.device)
    data = Dataset(
        backend.asarray(train.images, dtype=backend.xp.float64),
        backend.asarray(train.labels),
        train.num_classes,
    )
    fit(model, TRAINED["sf_adamw"][0], data, epochs=1, seed=5)
    assert_on(backend, model.params, backend.xp.float64)
    assert_close(model.params, reference.params, rtol=1e-8, atol=1e-8)


@pytest.mark.parametrize("members", [False, True])
@pytest.mark.parametrize("name", NAMES)
def test_an_in_place_step_keeps_every_array(name, members, backend):
    """What a captured CUDA graph needs: with ``inplace=True``, a device count and a
    schedule (every choice on the device), the step writes into the arrays it was given
    (parameters, slots, running scalars) instead of making new ones."""
    if backend.xp.__name__.startswith("jax"):
        pytest.skip("JAX's arrays cannot be written in place")
    f64 = backend.xp.float64
    chosen = [optimizers.get(name, **h, schedule=SCHEDULE) for h in MEMBERS[name]]
    lead = (2,) if members else ()
    params = [backend.asarray(np.full(lead + s, 0.5), dtype=f64) for s in SHAPES]
    hyper = optimizers.member_hyperparameters(chosen, params[0]) if members else None
    state = chosen[0].init(params, hyperparameters=hyper, members=members)
    state = state._replace(count=_device_count(backend))
    for _ in range(3):
        arrays = [*params, *(a for v in state.slots.values() for a in v)]
        arrays += list(state.scalars.values())
        grads = [p * 0.5 + 0.1 for p in params]
        params, state = chosen[0].step(params, grads, state, inplace=True)
        after = [*params, *(a for v in state.slots.values() for a in v)]
        after += list(state.scalars.values())
        assert all(a is b for a, b in zip(after, arrays))


def test_the_graph_path_trains_as_the_eager_path(mnist64, monkeypatch):
    """Replays of a captured step (simulated) with members of all three kinds and a
    schedule: parameters, evaluation point, slots and running scalars as eager steps."""
    torch = _torch()
    import array_api_compat

    from optimlab.backend import graphs

    monkeypatch.setattr(graphs, "CapturedStep", EagerGraph)
    xp, cpu = array_api_compat.array_namespace(torch.empty(0)), torch.device("cpu")
    images, labels = to_numpy(mnist64[0].images)[:95], to_numpy(mnist64[0].labels)[:95]
    data = Dataset(xp.asarray(images), xp.asarray(labels), 10)
    schedule = schedules.get("warmup_cosine", warmup_steps=4, total_steps=20)
    chosen = [optimizers.get(name, **h, schedule=schedule) for name in NAMES for h in MEMBERS[name]]
    seeds = list(range(len(chosen)))

    def run(graphed):
        model = MLP([784, 8, 10], seed=seeds, dtype="float64", xp=xp, device=cpu)
        trainer = Trainer(model, chosen, data, batch_size=10, seed=seeds)
        trainer.graphs = graphed  # 9 full batches replayed, the last 5 samples eager
        for _ in range(2):
            trainer.run_epoch()
        return trainer

    graphed, eager = run(True), run(False)
    assert_close(graphed.model.params, eager.model.params, rtol=1e-12, atol=1e-14)
    assert_close(graphed.eval_params(), eager.eval_params(), rtol=1e-12, atol=1e-14)
    ours, theirs = graphed.checkpoint(), eager.checkpoint()
    assert ours.count == theirs.count == 20
    for mine, other in zip(ours.slots, theirs.slots):
        for a, b in zip(mine, other):
            for x, y in zip(a, b):
                assert_close(x, y, rtol=1e-12, atol=1e-14)
    for mine, other in zip(ours.scalars, theirs.scalars):
        for key in mine:
            assert_close(mine[key], other[key], rtol=1e-12)
