"""Issue 26: no input ends the command line in a traceback, and no message misleads.

An optimizer whose step raises fails its pass in one sentence wherever the pass runs
(``--jobs 1`` as ``--jobs 2``) and in ``trajectories``; a failed pass is shown as such in
the table, not as a row of nan.
"""

from __future__ import annotations

import types

import pytest

from helpers import Transposing
from optimlab import optimizers
from optimlab.cli import main
from optimlab.optimizers import SGD


class Boom(SGD):
    """An optimizer whose every step raises (a plugin's bug)."""

    name = "boom"

    def step(self, params, grads, state, **kwargs):
        raise ValueError("boom went the step")


@pytest.fixture
def boom(monkeypatch):
    monkeypatch.setitem(optimizers.OPTIMIZERS, "boom", Boom)
    return "boom"


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_raising_step_fails_its_pass_in_one_sentence(boom, tmp_path, capsys, jobs):
    argv = ["compare", "--optimizers", "boom,sgd", "--limit-train", "20", "--epochs", "1"]
    code = main([*argv, "--layers", "784,3,10", "--jobs", jobs, "--out", str(tmp_path / "r")])
    captured = capsys.readouterr()
    assert code == 1, captured.err
    assert "Traceback" not in captured.err
    assert "failed: ValueError: boom went the step" in captured.err
    row = next(line for line in captured.out.splitlines() if line.startswith("boom"))
    assert "nan" not in row and "no epoch complete: its pass failed" in row, row


class Flattening(SGD):
    """An elementwise rule whose update drops the member axis: the pass failed with
    NumPy's words ("cannot reshape array of size ..."), not naming the optimizer."""

    name = "flattening"

    @staticmethod
    def update(xp, w, g, *accumulators, t, lr, weight_decay=0.0):
        return xp.reshape(w - lr * g, (-1,)), ()


@pytest.mark.parametrize("jobs", ["1", "2"])
@pytest.mark.parametrize(
    ("cls", "shapes"),
    [(Transposing, "(1, 784, 3) for parameters of shape (1, 3, 784)"), (Flattening, "(2395,)")],
    ids=["transposing", "flattening"],
)
def test_a_step_returning_another_shape_fails_its_pass_naming_the_optimizer(
    monkeypatch, tmp_path, capsys, jobs, cls, shapes
):
    """As a raising step: exit 1, one sentence, the pass failed (with --jobs 2 this process
    runs the first pass, the longest, so the class defined here is the one that runs)."""
    monkeypatch.setitem(optimizers.OPTIMIZERS, cls.name, cls)
    argv = ["compare", "--optimizers", f"{cls.name},sgd", "--limit-train", "20", "--epochs", "1"]
    code = main([*argv, "--layers", "784,3,10", "--jobs", jobs, "--out", str(tmp_path / "r")])
    captured = capsys.readouterr()
    assert code == 1, captured.err
    assert "Traceback" not in captured.err
    (line,) = [line for line in _lines(captured.out + captured.err) if "failed: " in line]
    assert f"failed: ValueError: the optimizer '{cls.name}' returned an array of shape " in line
    assert shapes in line and line.endswith(
        "its step must return each parameter array with its own shape"
    ), line
    row = next(line for line in captured.out.splitlines() if line.startswith(cls.name))
    assert "no epoch complete: its pass failed" in row, row


