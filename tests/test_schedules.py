"""Learning-rate schedules: torch's schedulers and the formulas as oracles, every backend.

One registry, :data:`ROWS`, lists each schedule with several argument sets; the
oracle tests, the backend-parity tests and the naming tests all run over it, so a
new row is tested everywhere.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import assert_close, assert_on
from optimlab import schedules
from optimlab.errors import ConfigError
from optimlab.schedules import (
    SCHEDULES,
    WSD,
    Constant,
    Cosine,
    Exponential,
    Linear,
    MultiStep,
    OneCycle,
    Step,
    WarmupCosine,
    get,
    parse,
)

STEPS = 200  # the oracle tests compare s(0), ..., s(199)

#: (name, arguments): every schedule, several argument sets each.
ROWS = [
    ("constant", {}),
    ("step", {"step_size": 1}),
    ("step", {"step_size": 7}),
    ("step", {"step_size": 30, "gamma": 0.5}),
    ("multistep", {"milestones": [10, 50, 120]}),
    ("multistep", {"milestones": [30, 30, 80], "gamma": 0.5}),
    ("multistep", {"milestones": [1, 199], "gamma": 0.9}),
    ("exponential", {"gamma": 0.95}),
    ("exponential", {"gamma": 0.999}),
    ("exponential", {"gamma": 1.0}),
    ("cosine", {"total_steps": 199}),
    ("cosine", {"total_steps": 50, "min_factor": 0.1}),
    ("cosine", {"total_steps": 137, "min_factor": 0.01}),
    ("cosine", {"total_steps": 1000}),
    ("cosine", {"total_steps": 1}),
    ("linear", {}),
    ("linear", {"start_factor": 0.05, "total_steps": 40}),
    ("linear", {"start_factor": 1.0, "end_factor": 0.0, "total_steps": 150}),
    ("linear", {"start_factor": 0.5, "end_factor": 0.25, "total_steps": 300}),
    ("one_cycle", {"total_steps": 200}),
    ("one_cycle", {"total_steps": 100, "pct_start": 0.25, "div_factor": 10.0}),
    ("one_cycle", {"total_steps": 150, "final_div_factor": 100.0, "pct_start": 0.5}),
    ("one_cycle", {"total_steps": 7}),
    ("one_cycle", {"total_steps": 3}),  # the rise ends before the first update
    ("one_cycle", {"total_steps": 150, "pct_start": 0.0}),
    ("one_cycle", {"total_steps": 120, "pct_start": 1.0}),
    ("warmup_cosine", {"warmup_steps": 10, "total_steps": 150}),
    ("warmup_cosine", {"warmup_steps": 1, "total_steps": 2, "min_factor": 0.5}),
    ("warmup_cosine", {"warmup_steps": 0, "total_steps": 120, "min_factor": 0.1}),
    ("warmup_cosine", {"warmup_steps": 37, "total_steps": 500, "min_factor": 0.01}),
    ("wsd", {"warmup_steps": 10, "decay_steps": 50, "total_steps": 180}),
    ("wsd", {"warmup_steps": 0, "decay_steps": 1, "total_steps": 100, "shape": "sqrt"}),
    ("wsd", {"warmup_steps": 20, "decay_steps": 80, "total_steps": 100, "shape": "sqrt"}),
    ("wsd", {"warmup_steps": 5, "decay_steps": 300, "total_steps": 400}),
]


def _id(row):
    name, kwargs = row
    return f"{name}({','.join(f'{k}={v}' for k, v in kwargs.items())})"


def _rows(*names):
    return [pytest.param(*row, id=_id(row)) for row in ROWS if not names or row[0] in names]


# -- the oracles ----------------------------------------------------------------------------


def _torch_scheduler(name, kwargs, optimizer):
    lr_scheduler = pytest.importorskip("torch.optim.lr_scheduler")
    a = dict(kwargs)
    if name == "step":
        return lr_scheduler.StepLR(optimizer, **a)
    if name == "multistep":
        return lr_scheduler.MultiStepLR(optimizer, **a)
    if name == "exponential":
        return lr_scheduler.ExponentialLR(optimizer, **a)
    if name == "cosine":
        return lr_scheduler.CosineAnnealingLR(
            optimizer, T_max=a["total_steps"], eta_min=a.get("min_factor", 0.0)
        )
    if name == "linear":
        if "total_steps" in a:
            a["total_iters"] = a.pop("total_steps")
        return lr_scheduler.LinearLR(optimizer, **a)
    if name == "one_cycle":
        return lr_scheduler.OneCycleLR(
            optimizer,
            max_lr=1.0,
            total_steps=a["total_steps"],
            pct_start=float(a.get("pct_start", 0.3)),
            div_factor=a.get("div_factor", 25.0),
            final_div_factor=a.get("final_div_factor", 1e4),
            anneal_strategy="cos",
            cycle_momentum=False,
            three_phase=False,
        )
    raise AssertionError(name)


def torch_multipliers(name, kwargs, steps):
    """The learning rate of torch's updates 1, ..., ``steps`` with base lr 1 (float64)."""
    torch = pytest.importorskip("torch", reason="PyTorch is not installed: the oracle")
    p = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.SGD([p], lr=1.0)
    scheduler = _torch_scheduler(name, kwargs, optimizer)
    rates = [scheduler.get_last_lr()[0]]  # the rate of update 1
    while len(rates) < steps:
        assert optimizer.param_groups[0]["lr"] == rates[-1]
        p.grad = torch.ones_like(p)
        optimizer.step()
        scheduler.step()
        rates.append(scheduler.get_last_lr()[0])  # the rate of the next update
    return rates


