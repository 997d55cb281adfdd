"""The update rules: by hand, against torch.optim, and their validation.

One registry row per optimizer (``CASES``) drives every test here, over every
backend of the matrix: a new optimizer is one row.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

from helpers import assert_close, assert_on
from optimlab import MLP, ConfigError, optimizers
from optimlab.backend import to_numpy


@dataclass
class Case:
    name: str
    hyper: dict[str, float]
    #: torch.optim constructor for these hyper-parameters.
    torch_optim: Any
    #: our state field -> (torch state key, factor): ours == factor * torch's ("lr": the
    #: learning rate; "columns": equal up to each column's sign, an eigenbasis).
    torch_state: dict[str, tuple[str, float]] = field(default_factory=dict)
    #: parameters after one step from W0 with gradient G (worked out by hand below) ...
    one_step: list[float] = field(default_factory=list)
    #: ... and the state's accumulators then.
    first_state: dict[str, list[float]] = field(default_factory=dict)
    #: The oracle's class, whose constructor's defaults must be ours (None for the
    #: report's seven, whose defaults are the report's).
    oracle: Any = None


W0, G = [1.0, -2.0], [0.5, -0.25]

CASES = [
    # w - lr g
    Case(
        "sgd",
        {"lr": 0.1},
        lambda p, h: _torch().optim.SGD(p, lr=h["lr"], weight_decay=_wd(h)),
        one_step=[0.95, -1.975],
    ),
    # v = lr g; w - v
    Case(
        "momentum",
        {"lr": 0.1, "momentum": 0.8},
        lambda p, h: _torch().optim.SGD(p, lr=h["lr"], momentum=h["momentum"], weight_decay=_wd(h)),
        {"velocity": ("momentum_buffer", "lr")},
        one_step=[0.95, -1.975],
        first_state={"velocity": [0.05, -0.025]},
    ),
    # v = lr g; u - (lr g + m v) = u - 1.8 lr g
    Case(
        "nesterov",
        {"lr": 0.1, "momentum": 0.8},
        lambda p, h: _torch().optim.SGD(
            p, lr=h["lr"], momentum=h["momentum"], nesterov=True, weight_decay=_wd(h)
        ),
        {"velocity": ("momentum_buffer", "lr")},
        one_step=[0.91, -1.955],
        first_state={"velocity": [0.05, -0.025]},
    ),
    # G = g^2; w - lr g / |g|  (eps = 1e-10 is below the tolerance)
    Case(
        "adagrad",
        {"lr": 0.1, "eps": 1e-10},
        lambda p, h: _torch().optim.Adagrad(p, lr=h["lr"], eps=h["eps"], weight_decay=_wd(h)),
        {"sum_squares": ("sum", 1.0)},
        one_step=[0.9, -1.9],
        first_state={"sum_squares": [0.25, 0.0625]},
    ),
    # E = 0.1 g^2; w - lr g / (sqrt(0.1) |g|) = w -+ 0.0316227766
    Case(
        "rmsprop",
        {"lr": 0.01, "decay": 0.9, "eps": 1e-10},
        lambda p, h: _torch().optim.RMSprop(
            p, lr=h["lr"], alpha=h["decay"], eps=h["eps"], weight_decay=_wd(h)
        ),
        {"mean_square": ("square_avg", 1.0)},
        one_step=[0.968377223398, -1.968377223398],
        first_state={"mean_square": [0.025, 0.00625]},
    ),
    # E = 0.1 g^2; D = g sqrt(eps) / sqrt(0.1 g^2 + eps): 0.003162214417, -0.003162024708;
    # P = 0.1 D^2
    Case(
        "adadelta",
        {"lr": 1.0, "decay": 0.9, "eps": 1e-6},
        lambda p, h: _torch().optim.Adadelta(
            p, lr=h["lr"], rho=h["decay"], eps=h["eps"], weight_decay=_wd(h)
        ),
        {"mean_square": ("square_avg", 1.0), "mean_square_delta": ("acc_delta", 1.0)},
        one_step=[0.996837785583, -1.996837975292],
        first_state={
            "mean_square": [0.025, 0.00625],
            "mean_square_delta": [9.9996000160e-07, 9.9984002560e-07],
        },
    ),
    # M/(1-b1) = g, N/(1-b2) = g^2; w - lr g / |g|
    Case(
        "adam",
        {"lr": 0.01, "beta1": 0.9, "beta2": 0.999, "eps": 1e-10},
        lambda p, h: _torch().optim.Adam(p, **_torch_adam(h)),
        {"mean": ("exp_avg", 1.0), "mean_square": ("exp_avg_sq", 1.0)},
        one_step=[0.99, -1.99],
        first_state={"mean": [0.05, -0.025], "mean_square": [0.00025, 0.0000625]},
    ),
    # Adam's first step, after w *= 1 - lr wd: 0.999 w - lr sign(g)
    Case(
        "adamw",
        {"lr": 0.01, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.1},
        lambda p, h: _torch().optim.AdamW(p, **_torch_adam(h)),
        {"mean": ("exp_avg", 1.0), "mean_square": ("exp_avg_sq", 1.0)},
        one_step=[0.989, -1.988],
        first_state={"mean": [0.05, -0.025], "mean_square": [0.00025, 0.0000625]},
        oracle=lambda: _torch().optim.AdamW,
    ),
    Case(
        "amsgrad",
        {"lr": 0.01, "beta1": 0.8, "beta2": 0.99, "eps": 1e-8, "weight_decay": 0.05},
        lambda p, h: _torch().optim.Adam(p, amsgrad=True, **_torch_adam(h)),
        {
            "mean": ("exp_avg", 1.0),
            "mean_square": ("exp_avg_sq", 1.0),
            "max_mean_square": ("max_exp_avg_sq", 1.0),
        },
        oracle=lambda: _torch().optim.Adam,
    ),
    Case(
        "nadam",
        {
            "lr": 0.01,
            "beta1": 0.9,
            "beta2": 0.99,
            "eps": 1e-8,
            "weight_decay": 0.05,
            "momentum_decay": 0.01,
        },
        lambda p, h: _torch().optim.NAdam(p, momentum_decay=h["momentum_decay"], **_torch_adam(h)),
        {
            "mean": ("exp_avg", 1.0),
            "mean_square": ("exp_avg_sq", 1.0),
            "mu_product": ("mu_product", 1.0),
        },
        oracle=lambda: _torch().optim.NAdam,
    ),
    Case(
        "nadamw",
        {
            "lr": 0.01,
            "beta1": 0.9,
            "beta2": 0.99,
            "eps": 1e-8,
            "weight_decay": 0.05,
            "momentum_decay": 0.01,
        },
        lambda p, h: _torch().optim.NAdam(
            p, momentum_decay=h["momentum_decay"], decoupled_weight_decay=True, **_torch_adam(h)
        ),
        {
            "mean": ("exp_avg", 1.0),
            "mean_square": ("exp_avg_sq", 1.0),
            "mu_product": ("mu_product", 1.0),
        },
        oracle=lambda: _torch().optim.NAdam,
    ),
    Case(
        "radam",
        {"lr": 0.01, "beta1": 0.9, "beta2": 0.9, "eps": 1e-8, "weight_decay": 0.05},
        lambda p, h: _torch().optim.RAdam(p, **_torch_adam(h)),
        {"mean": ("exp_avg", 1.0), "mean_square": ("exp_avg_sq", 1.0)},
        oracle=lambda: _torch().optim.RAdam,
    ),
    Case(
        "adamax",
        {"lr": 0.01, "beta1": 0.9, "beta2": 0.99, "eps": 1e-8, "weight_decay": 0.05},
        lambda p, h: _torch().optim.Adamax(p, **_torch_adam(h)),
        {"mean": ("exp_avg", 1.0), "max_norm": ("exp_inf", 1.0)},
        oracle=lambda: _torch().optim.Adamax,
    ),
    # w - lr sign(0.1 g); M = 0.01 g
    Case(
        "lion",
        {"lr": 0.01, "beta1": 0.9, "beta2": 0.99, "weight_decay": 0.0},
        lambda p, h: pytest.importorskip("lion_pytorch").Lion(
            p, lr=h["lr"], betas=(h["beta1"], h["beta2"]), weight_decay=h["weight_decay"]
        ),
        {"mean": ("exp_avg", 1.0)},
        one_step=[0.99, -1.99],
        first_state={"mean": [0.005, -0.0025]},
        oracle=lambda: pytest.importorskip("lion_pytorch").Lion,
    ),
    # c = 1 on the first step: y = z = w - (lr / 3) (g + 0.01 w)  (warm-up step 1 of 3)
    Case(
        "sf_sgd",
        {"lr": 0.1, "momentum": 0.8, "weight_decay": 0.01, "warmup_steps": 3.0, "r": 0.5},
        lambda p, h: _GroupOracle(
            p, pytest.importorskip("schedulefree").SGDScheduleFree, _sf_keywords(h)
        ),
        {
            "z": ("z", 1.0),
            **{k: (k, 1.0) for k in ("lr_max", "weight_sum", "scheduled_lr")},
        },
        one_step=[0.983, -1.991],
        first_state={"z": [0.983, -1.991]},
        oracle=lambda: pytest.importorskip("schedulefree").SGDScheduleFree,
    ),
    # y = z = w - lr sign(g) (eps is below the tolerance); N = 0.001 g^2
    Case(
        "sf_adamw",
        {"lr": 0.01, "beta1": 0.8, "beta2": 0.999, "eps": 1e-8, "weight_lr_power": 1.5},
        lambda p, h: _GroupOracle(
            p, pytest.importorskip("schedulefree").AdamWScheduleFree, _sf_keywords(h)
        ),
        {
            "z": ("z", 1.0),
            "exp_avg_sq": ("exp_avg_sq", 1.0),
            **{k: (k, 1.0) for k in ("lr_max", "weight_sum", "scheduled_lr")},
        },
        one_step=[0.99, -1.99],
        first_state={"z": [0.99, -1.99], "exp_avg_sq": [0.00025, 0.0000625]},
        oracle=lambda: pytest.importorskip("schedulefree").AdamWScheduleFree,
    ),
    # d = d0 = 1e-6 stays (d_hat = 0: p0 = w); s = d0 g; M = 0.1 d0 g; N = 0.001 d0^2 g^2;
    # w - 0.01 d0 w - d0 M / (sqrt(N) + d0 eps)
    Case(
        "prodigy",
        {"lr": 1.0, "beta1": 0.9, "beta2": 0.999, "weight_decay": 0.01, "d_coef": 0.8},
        lambda p, h: _GroupOracle(p, pytest.importorskip("prodigyopt").Prodigy, _adam_keys(h)),
        {
            **{k: (k, 1.0) for k in ("s", "p0", "exp_avg", "exp_avg_sq")},
            **{k: (k, 1.0) for k in ("d", "d_max", "d_numerator", "d_hat", "d_denom", "k")},
        },
        one_step=[0.9999968277243397, -1.9999968177263396],
        first_state={
            "s": [5e-7, -2.5e-7],
            "p0": W0,
            "exp_avg": [5e-8, -2.5e-8],
            "exp_avg_sq": [2.5e-16, 6.25e-17],
        },
        oracle=lambda: pytest.importorskip("prodigyopt").Prodigy,
    ),
    Case(
        "adafactor",
        {"lr": 0.05, "beta2_decay": -0.7, "eps2": 1e-3, "d": 1.5, "weight_decay": 0.02},
        lambda p, h: _torch().optim.Adafactor(
            p,
            lr=h["lr"],
            beta2_decay=h["beta2_decay"],
            eps=(None, h["eps2"]),
            d=h["d"],
            weight_decay=h["weight_decay"],
        ),
        # torch keeps row_var and col_var for matrices only, variance for vectors only
        {"row_var": ("row_var", 1.0), "col_var": ("col_var", 1.0), "variance": ("variance", 1.0)},
        oracle=lambda: _torch().optim.Adafactor,
    ),
    # exactly against torch's algorithm in float64 (torch.optim.Muon runs it in bfloat16:
    # tests/test_muon.py compares with it within that rounding)
    Case(
        "muon",
        {"lr": 0.02, "weight_decay": 0.05, "momentum": 0.9, "eps": 1e-7, "adamw_lr": 0.01},
        lambda p, h: _MuonFloat64(p, h),
        {"mean": ("mean", 1.0), "mean_square": ("mean_square", 1.0)},
        oracle=lambda: _torch().optim.Muon,
    ),
    # pytorch_optimizer's (4.1.0): every switch set, the oracle keeps -g as previous_grad
    Case(
        "adan",
        {
            "lr": 0.01,
            "beta1": 0.9,
            "beta2": 0.85,
            "beta3": 0.99,
            "weight_decay": 0.05,
            "weight_decouple": False,
            "eps": 1e-8,
        },
        lambda p, h: _pytorch_optimizer("Adan", p, h, max_grad_norm=0.0, use_gc=False),
        {
            "mean": ("exp_avg", 1.0),
            "mean_diff": ("exp_avg_diff", 1.0),
            "mean_square": ("exp_avg_sq", 1.0),
            "previous_grad": ("previous_grad", -1.0),
        },
        oracle=lambda: pytest.importorskip("pytorch_optimizer").Adan,
    ),
    Case(
        "ademamix",
        {
            "lr": 0.01,
            "beta1": 0.9,
            "beta2": 0.99,
            "beta3": 0.999,
            "weight_decay": 0.05,
            "weight_decouple": True,
            "fixed_decay": False,
            "alpha": 3.0,
            "t_alpha_beta3": 30.0,
            "eps": 1e-8,
        },
        lambda p, h: _pytorch_optimizer("AdEMAMix", p, h),
        {
            "mean": ("exp_avg", 1.0),
            "mean_square": ("exp_avg_sq", 1.0),
            "slow_mean": ("exp_avg_slow", 1.0),
        },
        oracle=lambda: pytest.importorskip("pytorch_optimizer").AdEMAMix,
    ),
    Case(
        "adabelief",
        {
            "lr": 0.01,
            "beta1": 0.9,
            "beta2": 0.99,
            "weight_decay": 0.05,
            "weight_decouple": True,
            "fixed_decay": False,
            "rectify": True,
            "n_sma_threshold": 5.0,
            "degenerated_to_sgd": True,
            "eps": 1e-12,
        },
        lambda p, h: _pytorch_optimizer("AdaBelief", p, h, ams_bound=False),
        {"mean": ("exp_avg", 1.0), "belief": ("exp_avg_var", 1.0)},
        oracle=lambda: pytest.importorskip("pytorch_optimizer").AdaBelief,
    ),
    # no refresh of the bases within 50 steps: its float32 QR decomposition rounds as
    # each library's LAPACK does (test_matrix_optimizers.py compares the refresh)
    Case(
        "soap",
        {
            "lr": 0.01,
            "beta1": 0.9,
            "beta2": 0.95,
            "shampoo_beta": 0.9,
            "weight_decay": 0.02,
            "precondition_frequency": 100,
            "max_precondition_dim": 10000,
            "precondition_1d": False,
            "correct_bias": True,
            "normalize_gradient": False,
            "eps": 1e-8,
        },
        lambda p, h: _SOAPState(p, h),
        {
            "mean": ("exp_avg", 1.0),
            "mean_square": ("exp_avg_sq", 1.0),
            "left": ("GG0", 1.0),
            "right": ("GG1", 1.0),
            "left_basis": ("Q0", "columns"),
            "right_basis": ("Q1", "columns"),
        },
        oracle=lambda: pytest.importorskip("pytorch_optimizer").SOAP,
    ),
]
IDS = [c.name for c in CASES]


def _wd(h):
    return h.get("weight_decay", 0.0)


def _torch_adam(h):
    """torch's Adam-family keywords for our hyper-parameters."""
    keys = {"lr", "eps", "weight_decay"} & set(h)
    return {"betas": (h["beta1"], h["beta2"]), **{k: h[k] for k in keys}}