def test_a_raising_step_in_trajectories_is_one_sentence_and_writes_nothing(boom, tmp_path, capsys):
    out = tmp_path / "paths"
    code = main(["trajectories", "--optimizers", "sgd,boom", "--steps", "3", "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 1
    assert _lines(captured.err) == [
        "optimlab trajectories: boom failed: ValueError: boom went the step; nothing was written"
    ]
    assert not out.exists()


def test_a_raising_step_in_train_is_one_sentence(boom, tmp_path, capsys):
    """Issue 26: the step of train's one optimizer raised through to a traceback."""
    save = tmp_path / "model.npz"
    argv = ["train", "--optimizer", "boom", "--limit-train", "20", "--epochs", "1", "--quiet"]
    code = main([*argv, "--save", str(save)])
    captured = capsys.readouterr()
    assert code == 1
    assert _lines(captured.err) == ["optimlab train: boom failed: ValueError: boom went the step"]
    assert not save.exists()


def test_train_uses_compares_divergence_rule(capsys):
    """Issue 26: train reported a loss of hundreds (2.65e+29 with larger rates) as a
    normal result, exit 0, where compare calls the same run diverged."""
    code = main(["train", "--limit-train", "100", "--epochs", "1", "--lr", "100", "--quiet"])
    captured = capsys.readouterr()
    assert code == 1, captured
    assert _lines(captured.err) == [
        next(line for line in _lines(captured.err) if "diverged at epoch 1" in line)
    ]
    assert "is over 10 times the loss of knowing nothing" in captured.err


BENCHMARK = ["benchmark", "--grid", "1", "--limit-train", "40", "--validation", "10"]
BENCHMARK += ["--epochs", "2", "--seeds", "1", "--batch-size", "10", "--quiet"]


def test_a_benchmark_whose_every_run_diverged_fails_and_reaches_no_target(
    tmp_path, capsys, recwarn
):
    """Issue 26: it exited 0 and showed "epochs to target 1" (a diverged run's accuracy
    is finite), with matplotlib's UserWarning about an empty legend."""
    argv = [*BENCHMARK, "--optimizers", "sgd,adam", "--out", str(tmp_path / "b")]
    code = main([*argv, "--schedule", "exponential:gamma=1e50"])  # nan at the second step
    captured = capsys.readouterr()
    assert code == 1, captured.err
    assert "every final run diverged" in captured.err and "Traceback" not in captured.err
    rows = [line for line in captured.out.splitlines() if "diverged)" in line]
    assert len(rows) == 2 and all(" never " in row for row in rows), captured.out
    assert not [w for w in recwarn if issubclass(w.category, UserWarning)], recwarn.list


def test_a_benchmark_takes_a_schedule(tmp_path, capsys):
    """--schedule was refused by benchmark ("schedule must be an optimlab.schedules.
    Schedule, not 'cosine'"): its check built the optimizers from the option's text."""
    argv = [*BENCHMARK, "--optimizers", "sgd", "--out", str(tmp_path / "b")]
    assert main([*argv, "--schedule", "cosine"]) == 0, capsys.readouterr().err


# -- messages that misled (issue 26) ---------------------------------------------------


def _refusal(argv, capsys) -> str:
    try:
        code = main(argv)
    except SystemExit as exit_:  # argparse's own errors
        code = exit_.code
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


def test_an_empty_problem_list_is_not_told_to_name_optimizers(tmp_path, capsys):
    err = _refusal(["benchmark", "--problems", ",", "--out", str(tmp_path / "b")], capsys)
    assert "such as report,mnist_mlp" in err and "sgd" not in err, err


def test_a_single_training_sample_is_not_told_to_hold_out_1_to_0(tmp_path, capsys):
    argv = ["benchmark", "--limit-train", "1", "--optimizers", "sgd"]
    err = _refusal([*argv, "--out", str(tmp_path / "b")], capsys)
    assert "from 1 to 0" not in err and "needs at least 2 training samples" in err, err
    assert not (tmp_path / "b").exists()


COMPARE = ["compare", "--limit-train", "20", "--epochs", "1", "--layers", "784,3,10"]
COMPARE += ["--jobs", "1", "--quiet"]


def test_a_refused_resume_shows_the_field_that_differs(tmp_path, capsys):
    """Both values were cut to the same 120-character prefix of ``passes``."""
    argv = [*COMPARE, "--optimizers", "sgd,adam,momentum,nesterov,adagrad,rmsprop"]
    argv += ["--out", str(tmp_path / "r")]
    assert main(argv) == 0
    capsys.readouterr()
    err = _refusal([*argv, "--set", "rmsprop.lr=0.5", "--resume"], capsys)
    assert "passes[5][0].hyperparameters.lr = 0.001, and this command has" in err, err
    assert "passes[5][0].hyperparameters.lr = 0.5" in err and "..." not in err, err


def test_a_resume_refused_for_changed_data_does_not_advise_the_same_command(tmp_path, capsys):
    from helpers import write_mnist_subset

    data = tmp_path / "data"
    data.mkdir()
    write_mnist_subset(data, n_train=40, n_test=20)
    argv = [*COMPARE, "--optimizers", "sgd", "--data-dir", str(data), "--out", str(tmp_path / "r")]
    assert main(argv) == 0
    capsys.readouterr()
    write_mnist_subset(data, n_train=30, n_test=20)
    err = _refusal([*argv, "--resume"], capsys)
    assert "has changed" in err and "run the same command" not in err, err
    assert "--overwrite" in err


# -- accepted without sense (issue 26) ---------------------------------------------------

SMALL = ["--limit-train", "40", "--epochs", "1", "--quiet"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["benchmark", "--problems", "quadratic_deep", "--layers", "100", "--optimizers", "sgd"],
            r"layers does not apply to quadratic_deep: it trains a point, not a network",
        ),
        (
            ["benchmark", "--problems", "quadratic_deep", "--activation", "relu"],
            r"activation does not apply to quadratic_deep",
        ),
        (
            ["benchmark", "--problems", "quadratic_deep", "--validation", "10"],
            r"--validation does not apply to quadratic_deep",
        ),
        (
            ["benchmark", "--grid", "2", "--search-seed", "3", "--optimizers", "sgd"],
            r"--search-seed seeds --search random; a grid search draws nothing",
        ),
        (
            ["compare", "--optimizers", "adam", "--set", "adam.lr=1", "--set", "adam.lr=2"],
            r"--set adam.lr is given twice \(adam.lr=1, adam.lr=2\)",
        ),
        (
            ["trajectories", "--optimizers", "sgd", "--set", "sgd.lr=1", "--set", "SGD.lr=2"],
            r"--set sgd.lr is given twice",
        ),
        (
            ["compare", "--optimizers", "adam", "--layers", "784,30,1000"],
            r"output layer has 1000 units but the data has 10 classes",
        ),
        (
            ["train", "--layers", "784,30,1000"],
            r"output layer has 1000 units but the data has 10 classes",
        ),
    ],
)
def test_options_without_sense_are_refused_before_the_directory(tmp_path, capsys, argv, message):
    import re

    out = tmp_path / "out"
    where = [] if argv[0] == "train" else ["--out", str(out)]
    extra = [] if argv[0] == "trajectories" else SMALL
    err = _refusal([*argv, *extra, *where], capsys)
    assert re.search(message, err), err
    assert not out.exists()


