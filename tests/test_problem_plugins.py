"""Bring your own problem: the conformance kit (optimlab.testing.check_problem) on every
registered problem and on broken ones, problem plugins through the entry-point group
``optimlab.problems``, and the example package of tests/problem_example installed offline
(as docs/problems.md tells) running through every training command."""

from __future__ import annotations

import dataclasses
import importlib.metadata
import json
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from helpers import install_offline, run_with
from optimlab import ConfigError, problems
from optimlab.optimizers import PluginWarning
from optimlab.testing import PROBLEM_CHECKS, check_problem

EXAMPLE = Path(__file__).parent / "problem_example"
#: Problems whose data is downloaded (no network in the tests).
DOWNLOADED = [n for n, p in problems.PROBLEMS.items() if getattr(p, "data", "mnist") != "mnist"]


@pytest.mark.parametrize("name", [n for n in problems.PROBLEMS if n not in DOWNLOADED])
def test_every_registered_problem_passes_the_kit(name):
    report = check_problem(name)
    assert set(report) == set(PROBLEM_CHECKS)
    assert all(v == "passed" or v.startswith("skipped") for v in report.values()), report


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The example package, installed with pip into a folder of its own (offline)."""
    return install_offline(EXAMPLE, tmp_path_factory.mktemp("problem_plugin"))


@pytest.fixture
def example(site, monkeypatch):
    """The example's module, imported from the installed folder."""
    monkeypatch.syspath_prepend(str(site))
    module = pytest.importorskip("optimlab_blobs")
    yield module
    sys.modules.pop("optimlab_blobs", None)


def test_the_example_problems_pass_the_kit(example):
    for problem in (example.BLOBS, example.VALLEY):
        report = check_problem(problem)
        assert all(v == "passed" or v.startswith("skipped") for v in report.values()), report


class _WrongGradient:
    """The example's valley with a gradient 1% too large in one coordinate."""

    def __init__(self, valley):
        self.valley = valley

    def __getattr__(self, name):
        return getattr(self.valley, name)

    def gradient(self, xp, constants, theta, mean):
        g = self.valley.gradient(xp, constants, theta, mean)
        bump = xp.asarray(np.eye(self.valley.dim)[3] * 0.01 + 1.0, dtype=g.dtype)
        return g * bump


class _HostOnly(_WrongGradient):
    """The valley with its loss computed by NumPy: not written against the Array API."""

    def gradient(self, xp, constants, theta, mean):
        return self.valley.gradient(xp, constants, theta, mean)

    def loss(self, xp, constants, theta, x):
        d = np.asarray(theta)[..., None, :] - np.asarray(x)
        return xp.asarray(0.5 * np.sum(np.asarray(constants) * d * d, axis=-1))


def test_the_kit_finds_a_wrong_gradient_and_a_numpy_only_function(example):
    wrong = dataclasses.replace(example.VALLEY, function=_WrongGradient(example.VALLEY.function))
    with pytest.raises(AssertionError, match=r"'valley' fails the 'gradient' check: coordinate 3"):
        check_problem(wrong, skip=("protocol",))  # the wrapper does not pickle
    pytest.importorskip("array_api_strict")
    host = dataclasses.replace(example.VALLEY, function=_HostOnly(example.VALLEY.function))
    with pytest.raises(AssertionError, match="fails the 'backends' check"):
        check_problem(host, skip=("protocol", "gradient"))


def test_the_kit_finds_data_that_changes_or_does_not_fit(example):
    rng = np.random.default_rng()

    def moving():  # new samples at every call: a resume would train on other data
        x = rng.random((300, 2))
        return x, rng.integers(0, 3, 300), x[:50], rng.integers(0, 3, 50)

    changing = dataclasses.replace(example.BLOBS, data=moving, validation=100)
    with pytest.raises(AssertionError, match=r"'protocol' check: .*Can't pickle local object"):
        check_problem(changing)  # a worker process could not receive it
    with pytest.raises(AssertionError, match="'data' check: two loads give different samples"):
        check_problem(changing, skip=("protocol",))
    wide = dataclasses.replace(example.BLOBS, layers=(3, 16, 3))
    with pytest.raises(AssertionError, match="have 2 features, its model takes 3"):
        check_problem(wide)
    greedy = dataclasses.replace(example.BLOBS, validation=5000)
    with pytest.raises(AssertionError, match="validation holds out 5000 of 2000"):
        check_problem(greedy)