def _torch():
    return pytest.importorskip("torch", reason="PyTorch is not installed (the oracle)")


def test_registry_covers_every_optimizer():
    assert sorted(optimizers.OPTIMIZERS) == sorted(IDS)


BY_HAND = [c for c in CASES if c.one_step]


@pytest.mark.parametrize("case", BY_HAND, ids=[c.name for c in BY_HAND])
def test_one_step_by_hand(case, backend):
    dtype = backend.xp.float64
    opt = optimizers.get(case.name, **case.hyper)
    params = [backend.asarray(W0, dtype=dtype)]
    state = opt.init(params)
    params, state = opt.step(params, [backend.asarray(G, dtype=dtype)], state)
    assert state.count == 1
    assert_on(backend, params[0], dtype)
    assert_close(params[0], np.array(case.one_step), rtol=1e-9)
    assert set(case.first_state) == set(state.slots)
    for name, expected in case.first_state.items():
        assert_on(backend, getattr(state, name)[0], dtype)
        assert_close(getattr(state, name)[0], np.array(expected), rtol=1e-9)


def _trajectory_inputs(seed=0, steps=50, shapes=((4, 3), (3,), (5,))):
    rng = np.random.default_rng(seed)
    params = [rng.normal(size=s) for s in shapes]
    curvature = [rng.uniform(0.5, 2.0, size=s) for s in shapes]
    centre = [rng.normal(size=s) for s in shapes]
    noise = [[rng.normal(scale=0.3, size=s) for s in shapes] for _ in range(steps)]
    return params, curvature, centre, noise


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_fifty_steps_match_torch_optim(case, backend):
    """Parameters and every state entry equal torch.optim's after 50 steps (float64)."""
    _match_the_oracle(case, case.hyper, backend)


