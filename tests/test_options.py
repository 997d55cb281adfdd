"""The options every optimizer takes: a schedule, gradient clipping, no decay on biases.

Each against its oracle: ``torch.optim.lr_scheduler`` driving the torch optimizer,
``torch.nn.utils.clip_grad_norm_`` before its step, and torch parameter groups
with the biases' ``weight_decay`` set to 0.
"""

from __future__ import annotations

import numpy as np
import pytest

from helpers import assert_close
from optimlab import MLP, ConfigError, Trainer, optimizers, schedules
from optimlab.backend import to_numpy
from optimlab.datasets import Dataset

torch = pytest.importorskip("torch", reason="PyTorch is not installed (the oracle)")

SHAPES = [(4, 3), (3,), (2, 4), (2,)]  # two layers: weights and biases


def _problem(seed=0, steps=40):
    rng = np.random.default_rng(seed)
    params = [rng.normal(size=s) for s in SHAPES]
    curvature = [rng.uniform(0.5, 2.0, size=s) for s in SHAPES]
    noise = [[rng.normal(scale=0.5, size=s) for s in SHAPES] for _ in range(steps)]
    return params, curvature, noise


def _torch_run(make, params, curvature, noise, *, groups=None, scheduler=None, clip=None):
    default = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        tparams = [torch.tensor(p, requires_grad=True) for p in params]
        topt = make(tparams if groups is None else groups(tparams))
        sched = scheduler(topt) if scheduler else None
        for step_noise in noise:
            with torch.no_grad():
                for p, a, n in zip(tparams, curvature, step_noise):
                    p.grad = torch.tensor(a) * p + torch.tensor(n)
            if clip is not None:
                torch.nn.utils.clip_grad_norm_(tparams, clip)
            topt.step()
            if sched:
                sched.step()
    finally:
        torch.set_default_dtype(default)
    return [p.detach().numpy() for p in tparams]


def _our_run(opt, backend, params, curvature, noise, **init):
    f64 = backend.xp.float64
    put = lambda arrays: [backend.asarray(a, dtype=f64) for a in arrays]  # noqa: E731
    ours, a_ = put(params), put(curvature)
    state = opt.init(ours, **init)
    for step_noise in noise:
        grads = [a * p + n for p, a, n in zip(ours, a_, put(step_noise))]
        ours, state = opt.step(ours, grads, state)
    return ours, state


TORCH = {
    "sgd": lambda p, wd: torch.optim.SGD(p, lr=0.05, momentum=0.0, weight_decay=wd),
    "momentum": lambda p, wd: torch.optim.SGD(p, lr=0.05, momentum=0.8, weight_decay=wd),
    "adam": lambda p, wd: torch.optim.Adam(p, lr=0.01, eps=1e-10, weight_decay=wd),
    "adamw": lambda p, wd: torch.optim.AdamW(p, lr=0.01, weight_decay=wd),
    "rmsprop": lambda p, wd: torch.optim.RMSprop(p, lr=0.01, alpha=0.9, eps=1e-10, weight_decay=wd),
}
OURS = {
    "sgd": {"lr": 0.05},
    "momentum": {"lr": 0.05, "momentum": 0.8},
    "adam": {"lr": 0.01},
    "adamw": {"lr": 0.01, "weight_decay": 0.0},
    "rmsprop": {"lr": 0.01, "decay": 0.9},
}


SCHEDULED = [n for n in TORCH if n != "momentum"]  # momentum: below