def warmup_cosine_formula(t, warmup_steps, total_steps, min_factor=0.0):
    if t < warmup_steps:
        return t / warmup_steps
    if t >= total_steps:
        return min_factor
    x = (t - warmup_steps) / (total_steps - warmup_steps)
    return min_factor + (1 - min_factor) * (1 + math.cos(math.pi * x)) / 2


def wsd_formula(t, warmup_steps, decay_steps, total_steps, shape="linear"):
    if t < warmup_steps:
        return t / warmup_steps
    if t < total_steps - decay_steps:
        return 1.0
    x = min(1.0, (t - (total_steps - decay_steps)) / decay_steps)
    return 1 - (math.sqrt(x) if shape == "sqrt" else x)


@pytest.mark.parametrize(("name", "kwargs"), _rows("step", "multistep", "exponential", "linear"))
def test_equal_to_torch(name, kwargs):
    s = get(name, **kwargs)
    ours = [s(t) for t in range(STEPS)]
    assert all(type(v) is float for v in ours)
    np.testing.assert_allclose(ours, torch_multipliers(name, kwargs, STEPS), rtol=1e-12, atol=0)


@pytest.mark.parametrize(("name", "kwargs"), _rows("cosine"))
def test_cosine_equals_torch_then_holds(name, kwargs):
    """torch's closed form is periodic after T_max; the schedule holds min_factor there."""
    s = get(name, **kwargs)
    total, floor = kwargs["total_steps"], kwargs.get("min_factor", 0.0)
    horizon = min(STEPS, total + 1)  # t <= total_steps
    ours = [s(t) for t in range(horizon)]
    np.testing.assert_allclose(ours, torch_multipliers(name, kwargs, horizon), rtol=1e-12, atol=0)
    assert s(total) == floor
    assert [s(t) for t in (total + 1, 2 * total, 3 * total + 1, 10**9)] == [floor] * 4


@pytest.mark.parametrize(("name", "kwargs"), _rows("one_cycle"))
def test_one_cycle_equals_torch_then_holds(name, kwargs):
    """torch refuses to go past its total_steps; the schedule holds its last value."""
    s = get(name, **kwargs)
    total = kwargs["total_steps"]
    horizon = min(STEPS, total)  # torch's updates 1, ..., total_steps
    ours = [s(t) for t in range(horizon)]
    np.testing.assert_allclose(ours, torch_multipliers(name, kwargs, horizon), rtol=1e-12, atol=0)
    last = s(total - 1)
    assert [s(t) for t in (total, total + 1, 10**9)] == [last] * 3
    if kwargs.get("pct_start", 0.3) < 1:
        final = 1 / kwargs.get("div_factor", 25.0) / kwargs.get("final_div_factor", 1e4)
        assert last == pytest.approx(final, rel=1e-15)