#: Where a random hyper-parameter is drawn, by name: (low, high, log scale).
RANDOM = {
    "lr": (1e-3, 1e-1, True),
    "momentum": (0.0, 0.95, False),
    "decay": (0.5, 0.99, False),
    "beta1": (0.5, 0.95, False),
    "beta2": (0.9, 0.999, False),
    "eps": (1e-10, 1e-6, True),
    "weight_decay": (0.0, 0.1, False),
    "momentum_decay": (0.0, 0.01, False),
    "beta2_decay": (-1.0, -0.5, False),
    "eps2": (1e-4, 1e-2, True),
    "d": (1.0, 2.0, False),
}


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_fifty_steps_match_the_oracle_with_random_hyperparameters(case, seed, numpy_backend):
    """Each hyper-parameter of the table drawn at random (seeded), the others as in the row."""
    rng = np.random.default_rng(seed)
    hyper = dict(case.hyper)
    for name in hyper:
        if name in RANDOM:
            low, high, log = RANDOM[name]
            value = rng.uniform(math.log(low), math.log(high)) if log else rng.uniform(low, high)
            hyper[name] = float(math.exp(value) if log else value)
    _match_the_oracle(case, hyper, numpy_backend)


def _draw_every_hyperparameter(name, seed):
    """Every hyper-parameter of pytorch_optimizer's four drawn at random (seeded),
    switches included; SOAP without a refresh of its bases (see the row) and without
    factors of vectors (a vector's g g^T has a repeated eigenvalue: its eigenbasis is
    each library's own choice)."""
    rng = np.random.default_rng([25, seed])
    log = lambda lo, hi: float(math.exp(rng.uniform(math.log(lo), math.log(hi))))  # noqa: E731
    uniform = lambda lo, hi: float(rng.uniform(lo, hi))  # noqa: E731
    flips = iter(range(8))  # the j-th switch: over seeds 0-3, both values and all pairs
    switch = lambda: bool(((seed >> (next(flips) % 2)) ^ (seed > 3)) & 1)  # noqa: E731
    decay = {"lr": log(1e-3, 0.1), "weight_decay": uniform(0.0, 0.1) * switch()}
    return {**decay, **_DRAWS[name](log, uniform, switch, rng)}


