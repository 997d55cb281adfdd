"""Issue 26: no input ends a command in a traceback (Hypothesis over every command's
numeric options and schedule strings).

Each example drives ``optimlab.cli.main`` in this process with a small valid command
(20 to 40 samples, one epoch, a 784-2-10 network) and one to three options drawn from
numbers of every kind: small and huge integers, negative ones, floats with nan and
infinities, and text that is no number. Whatever is drawn, the exit code is 0, 1 or 2,
nothing on standard error is a traceback, and a refusal (2) is one line. Options that
set how long a run is (``--epochs``) are drawn from small or invalid values only, since
a huge valid one is a long run, not an error.
"""

from __future__ import annotations

import inspect
import re
import tempfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optimlab import schedules
from optimlab.cli import main

#: Text that is no valid number, or a number at an edge.
ODD = [
    "nan", "inf", "-inf", "-0", "0", "1e308", "-1e308", "1e-320", "1e400", "abc", "",
    "0x10", "1_000", "2.5", "-1", " 3 ", "1e", "99999999999999999999",
]

#: Any number as text: integers small and huge, floats of every kind, odd text.
NUMBERS = st.one_of(
    st.integers(-(10**30), 10**30).map(str),
    st.integers(-5, 5).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(ODD),
)
#: A count whose large valid values are bounded by the command (or harmless).
COUNTS = st.one_of(st.integers(-3, 3).map(str), st.sampled_from(ODD))
#: A count whose large valid values are a long run: small or invalid only.
SHORT = st.one_of(
    st.integers(-3, 2).map(str),
    st.sampled_from([t for t in ODD if t not in ("1e308", "1e400", "99999999999999999999",
                                                   " 3 ", "1_000")]),
)

_KEYS = ["warmup", "total", "decay", "step_size", "milestones", "gamma", "min_factor",
         "start_factor", "end_factor", "pct_start", "div_factor", "final_div_factor", "shape"]
#: A schedule's value: any number, or often one at an edge of a duration or a factor.
_EDGES = st.sampled_from(["1e308", "1e300", "1e20", "-1", "0", "nan"])
_PLAUSIBLE = st.sampled_from(["0.1", "0.5", "1", "2"])
_VALUES = st.one_of(
    NUMBERS,
    _EDGES,
    _EDGES,
    _PLAUSIBLE,
    _PLAUSIBLE,
    st.lists(st.sampled_from(["1", "2.5", "1e308", "-1", ""]), min_size=2, max_size=3).map(
        "/".join  # milestones
    ),
)
_SHORT = {"warmup_steps": "warmup", "total_steps": "total", "decay_steps": "decay"}


def _keys(name: str) -> list[str]:
    """The command line's keys of schedule ``name`` (none for an unknown one)."""
    if name not in schedules.SCHEDULES:
        return []
    parameters = inspect.signature(schedules.SCHEDULES[name]).parameters
    return [_SHORT.get(k, k) for k in parameters if k not in ("args", "kwargs")]


def _schedule(name: str) -> st.SearchStrategy[str]:
    """``name`` with up to three pairs of its own keys, each once (so that the values are
    what is checked)."""
    keys = _keys(name) or _KEYS
    pairs = st.lists(
        st.tuples(st.sampled_from(keys), _VALUES),
        min_size=1 if _keys(name) else 0,
        max_size=3,
        unique_by=lambda pair: pair[0],
    )
    return pairs.map(
        lambda p: name + (":" + ",".join(f"{k}={v}" for k, v in p) if p else "")
    )


#: A schedule's text: mostly a known name with its own keys; sometimes an unknown name,
#: or a known one with any key.
SCHEDULES = st.one_of(
    st.sampled_from(list(schedules.SCHEDULES)).flatmap(_schedule),
    st.sampled_from(list(schedules.SCHEDULES)).flatmap(_schedule),
    st.sampled_from(list(schedules.SCHEDULES)).flatmap(_schedule),
    st.builds(
        lambda name, pairs: f"{name}:" + ",".join(f"{k}={v}" for k, v in pairs),
        st.sampled_from([*schedules.SCHEDULES, "nope"]),
        st.lists(st.tuples(st.sampled_from(_KEYS), _VALUES), min_size=1, max_size=2),
    ),
)

def fuzz(examples: int) -> settings:
    """``examples`` examples (the profile's other choices: CI's are derandomized), no
    deadline (a training example takes a fraction of a second, a benchmark one or two)."""
    return settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )


def _check(argv: list[str], capsys) -> None:
    try:
        code = main(argv)
    except SystemExit as exit_:  # argparse's own refusals
        code = exit_.code
    err = capsys.readouterr().err
    assert "Traceback" not in err, (argv, err)
    assert not re.search(r"\.py:\d+: \w*Warning", err), (argv, err)  # a raw warning
    assert code in (0, 1, 2), (argv, code, err)
    if code == 2:
        assert len(err.strip().splitlines()) == 1, (argv, err)


def _options(draw, table: dict[str, st.SearchStrategy]) -> list[str]:
    chosen = draw(st.lists(st.sampled_from(sorted(table)), min_size=1, max_size=3, unique=True))
    return [part for flag in chosen for part in (flag, draw(table[flag]))]