def test_one_cycle_whose_rise_ends_at_zero():
    """pct_start * total_steps == 1: torch divides 0 by 0; the fall starts at once."""
    s = OneCycle(total_steps=10, pct_start=0.1)
    z = 1 / 25 / 1e4
    fall = [z + (1 - z) / 2 * (math.cos(math.pi * t / 9) + 1) for t in range(10)]
    np.testing.assert_allclose([s(t) for t in range(10)], fall, rtol=1e-12, atol=0)
    assert s(0) == 1.0 and s(9) == z


@pytest.mark.parametrize(("name", "kwargs"), _rows("warmup_cosine"))
def test_warmup_cosine_equals_its_formula(name, kwargs):
    s = get(name, **kwargs)
    expected = [warmup_cosine_formula(t, **kwargs) for t in range(STEPS + 400)]
    np.testing.assert_allclose([s(t) for t in range(STEPS + 400)], expected, rtol=1e-12, atol=0)
    if kwargs["warmup_steps"]:
        assert s(0) == 0.0  # the formula t / W: the first update does not move
    assert s(kwargs["warmup_steps"]) == 1.0


@pytest.mark.parametrize(("name", "kwargs"), _rows("wsd"))
def test_wsd_equals_its_formula(name, kwargs):
    s = get(name, **kwargs)
    expected = [wsd_formula(t, **kwargs) for t in range(STEPS + 400)]
    np.testing.assert_allclose([s(t) for t in range(STEPS + 400)], expected, rtol=1e-12, atol=0)
    assert s(kwargs["total_steps"]) == 0.0 == s(kwargs["total_steps"] + 5)


def test_constant():
    s = get("constant")
    assert s.constant
    assert s(0) == s(10**12) == 1.0
    assert not any(get(name, **kwargs).constant for name, kwargs in ROWS if name != "constant")


# -- arrays of every library: equal to the Python path, no host read -------------------------

T_VALUES = [*range(250), 997, 1000, 10**6 - 1, 10**6]


@pytest.mark.parametrize(("name", "kwargs"), _rows())
def test_arrays_equal_the_python_path(backend, name, kwargs):
    xp, device = backend
    s = get(name, **kwargs)
    expected = np.asarray([s(t) for t in T_VALUES])
    many = xp.asarray(T_VALUES, dtype=xp.int64, device=device)
    values = s(many, dtype=xp.float64)
    assert_on(backend, values, xp.float64)
    assert_close(values, expected, rtol=1e-12)
    for t in (0, 1, 5, 150, 10**6):
        value = s(xp.asarray(t, dtype=xp.int64, device=device), dtype=xp.float64)
        assert_on(backend, value, xp.float64)
        assert value.shape == ()
        assert_close(value, np.asarray(s(t)), rtol=1e-12)
    floats = s(xp.asarray(T_VALUES, dtype=xp.float64, device=device))  # a float count
    assert_on(backend, floats, xp.float64)
    assert_close(floats, expected, rtol=1e-12)


@pytest.mark.parametrize(("name", "kwargs"), _rows("constant", "step", "one_cycle", "wsd"))
def test_array_dtypes(backend, name, kwargs):
    """dtype= wins; else a floating t's dtype; else the namespace's default float."""
    xp, device = backend
    s = get(name, **kwargs)
    t = xp.asarray([[0, 3], [40, 170]], dtype=xp.int32, device=device)
    default = xp.__array_namespace_info__().default_dtypes(device=device)["real floating"]
    assert_on(backend, s(t), default)
    assert s(t).shape == (2, 2)
    single = s(xp.astype(t, xp.float32))
    assert_on(backend, single, xp.float32)
    assert_on(backend, s(t, dtype=xp.float32), xp.float32)
    expected = np.asarray([[s(0), s(3)], [s(40), s(170)]])
    assert_close(single, expected, rtol=1e-6, atol=1e-37)  # float32 underflows to 0


