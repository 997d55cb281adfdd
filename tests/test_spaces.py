"""Search spaces: every learning-rate grid has the same density, every range holds the
literature's values (typed here with their sources), and the quasi-random search varies
every dimension of every optimizer, within its range, reproducibly by seed."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest

from optimlab import optimizers
from optimlab.benchmark import spaces

# ---------------------------------------------------------------- the literature's values

#: DeepOBS's suggested learning-rate range (Schneider, Balles & Hennig 2019, section 4).
DEEPOBS_LR = (1e-5, 1e2)
#: AlgoPerf's external-tuning search spaces (Dahl et al. 2023; mlcommons/algorithmic-
#: efficiency, reference_algorithms/paper_baselines/<rule>/tuning_search_space.json).
ALGOPERF_ADAMW_LR = (1e-4, 1e-2)  # adamw, nadamw (and lamb)
ALGOPERF_NESTEROV_LR = (2e-2, 5.0)
ALGOPERF_ADAFACTOR_LR = (1e-4, 1e-2)
ALGOPERF_ONE_MINUS_BETA1 = {  # 1 - beta1 (Nesterov's: 1 - momentum), log scale
    "adamw": (2e-2, 0.5),
    "nadamw": (4e-3, 0.1),
    "nesterov": (5e-3, 0.3),
    "adafactor": (1e-2, 0.45),
    "lamb": (5e-2, 0.3),
}
ALGOPERF_DECOUPLED_DECAY = {"adamw": (5e-3, 1.0), "nadamw": (5e-3, 1.0), "adafactor": (1e-3, 1.0)}
ALGOPERF_NESTEROV_L2 = (1e-7, 5e-5)  # added to the gradient
#: The L2 decay of ResNets: 1e-4 on ImageNet, 5e-4 on CIFAR-10 (He et al. 2016).
RESNET_L2 = (1e-4, 5e-4)
#: Kingma & Ba (2015), section 6.4: beta2 in {0.99, 0.999, 0.9999}.
ADAM_BETA2 = (0.99, 0.999, 0.9999)
#: Chen et al. (2023), Lion: its rate 3-10x smaller than AdamW's, its decay 3-10x larger.
LION_FACTOR = (3.0, 10.0)

#: How each rule applies its weight decay (read from its class): scaled by the rate
#: (``w *= 1 - lr * wd``, or Adan's ``w /= 1 + lr * wd``), or as L2 in the gradient.
DECOUPLED = {
    "adamw", "nadamw", "sf_adamw", "soap", "muon", "adafactor", "adan", "adabelief", "prodigy",
}  # fmt: skip
L2 = {
    "sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adadelta", "adam", "amsgrad",
    "nadam", "radam", "adamax", "ademamix", "sf_sgd",
}  # fmt: skip
ADAM_FAMILY = {
    "adam", "adamw", "amsgrad", "nadam", "nadamw", "radam", "adamax", "sf_adamw", "adan",
    "ademamix", "adabelief", "soap", "rmsprop",
}  # fmt: skip
SGD_FAMILY = {"sgd", "momentum", "nesterov", "adagrad", "sf_sgd"}


def _dims(name):
    return {d.name: d for d in spaces.space(name)}


def _contains(dimension, low, high):
    return _between(dimension.low, 0.0, low) and _between(high, 0.0, dimension.high)


def _between(value, low, high):
    """``low <= value <= high``, but for rounding (1e-5 / 10 is 1.0000000000000002e-06)."""
    return low * (1 - 1e-9) <= value <= high * (1 + 1e-9)


# ---------------------------------------------------------------- the grid's density


@pytest.mark.parametrize("points", [2, 3, 8, 13])
def test_every_grid_has_the_same_points_per_decade(points):
    """Measured on the grids themselves: (points - 1) steps over the decades they span."""
    density = {}
    for name in optimizers.OPTIMIZERS:
        lrs = [g["lr"] for g in spaces.grid(name, points)]
        assert len(lrs) == points and lrs == sorted(lrs)
        steps = np.diff(np.log10(lrs))
        np.testing.assert_allclose(steps, steps[0], rtol=1e-4)  # log-spaced
        density[name] = (points - 1) / math.log10(lrs[-1] / lrs[0])
    assert max(density.values()) == pytest.approx(min(density.values()), rel=1e-4), density
    # four decades: the default --grid 8 gives 7 steps over 4 decades, 1.75 per decade
    assert density["adam"] == pytest.approx((points - 1) / 4, rel=1e-4)


def test_the_default_grid_is_1_75_steps_per_decade():
    lrs = [g["lr"] for g in spaces.grid("sgd", 8)]
    assert lrs[0] == 1e-3 and lrs[-1] == 10.0
    assert lrs[1] / lrs[0] == pytest.approx(10 ** (4 / 7), rel=1e-5)  # about 3.73x


def test_a_space_without_a_declaration_spans_as_many_decades():
    class Undeclared(optimizers.Optimizer):
        name = "undeclared_for_spaces"
        slots = ()

        def __init__(self, lr=0.02, **options):
            super().__init__(**options)
            self.lr = lr

    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(optimizers.OPTIMIZERS, Undeclared.name, Undeclared)
        (lr,) = spaces.space(Undeclared.name)
    assert (lr.low, lr.high) == pytest.approx((2e-4, 2.0))


# ---------------------------------------------------------------- ranges against sources


def test_learning_rate_ranges_hold_the_published_ones():
    for name in ADAM_FAMILY:
        lr = _dims(name)["lr"]
        assert _contains(lr, *ALGOPERF_ADAMW_LR), name
        # centred on AlgoPerf's range (and Kingma & Ba's 1e-3)
        assert math.sqrt(lr.low * lr.high) == pytest.approx(1e-3), name
    for name in SGD_FAMILY:
        assert _contains(_dims(name)["lr"], *ALGOPERF_NESTEROV_LR), name
    assert _contains(_dims("adafactor")["lr"], *ALGOPERF_ADAFACTOR_LR)
    lion, adamw = _dims("lion")["lr"], _dims("adamw")["lr"]
    assert _between(adamw.low / lion.low, *LION_FACTOR)
    assert _between(adamw.high / lion.high, *LION_FACTOR)
    # within DeepOBS's range, but for Lion's (a tenth of AdamW's) and AdaDelta's (a
    # multiplier of Zeiler's unit step, whose default here is the report's 100)
    for name in set(optimizers.OPTIMIZERS) - {"lion", "adadelta"}:
        lr = _dims(name)["lr"]
        assert DEEPOBS_LR[0] <= lr.low and lr.high <= DEEPOBS_LR[1], name


def test_momentum_and_beta1_span_algoperfs_ranges_of_one_minus_beta1():
    low = min(lo for lo, _ in ALGOPERF_ONE_MINUS_BETA1.values())
    high = max(hi for _, hi in ALGOPERF_ONE_MINUS_BETA1.values())
    searched = 0
    for name, cls in optimizers.OPTIMIZERS.items():
        for key in ("momentum", "beta1"):
            if key not in cls.declared or name == "adan":  # Adan: its paper's 0.98 (below)
                continue
            d = _dims(name)[key]  # declared: then searched
            assert d.scale == "log1m", (name, key)
            assert (1 - d.high, 1 - d.low) == pytest.approx((low, high)), (name, key)
            searched += 1
    assert searched >= 17
    beta1 = _dims("adan")["beta1"]
    assert beta1.low < 0.98 < beta1.high  # Xie et al. (2022)


def test_beta2_holds_kingma_and_bas_sweep():
    for name in ADAM_FAMILY - {"rmsprop", "adan", "soap"}:
        beta2 = _dims(name)["beta2"]
        assert (beta2.low, beta2.high) == (ADAM_BETA2[0], ADAM_BETA2[-1]), name
        assert beta2.at(0.5) == pytest.approx(ADAM_BETA2[1])  # the middle of the log1m scale


def test_rmsprop_and_adadelta_tune_their_decay():
    # Tieleman & Hinton (2012): 0.9; torch's RMSprop: 0.99; Zeiler (2012): 0.95
    for name in ("rmsprop", "adadelta"):
        decay = _dims(name)["decay"]
        assert decay.low <= 0.9 and 0.99 <= decay.high and decay.scale == "log1m"


def test_every_weight_decay_is_tuned_over_the_range_of_its_kind():
    with_decay = {n for n, cls in optimizers.OPTIMIZERS.items() if "weight_decay" in cls.declared}
    assert with_decay == DECOUPLED | L2 | {"lion"}
    for name in DECOUPLED:
        wd = _dims(name)["weight_decay"]
        assert wd.scale == "log" and wd.low <= 1e-5, name  # small enough to do nothing
        for low, high in ALGOPERF_DECOUPLED_DECAY.values():
            assert _contains(wd, low, high), name
    for name in L2:
        wd = _dims(name)["weight_decay"]
        assert wd.scale == "log" and _contains(wd, *ALGOPERF_NESTEROV_L2), name
        assert _contains(wd, *RESNET_L2), name
    lion, adamw = _dims("lion")["weight_decay"], _dims("adamw")["weight_decay"]
    assert _between(lion.low / adamw.low, *LION_FACTOR)
    assert _between(lion.high / adamw.high, *LION_FACTOR)
    # Muon's default (0.1: Liu et al. 2025, Moonlight) decided its place untuned
    assert _dims("muon")["weight_decay"].low < 0.1 < _dims("muon")["weight_decay"].high


def test_every_default_lies_in_its_range():
    for name in optimizers.OPTIMIZERS:
        defaults = optimizers.defaults(name)
        for d in spaces.space(name):
            value = defaults[d.name]
            if d.name == "weight_decay" and value == 0.0:
                continue  # no decay: below any log range, and next to its low end
            assert d.low <= value <= d.high, (name, d.name, value)


# ---------------------------------------------------------------- the quasi-random search


def _unit(d, values):
    """The values back on [0, 1] of the range (the inverse of ``Dimension.at``)."""
    f = {"log": np.log, "linear": lambda x: x, "log1m": lambda x: np.log1p(-np.asarray(x))}
    f = f[d.scale]
    return (f(np.asarray(values)) - f(d.low)) / (f(d.high) - f(d.low))


MULTI = [n for n in optimizers.OPTIMIZERS if len(spaces.space(n)) >= 2]


@pytest.mark.parametrize("name", MULTI)
@pytest.mark.parametrize("budget", [2, 3, 8])
def test_every_dimension_varies_within_its_range(name, budget):
    points = spaces.random(name, budget, seed=0)
    assert len(points) == budget
    for d in spaces.space(name):
        values = [p[d.name] for p in points]
        assert len(set(values)) >= 2, (d.name, values)
        assert all(d.low <= v <= d.high for v in values), (d.name, values)
        # evenly spread: at most one point in each 1/4 (budgets 2, 3) or 1/8 of the range
        strata = np.floor(_unit(d, values) * (4 if budget < 8 else 8)).astype(int)
        assert len(set(strata)) == budget, (d.name, values)
    assert spaces.random(name, budget, seed=0) == points
    other = spaces.random(name, budget, seed=1)
    for d in spaces.space(name):
        assert [p[d.name] for p in other] != [p[d.name] for p in points], d.name


def test_sixteen_trials_fill_every_sixteenth_of_every_range():
    for seed in (0, 7):
        points = spaces.random("ademamix", 16, seed=seed)  # six dimensions
        for d in spaces.space("ademamix"):
            u = _unit(d, [p[d.name] for p in points])
            assert sorted(np.floor(u * 16).astype(int)) == list(range(16)), d.name


def test_a_random_search_on_a_2d_function_draws_from_its_centred_space():
    centred = spaces.space("adam", "rosenbrock")
    points = spaces.random("adam", 8, seed=3, problem="rosenbrock")
    for d in centred:
        assert all(d.low <= p[d.name] <= d.high for p in points)
    assert centred[0] != spaces.space("adam")[0]


def test_the_grid_and_the_space_need_no_scipy():
    """Importing scipy.stats takes half a second: only a random search pays it."""
    code = (
        "import sys\n"
        "from optimlab.benchmark import spaces\n"
        "spaces.grid('adam', 8); spaces.space('muon')\n"
        "assert 'scipy.stats' not in sys.modules\n"
        "spaces.random('adam', 2, 0)\n"
        "assert 'scipy.stats' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
