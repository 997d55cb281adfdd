"""compare, sweep, plot and evaluate: files, resuming, and refusing bad input."""

from __future__ import annotations

import csv
import json
import re
import time
from dataclasses import asdict

import numpy as np
import pytest

from helpers import Drawn, assert_refused, network_outputs, scores
from optimlab import MLP, DataError
from optimlab.cli import main
from optimlab.datasets import MNIST_SHA256, load_mnist
from optimlab.experiment import (
    Reporter,
    Trial,
    compare_setting,
    load_results,
    run_experiment,
    summarize,
)

PNG = b"\x89PNG\r\n\x1a\n"
SMALL = ["--epochs", "2", "--seeds", "2", "--limit-train", "1000", "--layers", "784,16,10"]


def _compare(out, *extra):
    return main(
        ["compare", "--optimizers", "sgd,adam", *SMALL, "--out", str(out), "--quiet", *extra]
    )


def test_compare_writes_every_file_and_they_reload(tmp_path, capsys):
    out = tmp_path / "run"
    started = time.perf_counter()
    assert _compare(out, "--set", "adam.lr=0.005") == 0
    elapsed = time.perf_counter() - started
    printed = capsys.readouterr().out
    assert "adam (lr=0.005, beta1=0.9, beta2=0.999, eps=1e-10, weight_decay=0)" in printed
    results = load_results(out / "results.json")
    assert results.kind == "compare" and results.setting.epochs == 2
    assert [(t.optimizer, t.seed, t.status) for t in results.trials] == [
        ("sgd", 0, "completed"),
        ("sgd", 1, "completed"),
        ("adam", 0, "completed"),
        ("adam", 1, "completed"),
    ]
    assert results.trials[2].hyperparameters["lr"] == 0.005
    data = asdict(results.data)
    assert data.pop("files") == {f"mnist/{k}": v for k, v in MNIST_SHA256.items()}
    assert data == {"name": "mnist", "train_samples": 1000, "test_samples": 10000}
    env = results.environment
    assert env.versions["numpy"] == np.__version__ and env.device_name and env.date
    for trial in results.trials:
        assert [e.epoch for e in trial.epochs] == [1, 2]
    # The last epoch's figures are the saved members' scores on the test set, computed
    # here from their weights.
    _, test = load_mnist(dtype="float64")
    for trial in results.trials:
        model = out / "models" / f"{trial.optimizer}.npz"
        accuracy, loss = scores(network_outputs(model, trial.seed, test.images), test.labels)
        assert trial.epochs[-1].test_accuracy == pytest.approx(accuracy, abs=2e-4)
        assert trial.epochs[-1].test_loss == pytest.approx(loss, abs=1e-4)
    # Timings: an epoch's training time is the same for every member of its pass, and
    # the epochs of a pass fit in the pass's seconds, which fit in the command's.
    for index, passed in enumerate(results.passes):
        seconds = {tuple(e.seconds for e in t.epochs) for t in results.trials_of(index)}
        assert len(seconds) == 1, seconds
        epochs = seconds.pop()
        assert all(s > 0 for s in epochs) and sum(epochs) <= passed.seconds <= elapsed
    assert results.wall_seconds == pytest.approx(sum(p.seconds for p in results.passes))
    with open(out / "results.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 4 * 2 and rows[0]["optimizer"] == "sgd" and rows[0]["lr"] == "1.0"
    assert float(rows[-1]["test_accuracy"]) == results.trials[-1].epochs[-1].test_accuracy
    for name in ("accuracy.png", "loss.png", "misclassified.png"):  # what they show:
        assert (out / name).read_bytes()[:8] == PNG  # test_experiment_outputs.py
    assert not (out / "checkpoints").exists()  # a complete experiment keeps none
    model = MLP.load(out / "models" / "adam.npz")
    assert model.members == 2 and model.seeds == [0, 1]
    summary = {row.optimizer: row for row in summarize(results)}
    final = [t.epochs[-1].test_accuracy for t in results.trials if t.optimizer == "sgd"]
    assert summary["sgd"].accuracy_mean == pytest.approx(np.mean(final))
    assert summary["sgd"].accuracy_std == pytest.approx(np.std(final))
    # the file is the JSON form of the typed results, and reads back to the same
    assert json.loads((out / "results.json").read_text()) == results.to_dict()
    assert results.to_dict()["runs"][2]["hyperparameters"]["lr"] == 0.005


def test_sweep_trains_the_grid_in_one_pass_and_names_the_best_rate(tmp_path, capsys):
    out = tmp_path / "sweep"
    drawn = Drawn()
    with drawn.recording():
        code = main(
            [
                "sweep",
                "--optimizer",
                "adam",
                "--lr",
                "0.0001,0.01",
                *SMALL,
                "--out",
                str(out),
                "--quiet",
            ]
        )
    assert code == 0
    printed = capsys.readouterr().out
    assert "best learning rate for adam: 0.01" in printed
    results = load_results(out / "results.json")
    assert len(results.passes) == 1 and len(results.trials) == 4
    # sensitivity.png: final accuracy (%) against the rate, mean and spread over the seeds
    finals = [
        [100 * t.epochs[-1].test_accuracy for t in results.trials if t.hyperparameters["lr"] == lr]
        for lr in (0.0001, 0.01)
    ]
    (bars,) = drawn.of(out / "sensitivity.png").axes[0].containers
    line, _, (spans,) = bars
    np.testing.assert_array_equal(line.get_xdata(), [0.0001, 0.01])
    np.testing.assert_allclose(line.get_ydata(), np.mean(finals, axis=1), rtol=1e-12)
    for (low, high), values in zip(spans.get_segments(), finals):
        assert low[1] == pytest.approx(np.mean(values) - np.std(values), rel=1e-12)
        assert high[1] == pytest.approx(np.mean(values) + np.std(values), rel=1e-12)
    assert MLP.load(out / "models" / "pass-0.npz").members == 4


def _setting(**changes):
    common = {"epochs": 3, "limit_train": 600, "layers": [784, 12, 10], **changes}
    return compare_setting(
        {
            "momentum": {"lr": 0.1, "momentum": 0.8},
            "adam": {"lr": 0.01, "beta1": 0.9, "beta2": 0.999, "eps": 1e-10},
        },
        [3, 4],
        **common,
    )


def _figures_and_models(out):
    results = load_results(out / "results.json")
    figures = [
        [(e.train_loss, e.test_loss, e.test_accuracy) for e in t.epochs] for t in results.trials
    ]
    models = [MLP.load(out / "models" / f"{name}.npz").params for name in ("momentum", "adam")]
    return figures, models


@pytest.mark.parametrize("stop", [(0, 1), (0, 2), (1, 1)], ids=["p0e1", "p0e2", "p1e1"])
def test_resume_after_an_interruption_equals_an_uninterrupted_run(tmp_path, stop):
    """Bit for bit on the CPU: weights, optimizer state, step count and shuffles survive."""
    run_experiment(_setting(), tmp_path / "whole")
    interrupted = tmp_path / "interrupted"
    partial = run_experiment(_setting(), interrupted, stop_after=lambda p, e: (p, e) == stop)
    checkpoint = interrupted / "checkpoints" / f"pass-{stop[0]}.npz"
    assert checkpoint.exists()
    assert not partial.passes[stop[0]].complete
    done = [len(t.epochs) for t in partial.trials if t.pass_index == stop[0]]
    assert done == [stop[1], stop[1]]
    run_experiment(_setting(), interrupted, resume=True)
    assert not checkpoint.exists() and not (interrupted / "checkpoints").exists()
    figures, models = _figures_and_models(interrupted)
    expected_figures, expected_models = _figures_and_models(tmp_path / "whole")
    assert figures == expected_figures
    for params, expected in zip(models, expected_models):
        np.testing.assert_array_equal(params, expected)


def test_cli_resume_continues_where_the_run_stopped(tmp_path, capsys):
    out = tmp_path / "run"
    setting = compare_setting(
        {"sgd": {"lr": 1.0}, "adam": {"lr": 0.01, "beta1": 0.9, "beta2": 0.999, "eps": 1e-10}},
        [0, 1],
        epochs=2,
        limit_train=1000,
        layers=[784, 16, 10],
    )
    run_experiment(setting, out, stop_after=lambda p, e: (p, e) == (1, 1))
    assert _compare(out, "--resume") == 0
    results = load_results(out / "results.json")
    assert all(t.status == "completed" and len(t.epochs) == 2 for t in results.trials)
    whole = tmp_path / "whole"
    assert _compare(whole) == 0

    def figures(results):
        return [
            [(e.train_loss, e.test_loss, e.test_accuracy) for e in t.epochs] for t in results.trials
        ]

    assert figures(results) == figures(load_results(whole / "results.json"))


BAD = [
    (["--optimizers", "sgd,adamz"], "unknown optimizer 'adamz': choose from sgd, momentum"),
    (["--set", "adam-lr=0.1"], "--set takes NAME.PARAM=VALUE"),
    (["--set", "adam.lr=fast"], "'fast' is not a number"),
    (["--set", "adam.momentum=0.9"], "adam has no hyper-parameter 'momentum'"),
    (["--set", "rmsprop.lr=0.1"], "rmsprop is not among the optimizers compared"),
    (["--set", "adam.lr=-1"], "lr must be >= 0"),
    (["--resume", "--overwrite"], "--resume and --overwrite exclude each other"),
    (["--jobs", "2", "--scheduler", "local:2"], "--jobs and --scheduler exclude each other"),
]


@pytest.mark.parametrize(("args", "message"), BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_compare_input_is_one_sentence_and_touches_nothing(args, message, tmp_path, capsys):
    out = tmp_path / "run"
    assert_refused(_compare(out, *args), capsys, re.escape(message))
    assert not out.exists()


@pytest.mark.parametrize("jobs", ["0", "two"])
def test_jobs_must_be_a_positive_integer(jobs, tmp_path, capsys):
    out = tmp_path / "run"
    with pytest.raises(SystemExit) as exit_:
        _compare(out, "--jobs", jobs)
    assert_refused(exit_.value.code, capsys, "--jobs: jobs must be a positive integer, not ")
    assert not out.exists()


def test_an_existing_directory_is_never_overwritten_silently(tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    assert_refused(_compare(out), capsys, r"already holds files \(notes.txt\); choose an empty")
    assert [p.name for p in out.iterdir() if p.name != ".optimlab.lock"] == ["notes.txt"]
    # --overwrite replaces an experiment of ours, but never a results file that is not ours.
    (out / "results.json").write_text('{"something": "else"}')
    assert_refused(_compare(out, "--overwrite"), capsys, "is not an optimlab results file")
    assert (out / "results.json").read_text() == '{"something": "else"}'


def test_resume_refuses_another_setting_and_an_empty_directory(tmp_path, capsys):
    out = tmp_path / "run"
    assert_refused(_compare(tmp_path / "empty", "--resume"), capsys, "nothing to resume")
    assert not (tmp_path / "empty").exists()
    assert _compare(out) == 0
    capsys.readouterr()
    before = (out / "results.json").read_bytes()
    longer = [
        "--optimizers",
        "sgd,adam",
        "--epochs",
        "3",
        "--seeds",
        "2",
        "--limit-train",
        "1000",
        "--layers",
        "784,16,10",
        "--out",
        str(out),
        "--resume",
        "--quiet",
    ]
    assert_refused(
        main(["compare", *longer]),
        capsys,
        "was written with epochs = 2, and this command has epochs = 3: run the same command",
    )
    assert (out / "results.json").read_bytes() == before


def test_an_unwritable_output_directory_is_refused(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert_refused(_compare(blocker / "run"), capsys, "file is not a directory")


def test_plot_refuses_a_results_file_that_is_not_ours(tmp_path, capsys):
    other = tmp_path / "results.json"
    other.write_text(json.dumps({"runs": []}))
    assert_refused(main(["plot", str(other)]), capsys, "is not an optimlab results file")
    assert_refused(main(["plot", str(tmp_path / "missing.json")]), capsys, "does not exist")
    with pytest.raises(DataError):
        load_results(other)


def test_evaluate_scores_train_and_compare_models(tmp_path, capsys):
    saved = tmp_path / "model.json"
    assert (
        main(["train", "--epochs", "1", "--layers", "784,16,10", "--save", str(saved), "--quiet"])
        == 0
    )
    trained = capsys.readouterr().out
    assert main(["evaluate", str(saved)]) == 0
    scored = capsys.readouterr().out
    # the same test accuracy from the saved report-format file as at the end of training
    assert trained.split("test accuracy ")[1][:6] == scored.split("test accuracy ")[1][:6]
    assert_refused(main(["evaluate", str(tmp_path / "missing.npz")]), capsys, "does not exist")


def test_train_resumes_from_its_checkpoint_bit_for_bit(tmp_path, capsys):
    common = [
        "train",
        "--optimizer",
        "adam",
        "--limit-train",
        "1000",
        "--layers",
        "784,16,10",
        "--quiet",
    ]
    whole, part, saved = tmp_path / "whole.npz", tmp_path / "part.npz", tmp_path / "ck.npz"
    assert main([*common, "--epochs", "3", "--save", str(whole)]) == 0
    assert main([*common, "--epochs", "2", "--checkpoint", str(saved)]) == 0
    assert (
        main(
            [*common, "--epochs", "3", "--checkpoint", str(saved), "--resume", "--save", str(part)]
        )
        == 0
    )
    printed = capsys.readouterr().out.splitlines()
    final = [line for line in printed if line.startswith("adam: test accuracy")]
    assert len(final) == 3 and final[0].split(" after")[0] == final[2].split(" after")[0]
    np.testing.assert_array_equal(MLP.load(part).params, MLP.load(whole).params)

    before = saved.read_bytes()
    code = main([*common, "--epochs", "3", "--checkpoint", str(saved)])
    assert_refused(code, capsys, "exists: pass --resume")
    code = main([*common, "--epochs", "3", "--resume"])
    assert_refused(code, capsys, "--resume continues from a --checkpoint FILE")
    code = main([*common, "--lr", "0.5", "--epochs", "4", "--checkpoint", str(saved), "--resume"])
    assert_refused(
        code,
        capsys,
        "written with hyperparameters.lr = 0.01, and this command has hyperparameters.lr = 0.5",
    )
    assert saved.read_bytes() == before


def test_worker_processes_resume_from_the_checkpoints_they_wrote(tmp_path):
    """Two worker processes write each pass's checkpoint; stopped and resumed, still bit for bit."""
    run_experiment(_setting(), tmp_path / "whole")
    out = tmp_path / "parallel"
    partial = run_experiment(_setting(), out, jobs=2, stop_after=lambda p, e: (p, e) == (0, 2))
    assert not partial.passes[0].complete
    assert [len(t.epochs) for t in partial.trials if t.pass_index == 0] == [2, 2]
    assert (out / "checkpoints" / "pass-0.npz").exists()
    resumed = run_experiment(_setting(), out, jobs=2, resume=True)
    assert resumed.complete and not (out / "checkpoints").exists()
    figures, models = _figures_and_models(out)
    expected_figures, expected_models = _figures_and_models(tmp_path / "whole")
    assert figures == expected_figures
    for params, expected in zip(models, expected_models):
        np.testing.assert_array_equal(params, expected)


class _Failures(Reporter):
    """A reporter that keeps each failed pass's index and error."""

    def __init__(self):
        self.failed = []

    def pass_failed(self, index, trials, error):
        self.failed.append((index, str(error)))


def test_a_failing_pass_in_a_worker_process_is_reported_and_the_others_go_on(tmp_path):
    setting = _setting(epochs=1)
    setting.passes[0] = [Trial("momentum", {"momentum": 1.5}, 3)]  # raises in the worker
    reporter = _Failures()
    results = run_experiment(setting, tmp_path / "run", jobs=2, reporter=reporter)
    failed = reporter.failed
    assert [p.complete for p in results.passes] == [False, True]
    assert [index for index, _ in failed] == [0] and "momentum must be in [0, 1)" in failed[0][1]
    assert results.passes[0].error.startswith("ConfigError: momentum must be in [0, 1)")
    from optimlab import ConfigError
    from optimlab.figures import draw_experiment

    with pytest.raises(ConfigError, match="has 1 unfinished pass"):  # a whole run's only
        draw_experiment(results, tmp_path / "run")
    assert not (tmp_path / "run" / "accuracy.png").exists()


def test_a_failing_pass_in_this_process_is_recorded_and_the_others_go_on(
    tmp_path, monkeypatch
):
    """Issue 26: with jobs=1 a pass whose optimizer raised ended the experiment with its
    traceback, where worker processes record it and go on: the same now, wherever it runs."""
    from optimlab import optimizers

    class Broken(optimizers.SGD):
        name = "broken"

        def step(self, params, grads, state, **kwargs):
            raise ValueError("a plugin's bug")

    monkeypatch.setitem(optimizers.OPTIMIZERS, "broken", Broken)
    setting = _setting(epochs=1)
    setting.passes[0] = [Trial("broken", {"lr": 0.1}, 3)]
    reporter = _Failures()
    results = run_experiment(setting, tmp_path / "run", jobs=1, reporter=reporter)
    assert [p.complete for p in results.passes] == [False, True]
    assert reporter.failed == [(0, "a plugin's bug")]
    assert results.passes[0].error == "ValueError: a plugin's bug"
    saved = load_results(tmp_path / "run" / "results.json")
    assert saved.passes[0].error == results.passes[0].error and saved.passes[1].complete


def test_worker_processes_start_the_longest_passes_first(tmp_path):
    from optimlab.experiment.directory import prepare
    from optimlab.experiment.executors import Processes, estimated_cost
    from optimlab.experiment.passes import PassTask

    hyper = {"sgd": {}, "momentum": {}, "adam": {}}
    setting = compare_setting(hyper, [0], epochs=1, limit_train=100, layers=[784, 4, 10])
    assert sorted(range(3), key=lambda i: -estimated_cost(setting, i)) == [2, 1, 0]

    class Order:
        def __init__(self):
            self.started, self.done = [], []

        def pass_started(self, index, resumed_at):
            self.started.append(index)

        def epoch_done(self, index, epoch, seconds, histories):
            pass

        def progress(self, done, total):
            raise AssertionError("no step counts come from worker processes")

        def pass_done(self, record):
            self.done.append(record.index)

        def pass_failed(self, index, error):
            raise error

    order = Order()
    prepare(tmp_path, setting, resume=False, overwrite=False)
    tasks = [PassTask(setting, i, checkpoint=str(tmp_path / f"{i}.npz")) for i in range(3)]
    Processes(1).run(tasks, order, data=None)
    assert order.started == [2, 1, 0] and order.done == [2, 1, 0]


def _imports(package):
    """Module -> the modules of ``package`` it imports, and every top-level library it does.

    ``from . import name`` imports the module ``name`` if there is one, else the
    package's ``__init__`` (the pattern of the old cycle).
    """
    import ast
    from pathlib import Path

    import optimlab

    root = Path(optimlab.__file__).parent / package
    prefix = f"optimlab.{package}"
    names = {p.stem: p for p in root.glob("*.py")}
    modules = {(prefix if stem == "__init__" else f"{prefix}.{stem}") for stem in names}
    graph, libraries = {}, {}
    for stem, path in names.items():
        name = prefix if stem == "__init__" else f"{prefix}.{stem}"
        edges, libs = set(), set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                libs.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                if node.level == 0:
                    libs.add(node.module.split(".")[0])
                elif node.level == 1 and node.module:
                    edges.add(f"{prefix}.{node.module.split('.')[0]}")
                elif node.level == 1:
                    for alias in node.names:
                        target = f"{prefix}.{alias.name}"
                        edges.add(target if target in modules else prefix)
        graph[name], libraries[name] = edges & modules, libs
    return graph, libraries


@pytest.mark.parametrize("package", ["experiment", "cli"])
def test_no_module_imports_one_that_imports_it(package):
    graph, libraries = _imports(package)

    def reaches(start, goal, seen=frozenset()):
        return any(
            target == goal or (target not in seen and reaches(target, goal, seen | {target}))
            for target in graph[start]
        )

    assert [name for name in graph if reaches(name, name)] == []
    for name, libs in libraries.items():
        assert not libs & {"torch", "cupy"}, name