@pytest.mark.parametrize("name", SCHEDULED)
def test_a_schedule_equals_torchs_scheduler_driving_the_optimizer(name, backend):
    params, curvature, noise = _problem()
    schedule = schedules.get("one_cycle", total_steps=len(noise))
    theirs = _torch_run(
        lambda p: TORCH[name](p, 0.0),
        params,
        curvature,
        noise,
        scheduler=lambda o: torch.optim.lr_scheduler.OneCycleLR(
            o, max_lr=OURS[name]["lr"], total_steps=len(noise), cycle_momentum=False
        ),
    )
    opt = optimizers.get(name, **OURS[name], schedule=schedule)
    ours, _ = _our_run(opt, backend, params, curvature, noise)
    for mine, their in zip(ours, theirs):
        assert_close(mine, their, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", ["momentum", "nesterov"])
def test_a_scheduled_momentum_scales_each_steps_increment_of_the_velocity(name, backend):
    """The report's momentum keeps ``v = m v + lr_t g`` (torch keeps ``b = m b + g`` and
    steps ``lr_t b``): the same rule at a constant rate, not under a schedule. Ours
    follows the report's form with ``lr_t = lr * s(t)``."""
    params, curvature, noise = _problem(4)
    schedule = schedules.get("step", step_size=7, gamma=0.5)
    lr, m = 0.05, 0.8
    w = [p.copy() for p in params]
    v = [np.zeros_like(p) for p in params]
    for t, step_noise in enumerate(noise):
        rate = lr * schedule(t)
        for i, (a, n) in enumerate(zip(curvature, step_noise)):
            g = a * w[i] + n
            v[i] = m * v[i] + rate * g
            w[i] = w[i] - (v[i] if name == "momentum" else rate * g + m * v[i])
    opt = optimizers.get(name, lr=lr, momentum=m, schedule=schedule)
    ours, _ = _our_run(opt, backend, params, curvature, noise)
    for mine, expected in zip(ours, w):
        assert_close(mine, expected, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", list(TORCH))
def test_clipping_equals_clip_grad_norm_before_torchs_step(name, backend):
    params, curvature, noise = _problem(1)
    theirs = _torch_run(lambda p: TORCH[name](p, 0.0), params, curvature, noise, clip=0.7)
    opt = optimizers.get(name, **OURS[name], clip_norm=0.7)
    ours, _ = _our_run(opt, backend, params, curvature, noise)
    for mine, their in zip(ours, theirs):
        assert_close(mine, their, rtol=1e-12, atol=1e-14)
    unclipped, _ = _our_run(optimizers.get(name, **OURS[name]), backend, params, curvature, noise)
    assert not np.allclose(to_numpy(unclipped[0]), theirs[0])  # the clipping mattered


@pytest.mark.parametrize("name", list(TORCH))
def test_no_decay_on_biases_equals_torchs_parameter_group_without_decay(name, backend):
    params, curvature, noise = _problem(2)

    def groups(tparams):
        return [
            {"params": [p for p in tparams if p.ndim == 2]},
            {"params": [p for p in tparams if p.ndim == 1], "weight_decay": 0.0},
        ]

    theirs = _torch_run(lambda p: TORCH[name](p, 0.1), params, curvature, noise, groups=groups)
    opt = optimizers.get(name, **{**OURS[name], "weight_decay": 0.1}, decay_biases=False)
    ours, _ = _our_run(opt, backend, params, curvature, noise)
    for mine, their in zip(ours, theirs):
        assert_close(mine, their, rtol=1e-12, atol=1e-14)
    # and a flat vector with a mask of its bias coordinates computes the same
    flat = [np.concatenate([p.ravel() for p in params])]
    mask = np.concatenate([np.full(p.size, float(p.ndim == 1)) for p in params])
    a_flat = [np.concatenate([a.ravel() for a in curvature])]
    n_flat = [[np.concatenate([n.ravel() for n in step])] for step in noise]
    (vector,), _ = _our_run(
        opt, backend, flat, a_flat, n_flat, biases=backend.asarray(mask, dtype=backend.xp.float64)
    )
    assert_close(vector, np.concatenate([t.ravel() for t in theirs]), rtol=1e-12, atol=1e-14)


def test_a_scheduled_step_reads_a_device_count_as_it_reads_a_python_one(backend):
    """Inside a captured CUDA graph the count is a float64 device scalar: same numbers."""
    params, curvature, noise = _problem(3, steps=12)
    schedule = schedules.get("warmup_cosine", warmup_steps=4, total_steps=12)
    opt = optimizers.get("adam", lr=0.01, schedule=schedule, clip_norm=1.0)
    python, _ = _our_run(opt, backend, params, curvature, noise)
    f64 = backend.xp.float64
    ours = [backend.asarray(p, dtype=f64) for p in params]
    state = opt.init(ours)
    for step_noise in noise:
        count = backend.xp.asarray(float(state.count), dtype=f64, device=backend.device)
        grads = [
            backend.asarray(a, dtype=f64) * p + backend.asarray(n, dtype=f64)
            for p, a, n in zip(ours, curvature, step_noise)
        ]
        ours, state = opt.step(ours, grads, state._replace(count=count))
    for mine, theirs in zip(ours, python):
        assert_close(mine, to_numpy(theirs), rtol=1e-12, atol=1e-15)


def test_clipping_is_per_member_in_a_stack(numpy_backend):
    """Each member is its own run: its gradient's norm is its own."""
    rng = np.random.default_rng(5)
    w, g = rng.normal(size=(2, 7)), rng.normal(size=(2, 7)) * np.array([[0.1], [10.0]])
    opt = optimizers.get("sgd", lr=0.5, clip_norm=1.0)
    (stack,), _ = opt.step([w], [g], opt.init([w], members=True))
    for k in range(2):
        (single,), _ = opt.step([w[k]], [g[k]], opt.init([w[k]]))
        np.testing.assert_array_equal(stack[k], single)
    assert np.linalg.norm((w - stack)[1]) == pytest.approx(0.5, rel=1e-5)  # clipped to 1
    np.testing.assert_allclose(w[0] - stack[0], 0.5 * g[0])  # below the limit: untouched


def _tiny(n=60, seed=0):
    rng = np.random.default_rng(seed)
    return Dataset(rng.random((n, 6)), rng.integers(0, 3, n), 3)


def test_members_with_different_options_train_as_they_would_alone(numpy_backend):
    """Options split the groups: a scheduled and a constant Adam side by side."""
    data = _tiny()
    cosine = schedules.get("cosine", total_steps=12)
    chosen = [
        optimizers.Adam(lr=0.05),
        optimizers.Adam(lr=0.05, schedule=cosine),
        optimizers.AdamW(lr=0.05, weight_decay=0.1, decay_biases=False),
    ]
    model = MLP([6, 5, 3], seed=[0, 1, 2], dtype="float64")
    trainer = Trainer(model, chosen, data, batch_size=10, seed=[0, 1, 2])
    assert len(trainer.groups) == 3
    trainer.run_epoch()
    trainer.run_epoch()
    for k, opt in enumerate(chosen):
        single = MLP([6, 5, 3], seed=k, dtype="float64")
        alone = Trainer(single, opt, data, batch_size=10, seed=k)
        alone.run_epoch()
        alone.run_epoch()
        np.testing.assert_allclose(model.params[k], single.params, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize(
    "name", ["adamw", "nadamw", "sf_adamw", "prodigy", "lion", "muon", "adafactor"]
)
def test_members_without_decay_on_biases_train_as_they_would_alone(name, numpy_backend):
    """The bias mask over a member stack's flat vector, for plain and coupled rules, and
    for the shape-aware ones (Muon, Adafactor: issue 26 asked whether their biases, found
    by ``ndim == 1``, ignore the member axis; a stack of K equals K single runs)."""
    data = _tiny()
    chosen = [
        optimizers.get(name, lr=lr, weight_decay=0.3, decay_biases=False) for lr in (0.01, 0.02)
    ]
    model = MLP([6, 5, 3], seed=[0, 1], dtype="float64")
    trainer = Trainer(model, chosen, data, batch_size=10, seed=[0, 1])
    trainer.run_epoch()
    for k, opt in enumerate(chosen):
        single = MLP([6, 5, 3], seed=k, dtype="float64")
        Trainer(single, opt, data, batch_size=10, seed=k).run_epoch()
        np.testing.assert_allclose(model.params[k], single.params, rtol=1e-12, atol=1e-14)


def test_no_decay_on_biases_leaves_a_trained_networks_biases_undecayed(numpy_backend):
    """With gradients of zero, only the weight matrices shrink."""
    model = MLP([6, 5, 3], seed=0, dtype="float64")
    before = model.params.copy()
    opt = optimizers.get("adamw", lr=0.1, weight_decay=0.5, decay_biases=False)
    trainer = Trainer(model, opt, _tiny(), batch_size=10)
    state = trainer.groups[0].state
    (after,), _ = opt.step([model.params], [np.zeros_like(model.params)], state)
    bias = model.layout.bias_mask().astype(bool)
    np.testing.assert_array_equal(after[bias], before[bias])
    np.testing.assert_allclose(after[~bias], before[~bias] * (1 - 0.1 * 0.5))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"clip_norm": 0.0}, "clip_norm must be > 0"),
        ({"clip_norm": "big"}, "clip_norm must be a number"),
        ({"decay_biases": "no"}, "decay_biases must be True or False"),
        ({"schedule": "cosine"}, "schedule must be an optimlab.schedules.Schedule"),
    ],
)
def test_impossible_options_are_refused_in_one_sentence(options, message):
    with pytest.raises(ConfigError, match=f"^{message}"):
        optimizers.get("adam", **options)