# Every way an array-api-strict array can reach the host or a Python scalar.
_EXITS = ("__float__", "__bool__", "__int__", "__index__", "__array__", "__dlpack__", "__iter__")


@pytest.mark.parametrize(("name", "kwargs"), _rows())
def test_arrays_are_never_read_back(name, kwargs, monkeypatch):
    strict = pytest.importorskip("array_api_strict")
    device = strict.Device("device1")
    t = strict.asarray(17, device=device)
    exits = []
    for method in _EXITS:
        original = getattr(type(t), method)

        def spy(self, *args, _name=method, _original=original, **kw):
            exits.append(_name)
            return _original(self, *args, **kw)

        monkeypatch.setattr(type(t), method, spy)
    get(name, **kwargs)(t)
    assert exits == []


# -- bounds, for random arguments --------------------------------------------------------------


@st.composite
def bounded_schedules(draw):
    """A schedule with random valid arguments, and the bounds of its multiplier."""
    name = draw(st.sampled_from(list(SCHEDULES)))
    steps = st.integers(1, 10_000)
    unit = st.floats(0.0, 1.0)
    gamma = st.floats(1e-6, 1.0)
    if name == "constant":
        return Constant(), 1.0, 1.0
    if name == "step":
        return Step(draw(steps), draw(gamma)), 0.0, 1.0
    if name == "multistep":
        return MultiStep(draw(st.lists(steps, min_size=1, max_size=5)), draw(gamma)), 0.0, 1.0
    if name == "exponential":
        return Exponential(draw(gamma)), 0.0, 1.0
    if name == "cosine":
        m = draw(unit)
        return Cosine(draw(steps), m), m, 1.0
    if name == "linear":
        a, b = draw(st.floats(1e-6, 1.0)), draw(unit)
        return Linear(a, b, draw(steps)), min(a, b), max(a, b)
    if name == "one_cycle":
        div, final = draw(st.floats(1.0, 1e3)), draw(st.floats(1.0, 1e5))
        s = OneCycle(draw(steps), draw(unit), div, final)
        return s, 1 / div / final, 1.0
    if name == "warmup_cosine":
        w = draw(st.integers(0, 1000))
        return WarmupCosine(w, w + draw(steps), draw(unit)), 0.0, 1.0
    w, d = draw(st.integers(0, 1000)), draw(steps)
    s = WSD(w, d, w + d + draw(st.integers(0, 1000)), draw(st.sampled_from(["linear", "sqrt"])))
    return s, 0.0, 1.0


@settings(max_examples=50, deadline=None)
@given(bounded_schedules(), st.lists(st.integers(0, 10**7), min_size=1, max_size=20))
def test_every_multiplier_stays_within_its_bounds(schedule_and_bounds, ts):
    s, low, high = schedule_and_bounds
    slack = 1e-13  # rounding: one_cycle computes its first value as 1 + (a - 1) / 2 * 2
    values = [s(t) for t in ts]
    assert all(low * (1 - slack) <= v <= high * (1 + slack) for v in values), (s, values)
    arrays = s(np.asarray(ts))
    assert np.all((arrays >= low * (1 - slack)) & (arrays <= high * (1 + slack)))
    np.testing.assert_allclose(arrays, values, rtol=1e-12, atol=1e-300)


# -- names: get, repr, str, equality ------------------------------------------------------------


@pytest.mark.parametrize(("name", "kwargs"), _rows())
def test_names_round_trip(name, kwargs):
    s = get(name, **kwargs)
    assert s.name == name
    assert eval(repr(s), vars(schedules)) == s
    assert get(name, **json.loads(json.dumps(s.arguments))) == s
    assert hash(get(name, **kwargs)) == hash(s)
    assert str(s).startswith(name)
    assert "\n" not in str(s)