def test_no_raw_python_warning_reaches_the_terminal(tmp_path):
    """Issue 26: a diverging path printed NumPy's RuntimeWarnings with optimlab's paths
    and source lines (surfaces.py:134: RuntimeWarning: overflow encountered in square).
    The divergence is reported by the command; the warnings say nothing more. Run as a
    user runs it (pytest would record the warnings instead of printing them)."""
    import os
    import subprocess
    import sys

    argv = ["trajectories", "--optimizers", "sgd", "--set", "sgd.lr=1e10", "--steps", "5"]
    done = subprocess.run(
        [sys.executable, "-m", "optimlab", *argv, "--out", str(tmp_path / "t")],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONWARNINGS": "default"},
    )
    assert done.returncode == 1, done.stderr
    assert "Warning" not in done.stderr and ".py:" not in done.stderr, done.stderr
    assert _lines(done.stderr) == [
        "optimlab trajectories: every path diverged; try smaller rates (--set NAME.lr=X)"
    ]


def test_a_meaningful_warning_is_one_line_naming_the_command(capsys, monkeypatch):
    import warnings

    from optimlab.cli import experiment_commands

    def plot(results, out):
        warnings.warn("the figure could not show every curve", UserWarning, stacklevel=1)
        return []

    monkeypatch.setattr(experiment_commands, "plot_results", plot)
    results = types.SimpleNamespace(setting=types.SimpleNamespace(evaluate="test"))
    monkeypatch.setattr(experiment_commands, "load_results", lambda path: results)
    assert main(["plot", "results.json", "--out", "."]) == 0
    assert _lines(capsys.readouterr().err) == [
        "optimlab plot: warning: the figure could not show every curve"
    ]


def test_plot_of_a_benchmarks_summary_or_tuning_says_what_to_plot(tmp_path, capsys):
    """Issue 26: a multi-problem benchmark's results.json was 'not an optimlab results
    file'; a tuning results.json drew an empty test-set figure."""
    out = tmp_path / "b"
    argv = ["benchmark", "--optimizers", "sgd", "--grid", "1", "--seeds", "1", "--epochs", "1"]
    argv += ["--limit-train", "400", "--validation", "10", "--problems", "report,quadratic_deep"]
    assert main([*argv, "--quiet", "--jobs", "1", "--out", str(out)]) in (
        0,
        1,  # every run of a problem may diverge: the files are written all the same
    )
    capsys.readouterr()
    err = _refusal(["plot", str(out / "results.json"), "--out", str(tmp_path)], capsys)
    assert "is a benchmark's summary, not curves: plot its final runs" in err, err
    assert str(out / "report" / "study-0" / "final" / "results.json") in err
    tuning = out / "report" / "study-0" / "tuning" / "results.json"
    err = _refusal(["plot", str(tuning), "--out", str(tmp_path)], capsys)
    assert "evaluated on the validation split only" in err, err
    final = out / "report" / "study-0" / "final" / "results.json"
    assert main(["plot", str(final), "--out", str(tmp_path)]) == 0


def test_a_results_file_of_a_missing_plugin_is_not_called_damaged(tmp_path, capsys):
    """Issue 26: a results file naming an optimizer whose plugin is not installed was
    'a damaged optimlab results file'; it says which optimizer is missing."""
    import json

    out = tmp_path / "r"
    assert main([*COMPARE, "--optimizers", "sgd", "--out", str(out)]) == 0
    capsys.readouterr()
    d = json.loads((out / "results.json").read_text())
    for run in d["runs"]:
        run["optimizer"] = "signsgd"
    for trials in d["setting"]["passes"]:
        for trial in trials:
            trial["optimizer"] = "signsgd"
    (out / "results.json").write_text(json.dumps(d))
    err = _refusal(["plot", str(out / "results.json")], capsys)
    assert "damaged" not in err and "the optimizer 'signsgd', which is not registered" in err