def _draw_adan(log, uniform, switch, rng):
    betas = {"beta1": uniform(0.5, 0.99), "beta2": uniform(0.5, 0.99)}
    return {
        **betas,
        "beta3": uniform(0.9, 0.999),
        "weight_decouple": switch(),
        "eps": log(1e-10, 1e-6),
    }


def _draw_ademamix(log, uniform, switch, rng):
    return {
        "beta1": uniform(0.5, 0.95),
        "beta2": uniform(0.9, 0.999),
        "beta3": uniform(0.99, 0.9999),
        "weight_decouple": switch(),
        "fixed_decay": switch(),
        "alpha": uniform(0.0, 8.0),
        "t_alpha_beta3": uniform(5.0, 80.0) if switch() else 0.0,
        "eps": log(1e-10, 1e-6),
    }


def _draw_adabelief(log, uniform, switch, rng):
    return {
        "beta1": uniform(0.5, 0.95),
        "beta2": uniform(0.9, 0.999),
        "weight_decouple": switch(),
        "fixed_decay": switch(),
        "rectify": switch(),
        "n_sma_threshold": float(rng.integers(4, 9)),
        "degenerated_to_sgd": switch(),
        "eps": log(1e-16, 1e-8),
    }


def _draw_soap(log, uniform, switch, rng):
    return {
        "beta1": uniform(0.5, 0.99),
        "beta2": uniform(0.8, 0.999),
        "shampoo_beta": uniform(0.5, 0.99),
        "precondition_frequency": int(rng.integers(50, 100)),
        "max_precondition_dim": int(rng.choice([3, 4, 10000])),
        "precondition_1d": False,
        "correct_bias": switch(),
        "normalize_gradient": switch(),
        "eps": log(1e-10, 1e-6),
    }