def test_repr_and_str():
    s = WarmupCosine(warmup_steps=10, total_steps=100)
    assert repr(s) == "WarmupCosine(warmup_steps=10, total_steps=100, min_factor=0.0)"
    assert str(s) == "warmup_cosine(warmup_steps=10, total_steps=100)"
    assert (
        str(WarmupCosine(10, 100, 0.1))
        == "warmup_cosine(warmup_steps=10, total_steps=100, min_factor=0.1)"
    )
    assert repr(MultiStep([20, 10])) == "MultiStep(milestones=[10, 20], gamma=0.1)"
    assert str(MultiStep([20, 10], 0.5)) == "multistep(milestones=[10, 20], gamma=0.5)"
    assert str(Linear()) == "linear"
    assert str(Constant()) == "constant" and repr(Constant()) == "Constant()"
    assert (
        str(WSD(1, 2, 3, "sqrt")) == "wsd(warmup_steps=1, decay_steps=2, total_steps=3, shape=sqrt)"
    )
    assert Linear().arguments == {"start_factor": 1 / 3, "end_factor": 1.0, "total_steps": 5}


def test_equality():
    assert Cosine(10) == Cosine(total_steps=10, min_factor=0) == get("cosine", total_steps=10)
    assert Cosine(10) != Cosine(11) and Cosine(10) != Cosine(10, 0.5)
    assert Cosine(10) != Linear(total_steps=10) and Cosine(10) != "cosine"
    assert Step(5, 0.5) == Step(5.0, 0.5)
    assert MultiStep([3, 1]) == MultiStep((1, 3))
    assert len({Cosine(10), Cosine(10), Cosine(11), Constant(), Constant()}) == 3


@pytest.mark.parametrize(
    ("name", "kwargs", "message"),
    [
        ("nope", {}, "unknown schedule 'nope'; choose from constant, step, multistep"),
        (
            "cosine",
            {"total_steps": 10, "warmup": 3},
            "schedule cosine takes total_steps, min_factor, not warmup",
        ),
        ("constant", {"gamma": 0.5}, "schedule constant takes no arguments, not gamma"),
        ("cosine", {}, "schedule cosine needs total_steps"),
        ("wsd", {"shape": "sqrt"}, "schedule wsd needs warmup_steps, decay_steps, total_steps"),
        (
            "warmup_cosine",
            {"warmup_steps": -1, "total_steps": 9},
            "warmup_steps must be an integer >= 0, not -1",
        ),
        (
            "warmup_cosine",
            {"warmup_steps": 10, "total_steps": 10},
            "total_steps must exceed warmup_steps (10), not 10",
        ),
        (
            "wsd",
            {"warmup_steps": 5, "decay_steps": 10, "total_steps": 14},
            "total_steps must be at least warmup_steps + decay_steps (15), not 14",
        ),
        (
            "wsd",
            {"warmup_steps": 0, "decay_steps": 0, "total_steps": 14},
            "decay_steps must be a positive integer, not 0",
        ),
        (
            "wsd",
            {"warmup_steps": 0, "decay_steps": 1, "total_steps": 9, "shape": "cos"},
            "shape must be 'linear' or 'sqrt', not 'cos'",
        ),
        ("step", {"step_size": 0}, "step_size must be a positive integer, not 0"),
        ("step", {"step_size": 2.5}, "step_size must be a positive integer, not 2.5"),
        ("step", {"step_size": True}, "step_size must be a positive integer, not True"),
        ("step", {"step_size": 3, "gamma": 0}, "gamma must be > 0, not 0"),
        ("exponential", {"gamma": "0.9"}, "gamma must be a number, not '0.9'"),
        ("exponential", {"gamma": float("nan")}, "gamma must be finite, not nan"),
        ("multistep", {"milestones": []}, "milestones must name at least one step"),
        ("multistep", {"milestones": "10"}, "milestones must be a list of positive integers"),
        ("multistep", {"milestones": [10, 0]}, "a milestone must be a positive integer, not 0"),
        ("cosine", {"total_steps": 10, "min_factor": 1.5}, "min_factor must be in [0, 1], not 1.5"),
        ("linear", {"start_factor": 0}, "start_factor must be in (0, 1], not 0"),
        ("linear", {"end_factor": -0.1}, "end_factor must be in [0, 1], not -0.1"),
        ("one_cycle", {"total_steps": 0}, "total_steps must be a positive integer, not 0"),
        ("one_cycle", {"total_steps": 9, "pct_start": 1.1}, "pct_start must be in [0, 1], not 1.1"),
        ("one_cycle", {"total_steps": 9, "div_factor": 0.5}, "div_factor must be >= 1, not 0.5"),
    ],
)
def test_get_refuses(name, kwargs, message):
    with pytest.raises(ConfigError) as error:
        get(name, **kwargs)
    assert str(error.value).startswith(message)
    assert "\n" not in str(error.value)