def test_decay_biases_on_one_flat_vector_needs_to_know_where_the_biases_are():
    opt = optimizers.get("adamw", decay_biases=False)
    with pytest.raises(ConfigError, match=r"needs init\(\.\.\., biases=\)"):
        opt.init([np.zeros(5)])


def test_options_name_the_setting():
    cosine = schedules.get("cosine", total_steps=10)
    opt = optimizers.get("sgd", lr=0.5, schedule=cosine, clip_norm=1.0)
    assert str(opt) == f"sgd (lr=0.5, weight_decay=0, schedule={cosine}, clip_norm=1.0)"
    assert opt == optimizers.get("sgd", lr=0.5, schedule=cosine, clip_norm=1.0)
    assert opt != optimizers.get("sgd", lr=0.5, clip_norm=1.0)
    assert optimizers.get("sgd", schedule=schedules.get("constant")).options == {}


def test_three_kinds_of_optimizer_in_one_pass_equal_their_single_runs(backend):
    """Three groups side by side; on libraries whose arrays cannot change in place (JAX)
    the step joins the groups' rows back into one vector after every step."""
    data = _tiny()
    data = Dataset(backend.asarray(data.images), backend.asarray(data.labels), 3)
    chosen = [optimizers.SGD(lr=0.5), optimizers.Adam(lr=0.05), optimizers.Momentum(lr=0.2)]
    new = lambda seed: MLP(  # noqa: E731
        [6, 5, 3], seed=seed, dtype="float64", xp=backend.xp, device=backend.device
    )
    model = new([0, 1, 2])
    Trainer(model, chosen, data, batch_size=10, seed=[0, 1, 2]).run_epoch()
    for k, opt in enumerate(chosen):
        single = new(k)
        Trainer(single, opt, data, batch_size=10, seed=k).run_epoch()
        assert_close(model.params[k, ...], single.params, rtol=1e-12, atol=1e-14)