#: pytorch_optimizer's four: how each one's own hyper-parameters are drawn.
_DRAWS = {"adan": _draw_adan, "ademamix": _draw_ademamix, "adabelief": _draw_adabelief,
          "soap": _draw_soap}  # fmt: skip


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("name", list(_DRAWS))
def test_every_hyperparameter_at_random_matches_pytorch_optimizer(name, seed, backend):
    """pytorch_optimizer's four with every hyper-parameter and switch drawn: 50 steps,
    parameters and every state entry at 1e-12; each switch both ways on NumPy, two
    draws on the other backends."""
    if seed > 1 and not backend.name.startswith("numpy"):
        pytest.skip("two draws per backend beyond NumPy")
    (case,) = [c for c in CASES if c.name == name]
    _match_the_oracle(case, _draw_every_hyperparameter(name, seed), backend)


ELEMENTWISE_FOUR = [n for n in _DRAWS if optimizers.OPTIMIZERS[n].elementwise]


def _stepped(name, hyper, backend, members=None, device_count=False, **inputs):
    """Our parameters and state after the noisy quadratic of :func:`_trajectory_inputs`:
    one network (``hyper`` a dict), or a stack of one member per dict of ``members``
    (the same start, gradients and noise); ``device_count``: the count a float64 array."""
    params, curvature, centre, noise = _trajectory_inputs(**inputs)
    f64 = backend.xp.float64
    k = len(members) if members else None
    put = lambda arrays: [  # noqa: E731
        backend.asarray(a if k is None else np.stack([a] * k), dtype=f64) for a in arrays
    ]
    ours, a_, c_ = put(params), put(curvature), put(centre)
    if members:
        chosen = [optimizers.get(name, **h) for h in members]
        opt = chosen[0]
        shared = optimizers.member_hyperparameters(chosen, ours[0])
        state = opt.init(ours, hyperparameters=shared, members=True)
    else:
        opt = optimizers.get(name, **hyper)
        state = opt.init(ours)
    for step_noise in noise:
        if device_count:  # a captured graph's count
            state = state._replace(count=backend.asarray(float(state.count), dtype=f64))
        grads = [a * (p - c) + n for p, a, c, n in zip(ours, a_, c_, put(step_noise))]
        ours, state = opt.step(ours, grads, state)
    return ours, state


def _arrays(stepped):
    ours, state = stepped
    return [*ours, *(a for name in sorted(state.slots) for a in state.slots[name])]


@pytest.mark.parametrize("name", ELEMENTWISE_FOUR)
def test_members_differing_in_every_switch_step_as_each_alone(name, backend):
    """Two members whose every hyper-parameter differs (each switch one way per member,
    so the rule chooses on the device) equal the two runs alone; and a device count
    (a captured CUDA graph's) steps as Python's count."""
    members = [_draw_every_hyperparameter(name, seed) for seed in (0, 3)]
    together = _arrays(_stepped(name, None, backend, members=members, steps=20))
    for k, hyper in enumerate(members):
        for mine, alone in zip(together, _arrays(_stepped(name, hyper, backend, steps=20))):
            assert_close(mine[k, ...], to_numpy(alone), rtol=1e-13, atol=1e-15)
    hyper = members[1]
    device = _stepped(name, hyper, backend, device_count=True, steps=20)
    for mine, python in zip(_arrays(device), _arrays(_stepped(name, hyper, backend, steps=20))):
        assert_close(mine, to_numpy(python), rtol=1e-13, atol=1e-15)


def _oracle_trajectory(case, hyper, **inputs):
    """The oracle's parameters (torch tensors) and optimizer after the noisy quadratic
    ``g = curvature * (w - centre) + noise`` of :func:`_trajectory_inputs`, in float64
    (scalar state such as NAdam's mu_product takes torch's default dtype: float64 too)."""
    torch = _torch()
    params, curvature, centre, noise = _trajectory_inputs(**inputs)
    default = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        tparams = [torch.tensor(p, requires_grad=True) for p in params]
        topt = case.torch_optim(tparams, hyper)
        for step_noise in noise:
            with torch.no_grad():
                for p, a, c, n in zip(tparams, curvature, centre, step_noise):
                    p.grad = torch.tensor(a) * (p - torch.tensor(c)) + torch.tensor(n)
            topt.step()
    finally:
        torch.set_default_dtype(default)
    return tparams, topt