def test_t_is_an_int_or_an_array():
    s = Cosine(10)
    for bad in (1.5, True, None, "3", [1, 2]):
        with pytest.raises(ConfigError, match="takes t as a Python int or an array"):
            s(bad)
    with pytest.raises(ConfigError, match="t must be a non-negative integer, not -1"):
        s(-1)
    with pytest.raises(ConfigError, match="dtype must be a real floating dtype"):
        s(np.asarray(3), dtype=np.int64)
    assert s(np.int64(5)) == pytest.approx(0.5)  # a NumPy scalar is an array


# -- the command line's form: durations in epochs -------------------------------------------------


@pytest.mark.parametrize(
    ("text", "steps_per_epoch", "total_steps", "expected"),
    [
        ("constant", 100, 1000, Constant()),
        ("warmup_cosine:warmup=0.5", 100, 1000, WarmupCosine(50, 1000)),
        ("warmup_cosine:warmup=1,total=5,min_factor=0.1", 100, 2000, WarmupCosine(100, 500, 0.1)),
        (" cosine : min_factor = 0.1 ", 100, 1000, Cosine(1000, 0.1)),
        ("cosine:total=2.5", 10, 1000, Cosine(25)),
        ("multistep:milestones=10/20,gamma=0.5", 50, 2000, MultiStep([500, 1000], 0.5)),
        ("multistep:milestones=2/4.5", 100, 1000, MultiStep([200, 450])),
        ("step:step_size=0.25", 10, 1000, Step(3)),  # 2.5 steps: halves round up
        ("step:step_size=0.001,gamma=0.9", 100, 1000, Step(1, 0.9)),  # never 0 steps
        ("exponential:gamma=0.99", 100, 1000, Exponential(0.99)),
        ("linear:start_factor=0.1", 100, 1000, Linear(0.1, 1.0, 1000)),  # the run's total
        ("linear:start_factor=0.1,end_factor=0,total=1", 100, 1000, Linear(0.1, 0.0, 100)),
        ("one_cycle:pct_start=0.25,div_factor=10", 100, 1000, OneCycle(1000, 0.25, 10.0)),
        ("wsd:warmup=0.5,decay=2,shape=sqrt", 100, 1000, WSD(50, 200, 1000, "sqrt")),
        ("wsd:warmup=0,decay=1e-3", 1000, 5000, WSD(0, 1, 5000)),
    ],
)
def test_parse_counts_epochs(text, steps_per_epoch, total_steps, expected):
    s = parse(text, steps_per_epoch=steps_per_epoch, total_steps=total_steps)
    assert s == expected
    assert repr(s) == repr(expected)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "--schedule: unknown schedule ''; choose from constant, step"),
        ("nope:gamma=1", "--schedule: unknown schedule 'nope'; choose from"),
        ("cosine:", "--schedule: 'cosine:' needs key=value pairs"),
        ("warmup_cosine:warmup", "--schedule: 'warmup_cosine:warmup' needs key=value pairs"),
        ("warmup_cosine:warmup=", "--schedule: 'warmup_cosine:warmup=' needs key=value pairs"),
        ("cosine:min_factor=0.1,", "--schedule: 'cosine:min_factor=0.1,' needs key=value pairs"),
        ("cosine:warmup=1", "--schedule: schedule cosine takes total, min_factor, not warmup"),
        ("constant:gamma=1", "--schedule: schedule constant takes no arguments, not gamma"),
        (
            "wsd:warmup_steps=3,decay=1",
            "--schedule: durations are in epochs, under the name warmup=, not warmup_steps=",
        ),
        ("cosine:min_factor=abc", "--schedule: min_factor must be a number, not 'abc'"),
        ("cosine:min_factor=nan", "--schedule: min_factor must be finite, not 'nan'"),
        ("cosine:total=1,total=2", "--schedule: total is given twice in 'cosine:total=1,total=2'"),
        (
            "warmup_cosine:warmup=-1",
            "--schedule: warmup must be a non-negative number of epochs, not -1",
        ),
        ("multistep:milestones=1//2", "--schedule: milestones must be a number, not ''"),
        (
            "cosine:min_factor=2",
            "--schedule 'cosine:min_factor=2': min_factor must be in [0, 1], not 2",
        ),
        (
            "warmup_cosine:warmup=20",
            "--schedule 'warmup_cosine:warmup=20': "
            "warmup (2000 steps) must end before total (the run's 1000 steps)",
        ),
        (
            "wsd:warmup=1,decay=5,total=5",
            "--schedule 'wsd:warmup=1,decay=5,total=5': "
            "warmup + decay (600 steps) must fit in total (500 steps)",
        ),
        ("wsd:warmup=1", "--schedule 'wsd:warmup=1': schedule wsd needs decay"),
        ("warmup_cosine", "--schedule 'warmup_cosine': schedule warmup_cosine needs warmup"),
        # huge durations: one sentence without a 300-digit count (issue 26)
        ("cosine:total=1e308", "--schedule: total=1e308 epochs is more than 2**53 steps"),
        ("step:step_size=1e308", "--schedule: step_size=1e308 epochs is more than 2**53"),
        ("multistep:milestones=1/1e308", "--schedule: milestones=1e308 epochs is more than"),
        ("warmup_cosine:warmup=1e300", "--schedule: warmup=1e300 epochs is more than 2**53"),
        (
            "exponential:gamma=1e308",
            "--schedule 'exponential:gamma=1e308': the multiplier gamma**t passes the "
            "largest float at step 2 of the run's 1000",
        ),
        (
            "exponential:gamma=2.1",
            "--schedule 'exponential:gamma=2.1': the multiplier gamma**t passes the largest "
            "float at step 957 of the run's 1000",
        ),
        ("multistep", "--schedule 'multistep': schedule multistep needs milestones"),
        (
            "step:step_size=0",
            "--schedule 'step:step_size=0': step_size must be a positive integer, not 0",
        ),
        (
            "wsd:warmup=1,decay=1,shape=cos",
            "--schedule 'wsd:warmup=1,decay=1,shape=cos': "
            "shape must be 'linear' or 'sqrt', not 'cos'",
        ),
    ],
)
def test_parse_refuses_bad_text(text, message):
    with pytest.raises(ConfigError) as error:
        parse(text, steps_per_epoch=100, total_steps=1000)
    assert str(error.value).startswith(message)
    assert "\n" not in str(error.value)