TRAIN = {
    "--lr": NUMBERS,
    "--momentum": NUMBERS,
    "--weight-decay": NUMBERS,
    "--clip-norm": NUMBERS,
    "--seed": NUMBERS,
    "--batch-size": NUMBERS,
    "--limit-train": SHORT,  # a huge one is the whole data set: valid, and slow
    "--epochs": SHORT,
    "--schedule": SCHEDULES,
}
SMALL = ["--limit-train", "20", "--epochs", "1", "--layers", "784,2,10", "--quiet"]


@fuzz(40)
@given(data=st.data(), optimizer=st.sampled_from(["sgd", "momentum", "adam"]))
def test_train_never_shows_a_traceback(capsys, data, optimizer):
    argv = ["train", *SMALL, "--optimizer", optimizer, *_options(data.draw, TRAIN)]
    _check(argv, capsys)


@fuzz(80)
@given(schedule=SCHEDULES, epochs=st.sampled_from(["1", "40"]))
def test_schedule_strings_never_show_a_traceback(capsys, schedule, epochs):
    """Every schedule name with up to three keys and values: refused in one line, or
    trained (over 40 epochs' worth of steps, most are refused for the run's length)."""
    argv = ["train", *SMALL, "--optimizer", "adam", "--schedule", schedule]
    if epochs == "40":  # the run's length counts in the checks; checked, not trained
        argv = [*argv, "--epochs", "40", "--limit-train", "10", "--batch-size", "10"]
    _check(argv, capsys)


COMPARE = {
    "--seeds": COUNTS,
    "--jobs": NUMBERS,
    "--batch-size": NUMBERS,
    "--limit-train": SHORT,  # a huge one is the whole data set: valid, and slow
    "--epochs": SHORT,
    "--schedule": SCHEDULES,
    "--set": st.builds(lambda k, v: f"adam.{k}={v}", st.sampled_from(
        ["lr", "beta1", "beta2", "eps", "weight_decay", "clip_norm", "schedule"]), NUMBERS),
    "--noise": NUMBERS,
}


@fuzz(25)
@given(data=st.data(), sweep=st.booleans())
def test_compare_and_sweep_never_show_a_traceback(capsys, data, sweep):
    with tempfile.TemporaryDirectory() as out:  # a fresh directory per example
        if sweep:
            lrs = data.draw(st.lists(NUMBERS, min_size=1, max_size=2))
            head = ["sweep", "--optimizer", "adam", "--lr", ",".join(lrs), "--seeds", "1"]
            table = {k: v for k, v in COMPARE.items() if k != "--set"}
            table["--max-members"] = NUMBERS
        else:
            head, table = ["compare", "--optimizers", "adam"], COMPARE
        options = _options(data.draw, table)
        if "--noise" in options:  # a noisy function's option: its problem, no network
            head += ["--problem", "quadratic_deep", "--limit-train", "20", "--epochs", "1"]
            argv = [*head, "--jobs", "1", "--quiet", "--out", f"{out}/r", *options]
        else:
            argv = [*head, *SMALL, "--jobs", "1", "--out", f"{out}/r", *options]
        _check(argv, capsys)


BENCHMARK = {
    "--grid": COUNTS,
    "--search-seed": NUMBERS,
    "--seeds": COUNTS,
    "--validation": NUMBERS,
    "--target": NUMBERS,
    "--schedule": SCHEDULES,
    "--epochs": SHORT,
}


@fuzz(15)
@given(data=st.data(), random=st.booleans())
def test_benchmark_never_shows_a_traceback(capsys, data, random):
    with tempfile.TemporaryDirectory() as out:  # a fresh directory per example
        table = dict(BENCHMARK)
        if random:  # the random search's budget instead of the grid's
            table["--trials"] = table.pop("--grid")
        search = ["--search", "random", "--trials", "1"] if random else ["--grid", "1"]
        argv = ["benchmark", "--optimizers", "sgd", *search, "--seeds", "1", "--epochs", "1"]
        argv += ["--limit-train", "40", "--validation", "10", "--layers", "784,2,10"]
        argv += ["--quiet", "--jobs", "1", "--out", f"{out}/b", *_options(data.draw, table)]
        _check(argv, capsys)


TRAJECTORIES = {
    "--steps": COUNTS,
    "--noise": NUMBERS,
    "--seed": NUMBERS,
    "--set": st.one_of(
        NUMBERS.map(lambda v: f"sgd.lr={v}"),
        SCHEDULES.map(lambda s: f"sgd.schedule={s}"),
    ),
}


@fuzz(40)
@given(data=st.data(), problem=st.sampled_from(["rosenbrock", "beale", "branin"]))
def test_trajectories_never_show_a_traceback(capsys, data, problem):
    with tempfile.TemporaryDirectory() as out:  # a fresh directory per example
        argv = ["trajectories", "--problem", problem, "--optimizers", "sgd", "--steps", "5"]
        _check([*argv, "--out", f"{out}/t", *_options(data.draw, TRAJECTORIES)], capsys)


@pytest.mark.parametrize(
    "schedule",
    ["cosine:total=1e308", "step:step_size=1e308", "multistep:milestones=1e308",
     "exponential:gamma=1e308"],
)
def test_the_issues_schedules_are_refused(capsys, schedule):
    """The examples of issue 26, always run (a fuzzer may not draw them)."""
    _check(["train", *SMALL, "--epochs", "40", "--schedule", schedule], capsys)