def _match_the_oracle(case, hyper, backend, **inputs):
    tparams, topt = _oracle_trajectory(case, hyper, **inputs)
    ours, state = _stepped(case.name, hyper, backend, **inputs)
    f64 = backend.xp.float64
    assert state.count == inputs.get("steps", 50)
    for mine, theirs in zip(ours, tparams):
        assert_on(backend, mine, f64)
        assert_close(mine, theirs.detach().numpy(), rtol=1e-12, atol=1e-14)
    # a running scalar (NAdam's mu_product) stands for the value torch keeps per array
    entries = {**state.slots, **{k: [v] * len(ours) for k, v in state.scalars.items()}}
    assert set(case.torch_state) == set(entries)
    for field_name, (key, factor) in case.torch_state.items():
        for mine, p in zip(entries[field_name], tparams):
            assert_on(backend, mine, f64)
            if topt.state[p].get(key) is None:  # kept for some arrays only (Adafactor's)
                continue
            if factor == "columns":  # an eigenbasis: each column up to its sign (either
                # is one, the steps do not depend on it, and LAPACKs choose differently)
                theirs = topt.state[p][key].numpy()
                theirs = theirs * np.sign(np.sum(theirs * to_numpy(mine), axis=-2))
                assert_close(mine, theirs, rtol=1e-12, atol=1e-14)
                continue
            scale = hyper["lr"] if factor == "lr" else factor  # our velocity is lr * torch's
            theirs = scale * topt.state[p][key].numpy()  # a scalar for NAdam's mu_product
            assert_close(mine, np.broadcast_to(theirs, mine.shape), rtol=1e-12, atol=1e-14)