def test_check_reads_the_form_without_inventing_a_length():
    """Before the data is known, :func:`check` reads the text in epochs: a long warm-up is
    fine, durations are compared in epochs (no placeholder of one step per epoch, which
    refused a warm-up of 0.4 epochs in a total of 0.5), and a message names only what the
    user gave."""
    spec = schedules.check("warmup_cosine:warmup=2e9")
    assert spec == schedules.Spec(
        "warmup_cosine", {"warmup_steps": 2e9}, "warmup_cosine:warmup=2e9", "--schedule"
    )
    assert schedules.check("multistep:milestones=2/4.5").arguments == {"milestones": (2.0, 4.5)}
    for fits in ("warmup_cosine:warmup=0.4,total=0.5", "wsd:warmup=0.2,decay=0.2,total=0.5"):
        schedules.check(fits)
    with pytest.raises(ConfigError) as error:
        schedules.check("warmup_cosine:warmup=5,total=3")
    assert str(error.value) == (
        "--schedule 'warmup_cosine:warmup=5,total=3': warmup (5 epochs) must end before "
        "total (3 epochs)"
    )
    with pytest.raises(ConfigError, match=r"warmup \+ decay \(6 epochs\) must fit in total \(5"):
        schedules.check("wsd:warmup=1,decay=5,total=5", option="--set adam.schedule")
    # the ranges of the other arguments are the schedule's to check, once it is made
    assert schedules.check("cosine:min_factor=2").arguments == {"min_factor": 2.0}