def test_register_refuses_what_cannot_be_a_problem(example, monkeypatch):
    monkeypatch.setattr(problems, "PROBLEMS", dict(problems.PROBLEMS))
    monkeypatch.setattr(problems, "PLUGINS", {})
    with pytest.raises(ConfigError, match=r"must be an optimlab\.problems\.Problem, not dict"):
        problems.register({"name": "x"})
    with pytest.raises(ConfigError, match="problem name 'My-Blobs' must be lower-case"):
        problems.register(dataclasses.replace(example.BLOBS, name="My-Blobs"))
    with pytest.raises(ConfigError, match="a problem named 'report' is already registered"):
        problems.register(dataclasses.replace(example.BLOBS, name="report"))
    mine = problems.register(dataclasses.replace(example.BLOBS, name="blobs2"))
    assert problems.get("blobs2") is mine and problems.PLUGINS == {"blobs2": mine}


def test_a_broken_plugin_is_skipped_with_one_warning(example, monkeypatch):
    monkeypatch.setattr(problems, "PROBLEMS", dict(problems.PROBLEMS))
    monkeypatch.setattr(problems, "PLUGINS", {})
    group = problems.ENTRY_POINT_GROUP
    entries = [
        importlib.metadata.EntryPoint("blobs", "optimlab_blobs:BLOBS", group),
        importlib.metadata.EntryPoint("valley", "optimlab_blobs:BLOBS", group),  # misnamed
        importlib.metadata.EntryPoint("gone", "optimlab_blobs:GONE", group),
        importlib.metadata.EntryPoint("report", "optimlab_blobs:BLOBS", group),
    ]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        added = problems.load_plugins(entries)
    assert list(added) == ["blobs"]
    messages = [str(w.message) for w in caught if issubclass(w.category, PluginWarning)]
    assert len(messages) == 3 and all("\n" not in m for m in messages), messages
    assert (
        "'valley' (optimlab_blobs:BLOBS) cannot be loaded: it is the problem 'blobs'"
        in (messages[0])
    )
    assert "'gone'" in messages[1] and "AttributeError" in messages[1]
    assert "'report'" in messages[2] and problems.get("report").name == "report"


def test_the_installed_example_runs_through_every_command(site, tmp_path):
    """train, compare (worker processes), sweep and benchmark take the plugin's problems
    by name, as the built-in ones."""

    def optimlab(*args: str):
        done = run_with(site, ["-m", "optimlab", *args], tmp_path)
        assert done.returncode == 0, done.stderr
        return done

    listed = optimlab("compare", "--help")
    assert "blobs" in listed.stdout and "valley" in listed.stdout, listed.stdout
    trained = optimlab("train", "--problem", "blobs", "--optimizer", "adam", "--epochs", "3")
    accuracy = float(trained.stdout.rsplit("test accuracy ", 1)[1].split("%")[0])
    assert accuracy > 90.0  # three blobs, well apart: chance is 33%
    optimlab("compare", "--problem", "valley", "--optimizers", "sgd,adam", "--epochs", "2",
             "--jobs", "2", "--out", "cmp")  # fmt: skip
    results = json.loads((tmp_path / "cmp" / "results.json").read_text())
    assert results["setting"]["problem"] == "valley"
    finals = [t["epochs"][-1]["train_loss"] for t in results["runs"]]
    assert all(0 < f < 100 for f in finals), finals  # from a start loss of about 560
    optimlab("sweep", "--problem", "blobs", "--optimizer", "sgd", "--lr", "0.1,1",
             "--epochs", "1", "--seeds", "2", "--out", "sweep")  # fmt: skip
    swept = json.loads((tmp_path / "sweep" / "results.json").read_text())
    assert len(swept["runs"]) == 4 and swept["setting"]["layers"] == [2, 16, 3]
    optimlab("benchmark", "--problems", "blobs,valley", "--optimizers", "sgd,adam",
             "--grid", "2", "--seeds", "2", "--epochs", "2", "--out", "bench")  # fmt: skip
    table = json.loads((tmp_path / "bench" / "results.json").read_text())
    assert set(table["problems"]) == {"blobs", "valley"}
    winner = table["problems"]["blobs"]["table"][0]
    assert winner["optimizer"] == "adam" and winner["accuracy_mean"] > 0.9, winner
    assert (tmp_path / "bench" / "blobs" / "study-0" / "final" / "results.json").is_file()