def test_nesterov_single_gradient_equals_the_reports_look_ahead_form(numpy_backend):
    """u = w - m v over 50 steps of a real network, where the report's form takes two gradients."""
    lr, m = 0.1, 0.8
    model = MLP([6, 5, 3], seed=3, dtype="float64")
    rng = np.random.default_rng(4)
    batches = [(rng.random((4, 6)), rng.integers(0, 3, 4)) for _ in range(50)]

    # The report's form: v = m v + lr grad(w - m v); w -= v.
    w, v = model.params, np.zeros(model.size)
    for x, y in batches:
        v = m * v + lr * model.gradient(x, y, w - m * v)
        w = w - v

    opt = optimizers.Nesterov(lr=lr, momentum=m)
    (u,), state = [model.params], opt.init([model.params])
    for x, y in batches:
        (u,), state = opt.step([u], [model.gradient(x, y, u)], state)

    np.testing.assert_allclose(u, w - m * v, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(state.velocity[0], v, rtol=1e-10, atol=1e-13)
    assert not np.allclose(u, w)  # the two forms store different points


@pytest.mark.parametrize("case", CASES, ids=IDS)
@pytest.mark.parametrize("dtype_name", ["float32", "float64"])
def test_dtype_and_device_are_kept(case, dtype_name, backend):
    dtype = backend.dtype(dtype_name)
    params = [
        backend.asarray(np.ones((3, 2)), dtype=dtype),
        backend.asarray(np.ones(2), dtype=dtype),
    ]
    grads = [p * 0.5 for p in params]
    opt = optimizers.get(case.name, **case.hyper)
    state = opt.init(params)
    for _ in range(2):
        params, state = opt.step(params, grads, state)
    for array in [*params, *(a for slot in state.slots.values() for a in slot)]:
        assert_on(backend, array, dtype)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_step_leaves_its_arguments_alone_unless_inplace(case, backend):
    f64 = backend.xp.float64
    opt = optimizers.get(case.name, **case.hyper)
    params = [backend.asarray(W0, dtype=f64)]
    grads = [backend.asarray(G, dtype=f64)]
    state = opt.init(params)
    for _ in range(2):  # the second step starts from a state that is not zero
        params, state = opt.step(params, grads, state)
    before = [
        to_numpy(a).copy() for a in [*params, *(a for slot in state.slots.values() for a in slot)]
    ]
    pure_params, pure_state = opt.step(params, grads, state)
    after = [to_numpy(a) for a in [*params, *(a for slot in state.slots.values() for a in slot)]]
    for b, a in zip(before, after):
        np.testing.assert_array_equal(a, b)
    fast_params, fast_state = opt.step(params, grads, state, inplace=True)
    assert_close(fast_params[0], pure_params[0], rtol=0)
    for name in state.slots:
        assert_close(getattr(fast_state, name)[0], getattr(pure_state, name)[0], rtol=0)
    assert fast_state.count == pure_state.count == 3


REPORT_DEFAULTS = {  # DESIGN.md's table of the report's settings
    "sgd": {"lr": 1.0},
    "momentum": {"lr": 0.1, "momentum": 0.8},
    "nesterov": {"lr": 0.1, "momentum": 0.8},
    "adagrad": {"lr": 0.1, "eps": 1e-10},
    "rmsprop": {"lr": 0.001, "decay": 0.9, "eps": 1e-10},
    "adadelta": {"lr": 100.0, "decay": 0.9, "eps": 1e-10},
    "adam": {"lr": 0.01, "beta1": 0.9, "beta2": 0.999, "eps": 1e-10},
}


@pytest.mark.parametrize("name", list(REPORT_DEFAULTS))
def test_defaults_are_the_reports(name):
    # the report had no weight decay: torch's default, 0
    expected = {**REPORT_DEFAULTS[name], "weight_decay": 0.0}
    assert optimizers.get(name).hyperparameters == expected


def test_the_report_names_its_seven():
    assert optimizers.REPORT == tuple(REPORT_DEFAULTS)


def _oracle_defaults(case):
    """The oracle constructor's defaults, in our names (betas split)."""
    import inspect

    oracle = case.oracle()
    found = {k: v.default for k, v in inspect.signature(oracle).parameters.items()}
    if "betas" in found:  # two or three (pytorch_optimizer's Adan and AdEMAMix)
        for i, beta in enumerate(found.pop("betas")):
            found[f"beta{i + 1}"] = beta
    if "t_alpha_beta3" in found and found["t_alpha_beta3"] is None:  # AdEMAMix's: none
        found["t_alpha_beta3"] = 0.0
    if "shampoo_beta" in found and found["shampoo_beta"] is None:  # SOAP's None: beta2
        found["shampoo_beta"] = found["beta2"]
    if "ns_coefficients" in found:  # Muon's (a, b, c); its AdamW's rate is ours alone
        found["ns_a"], found["ns_b"], found["ns_c"] = found.pop("ns_coefficients")
        found["adamw_lr"] = 1e-3
    if "eps" in found and isinstance(found["eps"], tuple):  # Adafactor's (None, eps2)
        found["eps2"] = found.pop("eps")[1]
    if "beta3" in found and found["beta3"] is None:  # Prodigy's None: sqrt(beta2)
        found["beta3"] = math.sqrt(found["beta2"])
    return {k: found[k] for k in optimizers.defaults(case.name)}


WITH_ORACLE = [c for c in CASES if c.oracle is not None]


@pytest.mark.parametrize("case", WITH_ORACLE, ids=[c.name for c in WITH_ORACLE])
def test_defaults_are_the_oracles(case):
    assert optimizers.get(case.name).hyperparameters == _oracle_defaults(case)


def test_every_optimizer_after_the_reports_seven_has_an_oracle_class():
    assert {c.name for c in WITH_ORACLE} == set(IDS) - set(REPORT_DEFAULTS)


BAD_VALUES = {
    "lr": [-0.1, math.nan, math.inf, "fast"],
    "momentum": [-0.1, 1.0, 1.5, math.nan],
    "decay": [-0.1, 1.0, math.nan],
    "beta1": [-0.1, 1.0, math.inf],
    "beta2": [-1e-3, 1.0, math.nan],
    "eps": [0.0, -1e-8, math.nan],
    "weight_decay": [-0.1, math.inf, True],
    "momentum_decay": [-1e-3, math.nan],
    "warmup_steps": [-1.0, math.nan, math.inf],
    "r": [math.nan, math.inf, "high"],
    "weight_lr_power": [-0.5, math.nan],
    "beta3": [-0.1, 1.0, math.nan],
    "decouple": [2, "yes", None],
    "use_bias_correction": [0.5, "no"],
    "safeguard_warmup": [-1.0, math.nan, None],
    "d0": [0.0, -1e-6, math.inf],
    "d_coef": [0.0, -1.0, math.nan],
    "growth_rate": [0.0, -1.0, math.nan, -math.inf],
    "beta2_decay": [0.1, math.nan, "slow"],
    "eps2": [-1e-3, math.nan],
    "d": [0.5, -1.0, math.nan],
    "nesterov": [2, "yes", None],
    "ns_a": [math.nan, "big"],
    "ns_b": [math.inf],
    "ns_c": [math.nan],
    "ns_steps": [0, 2.5, 100, math.nan],
    "adamw_lr": [-0.1, math.nan],
    "weight_decouple": [2, "yes", None],
    "fixed_decay": [0.5, "no"],
    "alpha": [-1.0, math.nan],
    "t_alpha_beta3": [-5.0, math.nan, "long"],
    "rectify": [2, "yes"],
    "n_sma_threshold": [3.0, math.nan, "five"],
    "degenerated_to_sgd": [-1.0, None],
    "shampoo_beta": [-0.1, 1.0, math.nan],
    "precondition_frequency": [0, 2.5, math.nan],
    "max_precondition_dim": [0, 1.5, math.inf],
    "precondition_1d": [2, "yes"],
    "correct_bias": [0.5, None],
    "normalize_gradient": [3, "no"],
}


@pytest.mark.parametrize(
    ("name", "param", "value"),
    [(n, p, v) for n in IDS for p in optimizers.defaults(n) for v in BAD_VALUES[p]],
)
def test_impossible_hyperparameter_raises_value_error_naming_it(name, param, value):
    with pytest.raises(ValueError, match=rf"^{param} must") as info:
        optimizers.get(name, **{param: value})
    assert isinstance(info.value, ConfigError)


def test_unknown_optimizer_lists_the_valid_names():
    with pytest.raises(ConfigError, match="unknown optimizer 'adamv'") as info:
        optimizers.get("adamv")
    for name in IDS:
        assert name in str(info.value)


def test_unknown_hyperparameter_lists_the_optimizers_own():
    with pytest.raises(
        ConfigError, match=r"adam has no hyper-parameter 'momentum'.*lr, beta1, beta2, eps"
    ):
        optimizers.get("adam", momentum=0.9)


# -- oracles that keep running values per parameter group (Schedule-Free, Prodigy) ------


def _sf_keywords(h):
    """schedulefree's keywords for our hyper-parameters (betas joined, an int warm-up)."""
    out = {k: v for k, v in h.items() if k not in ("beta1", "beta2", "warmup_steps")}
    if "beta1" in h:
        out["betas"] = (h["beta1"], h["beta2"])
    return {**out, "warmup_steps": int(h.get("warmup_steps", 0))}


def _adam_keys(h):
    """Keywords with ``betas`` joined from ``beta1``/``beta2``, the others as given."""
    out = {k: v for k, v in h.items() if k not in ("beta1", "beta2")}
    return {**out, "betas": (h["beta1"], h["beta2"])}


class _GroupOracle:
    """An oracle as the table reads one: ``step()``, and ``state[p][key]`` holding its
    per-array state in the parameters' shapes (Prodigy keeps ``s`` and ``p0`` flat) and
    its parameter group's running values (``lr_max``, ``d``, ...). A Schedule-Free
    oracle is put in train mode, where its parameters are ``y``."""

    def __init__(self, params, cls, keywords):
        self.params = list(params)
        self.optimizer = cls(self.params, **keywords)
        if hasattr(self.optimizer, "train"):
            self.optimizer.train()

    def step(self):
        self.optimizer.step()

    @property
    def state(self):
        torch = _torch()
        group = self.optimizer.param_groups[0]
        scalars = {
            k: torch.tensor(float(v), dtype=torch.float64)
            for k, v in group.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool)
        }
        out = {}
        for p in self.params:
            entries = dict(scalars)
            for k, v in self.optimizer.state[p].items():
                if isinstance(v, torch.Tensor):
                    entries[k] = v.reshape(p.shape) if v.numel() == p.numel() else v
            out[p] = entries
        return out