@pytest.mark.parametrize(
    "text",
    [
        "",
        "nope",
        "cosine:",
        "cosine:warmup=1",
        "wsd:warmup_steps=3,decay=1",
        "cosine:total=1e308",
        "multistep:milestones=1//2",
        "warmup_cosine:warmup=-1",
        "wsd:warmup=1",
        "cosine:total=1,total=2",
    ],
)
def test_check_refuses_what_parse_refuses_for_the_form(text):
    with pytest.raises(ConfigError) as form:
        schedules.check(text)
    with pytest.raises(ConfigError) as run:
        parse(text, steps_per_epoch=100, total_steps=1000)
    assert str(form.value) == str(run.value)


def test_a_spec_becomes_the_schedule_parse_makes():
    spec = schedules.check("wsd:warmup=0.5,decay=2,shape=sqrt")
    assert spec.schedule(100, 1000) == WSD(50, 200, 1000, "sqrt")
    assert spec.schedule(10, 300) == parse(spec.text, steps_per_epoch=10, total_steps=300)
    # what needs the steps is checked against the real ones, in steps
    with pytest.raises(ConfigError, match=r"warmup \+ decay \(250 steps\) must fit in total"):
        spec.schedule(100, 200)
    with pytest.raises(ConfigError, match=r"^--schedule 'cosine:min_factor=2': min_factor must"):
        schedules.check("cosine:min_factor=2").schedule(10, 100)
    # without the run's length, parse checks the form only (callers written before check)
    assert parse("warmup_cosine:warmup=0.4,total=0.5", steps_per_epoch=1, total_steps=None) is None


def test_huge_values_are_refused_or_infinite_never_overflow():
    """A duration past 2**53 steps is one ConfigError in the library too, never a
    300-digit number; an exponential multiplier past a float's range is infinity (the
    run diverges), as on arrays, not an OverflowError."""
    for make in (
        lambda: Step(10**400),
        lambda: Cosine(total_steps=2**60),
        lambda: MultiStep([1, 10**400]),
        lambda: WarmupCosine(warmup_steps=10**400, total_steps=10**401),
    ):
        with pytest.raises(ConfigError, match=r"must be at most 2\*\*53 steps") as error:
            make()
        assert len(str(error.value)) < 120, error.value
    assert Exponential(1e308)(2) == math.inf
    with np.errstate(over="ignore"):
        assert float(Exponential(1e308)(np.asarray(2.0))) == math.inf


def test_parse_names_its_option():
    with pytest.raises(ConfigError, match=r"^--set adam.schedule: unknown schedule 'x'"):
        parse("x", steps_per_epoch=1, total_steps=1, option="--set adam.schedule")
    with pytest.raises(ConfigError, match="steps_per_epoch must be a positive integer, not 0"):
        parse("constant", steps_per_epoch=0, total_steps=1)


def test_module_exports():
    assert set(schedules.__all__) >= {"Schedule", "SCHEDULES", "Spec", "check", "get", "parse"}
    assert all(
        isinstance(cls.name, str) and cls is SCHEDULES[cls.name] for cls in SCHEDULES.values()
    )