def _pytorch_optimizer(name, params, h, **fixed):
    """pytorch_optimizer's class ``name`` (the oracle of adan, ademamix, adabelief and
    soap) with our hyper-parameters (``betas`` joined) and every other switch set:
    ``fixed``, not maximizing; AdaBelief's n_sma_threshold an int, AdEMAMix's
    t_alpha_beta3 None for our 0."""
    module = pytest.importorskip("pytorch_optimizer", reason="pytorch-optimizer is not installed")
    keys = {k: v for k, v in h.items() if not k.startswith("beta")}
    if "n_sma_threshold" in keys:
        keys["n_sma_threshold"] = int(keys["n_sma_threshold"])
    if keys.get("t_alpha_beta3") == 0.0:  # our 0 is its None: no warm-up
        keys["t_alpha_beta3"] = None
    betas = tuple(h[k] for k in ("beta1", "beta2", "beta3") if k in h)
    return getattr(module, name)(params, betas=betas, maximize=False, **keys, **fixed)


class _SOAPState:
    """pytorch_optimizer.SOAP with its per-array lists (``GG``, ``Q``) as the table reads
    them: ``GG0``, ``GG1``, ``Q0``, ``Q1`` where the array keeps that factor."""

    def __init__(self, params, h):
        self.optimizer = _pytorch_optimizer(
            "SOAP", params, h, merge_dims=False, data_format="channels_first"
        )

    def step(self):
        self.optimizer.step()

    @property
    def state(self):
        out = {}
        for p, entries in self.optimizer.state.items():
            mine = {k: entries[k] for k in ("exp_avg", "exp_avg_sq")}
            for key in ("GG", "Q"):
                for i, a in enumerate(entries[key]):
                    if len(a):
                        mine[f"{key}{i}"] = a
            out[p] = mine
        return out


class _MuonFloat64:
    """torch.optim.Muon's algorithm (torch/optim/_muon.py) transcribed in float64, with
    torch.optim.AdamW on the parameters that are not matrices: the exact oracle."""

    def __init__(self, params, h):
        torch = _torch()
        self.h = {"nesterov": True, "ns_a": 3.4445, "ns_b": -4.775, "ns_c": 2.0315, **h}
        self.h.setdefault("ns_steps", 5)
        self.matrices = [p for p in params if p.ndim == 2]
        others = [p for p in params if p.ndim != 2]
        self.adamw = torch.optim.AdamW(
            others, lr=h["adamw_lr"], betas=(0.9, 0.999), eps=1e-8, weight_decay=h["weight_decay"]
        )
        self.buffers = {p: torch.zeros_like(p) for p in self.matrices}

    @property
    def state(self):
        out = {p: {"mean": b} for p, b in self.buffers.items()}
        for p, s in self.adamw.state.items():
            out[p] = {"mean": s["exp_avg"], "mean_square": s["exp_avg_sq"]}
        return out

    def step(self):
        torch, h = _torch(), self.h
        with torch.no_grad():
            for p in self.matrices:
                buf, grad = self.buffers[p], p.grad
                buf.lerp_(grad, 1 - h["momentum"])
                update = grad.lerp(buf, h["momentum"]) if h["nesterov"] else buf
                x = update.T if grad.size(0) > grad.size(1) else update.clone()
                x = x / x.norm().clamp(min=h["eps"])
                for _ in range(h["ns_steps"]):
                    gram = x @ x.T
                    gram_update = torch.addmm(gram, gram, gram, beta=h["ns_b"], alpha=h["ns_c"])
                    x = torch.addmm(x, gram_update, x, beta=h["ns_a"])
                if grad.size(0) > grad.size(1):
                    x = x.T
                a, b = p.shape[:2]
                p.mul_(1 - h["lr"] * h["weight_decay"])
                p.add_(x, alpha=-h["lr"] * math.sqrt(max(1, a / b)))
        self.adamw.step()
