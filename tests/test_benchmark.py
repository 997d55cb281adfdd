"""optimlab benchmark: the protocol keeps the test set out of every choice, selects the
setting the validation figures favour, resumes exactly, runs on Dask, and reports."""

from __future__ import annotations

import csv
import dataclasses
import json
import math

import numpy as np
import pytest

from helpers import assert_refused, write_idx, write_mnist_subset
from optimlab import ConfigError, problems
from optimlab.benchmark import Benchmark, report, run_benchmark, selection, spaces
from optimlab.cli import main
from optimlab.experiment import directory
from optimlab.train import EpochRecord

SMALL = {"epochs": 2, "limit_train": 1500, "layers": [784, 8, 10]}


def _small(**changes):
    """Two optimizers, three learning rates each, two seeds, two studies: a benchmark of
    seconds."""
    fields = {
        "optimizers": ("sgd", "adam"),
        "budget": 3,
        "seeds": 2,
        "studies": 2,
        "validation": 500,
        "setting": dict(SMALL),
        **changes,
    }
    return Benchmark(**fields)


def _figures(outcome):
    """Everything a benchmark computed, without the clock and the environment."""
    out = {}
    for phase in ("tuning", "final"):
        for studies in getattr(outcome, phase).values():
            out[phase] = [
                (t.optimizer, t.seed, t.status, t.hyperparameters, [_numbers(e) for e in t.epochs])
                for results in studies
                for t in results.trials
            ]
    return out, outcome.selected


def _numbers(e):
    """The epoch's figures, ``nan`` as None (``nan != nan`` would make equal runs differ)."""
    figures = (e.train_loss, e.validation_accuracy, e.validation_loss, e.test_accuracy, e.test_loss)
    return tuple(None if math.isnan(f) else f for f in figures)


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench") / "b"
    return out, run_benchmark(_small(), out, jobs=1)


# ---------------------------------------------------------------- the protocol


def test_the_test_set_never_influences_a_choice(tmp_path):
    """The same benchmark on data whose test labels are permuted: every tuning trial and
    every selection are the same; only the final runs' test figures differ."""
    plain, permuted = tmp_path / "plain", tmp_path / "permuted"
    for folder in (plain, permuted):
        folder.mkdir()
        write_mnist_subset(folder, n_train=1500, n_test=500)
    labels = np.fromfile(permuted / "t10k-labels-idx1-ubyte", dtype=np.uint8, offset=8)
    write_idx(permuted / "t10k-labels-idx1-ubyte", np.random.default_rng(0).permutation(labels))
    outcomes = [
        run_benchmark(_small(setting={**SMALL, "data": str(d)}), tmp_path / f"out{i}", jobs=1)
        for i, d in enumerate((plain, permuted))
    ]
    (a, selected_a), (b, selected_b) = (_figures(o) for o in outcomes)
    assert selected_a == selected_b
    assert a["tuning"] == b["tuning"]
    for run in a["tuning"]:  # the tuning never even evaluated the test set
        assert all(f[3] is None and math.isfinite(f[1]) for f in run[4])
    assert [r[4] for r in a["final"]] != [r[4] for r in b["final"]]
    assert [[f[:3] for f in r[4]] for r in a["final"]] == [
        [f[:3] for f in r[4]] for r in b["final"]
    ]


def test_the_validation_split_is_held_out_and_the_same_for_everyone(finished):
    _, outcome = finished
    for studies in (*outcome.tuning.values(), *outcome.final.values()):
        for s, results in enumerate(studies):
            assert results.data.train_samples == 1500 - 500
            assert results.setting.validation == 500
            assert results.setting.split_seed == outcome.benchmark.study(s).split_seed
    from optimlab import load_mnist
    from optimlab.experiment.data import split_validation

    train, _ = load_mnist()
    kept, held = split_validation(train.head(1500), 500)
    images = np.asarray(train.images[:1500])
    rows = {r.tobytes() for r in np.asarray(held.images)}
    assert kept.n == 1000 and held.n == 500
    assert not rows & {r.tobytes() for r in np.asarray(kept.images)}
    assert rows <= {r.tobytes() for r in images}
    again = split_validation(train.head(1500), 500)[1]
    np.testing.assert_array_equal(np.asarray(again.labels), np.asarray(held.labels))


def test_the_known_best_learning_rate_is_selected(tmp_path, monkeypatch):
    """SGD over 1e-8, 1e-4 and 1: after two epochs only lr = 1 has learned anything, by
    far; selection by validation loss, by accuracy and by a target all find it."""
    monkeypatch.setitem(spaces.SPACES, "sgd", (spaces.Dimension("lr", 1e-8, 1.0),))
    for i, how in enumerate(({"select": "val_loss"}, {"select": "val_accuracy"}, {"target": 0.5})):
        outcome = run_benchmark(
            _small(optimizers=("sgd",), seeds=1, studies=1, **how), tmp_path / str(i), jobs=1
        )
        trials = outcome.tuning["report"][0].trials
        assert [t.hyperparameters["lr"] for t in trials] == [1e-8, 1e-4, 1.0]
        assert outcome.selected["report"] == [{"sgd": trials[2].hyperparameters}]
        assert outcome.selected["report"][0]["sgd"]["lr"] == 1.0
        assert (
            trials[2].epochs[-1].validation_accuracy
            > trials[1].epochs[-1].validation_accuracy + 0.3
        )


def _curves(finals, key="validation_loss", epochs=3):
    """One trial per final value of ``key``: earlier epochs worse, the other figure flat."""
    other = "validation_accuracy" if key == "validation_loss" else "validation_loss"
    sign = 1.0 if key == "validation_loss" else -1.0
    return [
        [
            EpochRecord(
                e, 1.0, math.nan, math.nan, 0.1, **{key: v + sign * 0.01 * (epochs - e), other: 0.5}
            )
            for e in range(1, epochs + 1)
        ]
        for v in finals
    ]


def test_selection_reads_the_last_epoch_and_never_prefers_a_diverged_trial():
    lrs = [10.0**k for k in range(-4, 1)]
    best = 1e-2
    losses = [0.1 + (math.log10(lr) - math.log10(best)) ** 2 for lr in lrs]  # minimum at 1e-2
    trials = _curves(losses)
    assert selection.select(trials, "val_loss", epochs=3) == 2
    diverged = _curves([0.0])[0][:2]  # stopped after two epochs, with a "better" loss
    assert selection.select([*trials, diverged], "val_loss", epochs=3) == 2
    accuracy = _curves([0.90, 0.97, 0.93], key="validation_accuracy")
    assert selection.select(accuracy, "val_accuracy", epochs=3) == 1
    nan = _curves([math.nan, 0.5])
    assert selection.select(nan, "val_loss", epochs=3) == 1
    with pytest.raises(ConfigError, match="select must be one of"):
        selection.select(trials, "test_accuracy", epochs=3)


def test_with_a_target_the_fastest_trial_wins_and_ties_go_to_the_criterion():
    def curve(accuracies, final_loss):
        return [
            EpochRecord(e + 1, 1.0, math.nan, math.nan, 0.1, a, final_loss)
            for e, a in enumerate(accuracies)
        ]

    slow = curve([0.80, 0.90, 0.99], 0.10)
    fast = curve([0.95, 0.96, 0.96], 0.30)
    fast_better = curve([0.95, 0.97, 0.97], 0.20)
    never = curve([0.5, 0.6, 0.7], 0.01)
    assert selection.epochs_to_target(slow, 0.95) == 3
    assert selection.epochs_to_target(never, 0.95) == math.inf
    assert selection.select([slow, fast, never], target=0.95, epochs=3) == 1
    assert selection.select([slow, fast, fast_better], target=0.95, epochs=3) == 2
    assert selection.select([never, never[:2]], target=0.95, epochs=3) == 0  # none reach it


def test_the_profile_figure(tmp_path):
    """Three optimizers on two problems: the steps of ρ(τ) where the ratios say."""
    import matplotlib.image

    from optimlab.figures import plot_profile

    taus = report.TAUS
    rho = selection.profile({"a": {"x": 1.0, "y": 2.0}, "b": {"x": 3.0, "y": 3.0}}, taus)
    assert rho["x"][0] == 1.0 and rho["y"][0] == 0.5 and rho["y"][-1] == 1.0
    path = plot_profile(rho, taus, tmp_path / "profile.png")
    pixels = matplotlib.image.imread(path)
    assert (
        pixels.shape[1] > 600 and len(np.unique(pixels.reshape(-1, pixels.shape[-1]), axis=0)) > 10
    )


def test_plateau_and_the_performance_profile():
    assert selection.plateau([0.95, 0.948, 0.94, math.nan]) == 0.5
    assert math.isnan(selection.plateau([math.nan]))
    times = {"a": {"x": 2.0, "y": 4.0, "z": math.inf}, "b": {"x": 4.5, "y": 3.0, "z": 6.0}}
    taus = np.linspace(1, 4, 301)
    rho = selection.profile(times, taus)
    at = {t: i for i, t in enumerate(np.round(taus, 2))}
    assert rho["x"][at[1.0]] == 0.5 and rho["x"][at[1.5]] == 1.0  # 3/2 on b
    assert rho["y"][at[1.0]] == 0.5 and rho["y"][at[1.99]] == 0.5 and rho["y"][at[2.0]] == 1.0
    assert rho["z"][at[1.99]] == 0.0 and rho["z"][at[2.0]] == 0.5  # never reaches on a
    assert selection.profile_score([1.0] * len(taus), taus) == pytest.approx(1.0)
    # x: 1/2 on [1, 1.5), then 1: (0.5 * 0.5 + 2.5) / 3
    assert selection.profile_score(rho["x"], taus) == pytest.approx(2.75 / 3, abs=1e-2)


def test_search_spaces_grid_and_random():
    grid = spaces.grid("adam", 8)
    lrs = [g["lr"] for g in grid]
    assert lrs[0] == 1e-5 and lrs[-1] == 0.1
    assert np.allclose(np.diff(np.log(lrs)), np.log(1e4) / 7, rtol=1e-5)
    first, again, other = (spaces.random("adamw", 16, s) for s in (0, 0, 1))
    assert first == again and first != other
    for point in first:
        for d in spaces.space("adamw"):
            assert d.low <= point[d.name] <= d.high
    # quasi-random: the 16 learning rates cover each quarter of the log range
    u = (np.log([p["lr"] for p in first]) - np.log(1e-5)) / np.log(1e4)
    assert sorted(np.histogram(u, bins=4, range=(0, 1))[0]) == [4, 4, 4, 4]
    beta2 = spaces.Dimension("beta2", 0.99, 0.9999, "log1m")
    assert beta2.at(0.5) == pytest.approx(0.999)
    assert set(spaces.SPACES) == set(__import__("optimlab").optimizers.OPTIMIZERS)


# ---------------------------------------------------------------- resume, Dask


def test_an_interrupted_benchmark_resumes_to_the_uninterrupted_figures(tmp_path, finished):
    out = tmp_path / "b"
    # study 0's tuning: adam's first epoch; its final runs: sgd's first; study 1's
    # tuning: sgd's first
    stops = iter([(1, 1), (0, 1), (0, 1)])
    stop = next(stops)

    def stop_after(index, epoch):
        nonlocal stop
        if (index, epoch) == stop:
            stop = next(stops, None)
            return True
        return False

    first = run_benchmark(_small(), out, stop_after=stop_after, jobs=1)
    assert not first.complete and first.final["report"] == []
    assert not (out / "results.json").exists()
    with pytest.raises(ConfigError, match="already holds a benchmark; pass --resume"):
        run_benchmark(_small(), out, jobs=1)
    second = run_benchmark(_small(), out, resume=True, stop_after=stop_after, jobs=1)
    assert not second.complete and second.final["report"][0].trials[0].epochs
    third = run_benchmark(_small(), out, resume=True, stop_after=stop_after, jobs=1)
    assert not third.complete and len(third.tuning["report"]) == 2
    assert third.final["report"][0].complete and len(third.final["report"]) == 1
    fourth = run_benchmark(_small(), out, resume=True, jobs=1)
    assert fourth.complete
    assert _figures(fourth) == _figures(finished[1])
    with pytest.raises(
        ConfigError, match="was written with seeds = 2, and this command has seeds = 3"
    ):
        run_benchmark(_small(seeds=3), out, resume=True, jobs=1)


def test_a_benchmark_on_dask_equals_the_local_one(tmp_path, finished):
    pytest.importorskip("distributed", reason="Dask's distributed package is not installed")
    outcome = run_benchmark(_small(), tmp_path / "dask", scheduler="local:2", jobs=None)
    assert outcome.complete
    assert _figures(outcome) == _figures(finished[1])


# ---------------------------------------------------------------- the report


def test_the_report_files(finished):
    out, outcome = finished
    d = json.loads((out / "results.json").read_text())
    assert d["format"] == "optimlab.results" and d["kind"] == "benchmark-final"
    chosen = outcome.selected["report"]  # per study
    assert d["selected"] == {name: [c[name] for c in chosen] for name in ("sgd", "adam")}
    # two optimizers x two studies x two seeds; study 1's seeds are its own
    assert len(d["runs"]) == 2 * 2 * 2
    assert {(r["study"], r["seed"]) for r in d["runs"]} == {
        (0, 1),
        (0, 2),
        (1, 100_002),
        (1, 100_003),
    }
    for run in d["runs"]:
        assert run["hyperparameters"] == d["selected"][run["optimizer"]][run["study"]]
        for e in run["epochs"]:
            assert {"test_accuracy", "test_loss", "train_loss", "validation_accuracy"} <= set(e)
    assert len(d["trials"]) == 2 * 3 * 2
    tuning_seeds = {0: 0, 1: 100_001}
    assert all(
        len(t["validation_loss"]) == 2 and t["seed"] == tuning_seeds[t["study"]]
        for t in d["trials"]
    )
    assert [s["tuning_seed"] for s in d["studies"]] == [0, 100_001]
    with open(out / "results.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2 * 2 * 2 * 2 and float(rows[0]["validation_accuracy"]) > 0.1
    assert {r["study"] for r in rows} == {"0", "1"}
    import matplotlib.image

    for name in ("sensitivity.png", "tuning.png", "accuracy.png", "loss.png"):
        pixels = matplotlib.image.imread(out / name)
        assert (
            pixels.shape[0] > 300
            and len(np.unique(pixels.reshape(-1, pixels.shape[-1]), axis=0)) > 20
        )
    text = (out / "report.md").read_text()
    table = report.rows(outcome)
    assert [r.rank for r in table] == [1, 2]
    assert table[0].accuracy_mean >= table[1].accuracy_mean
    for row in table:
        assert f"| {row.rank} | {row.optimizer} |" in text
        accs = [
            t.epochs[-1].test_accuracy
            for final in outcome.final["report"]
            for t in final.trials
            if t.optimizer == row.optimizer
        ]
        assert len(accs) == 4 and row.accuracy_mean == pytest.approx(np.mean(accs))
    assert "![sensitivity](sensitivity.png)" in text and "(tuning.png)" in text
    for row in table:  # the edge flag: a study's selected lr is the grid's first or last
        lrs = [g["lr"] for g in spaces.grid(row.optimizer, 3)]
        assert row.edge == any(chosen["lr"] in (lrs[0], lrs[-1]) for chosen in row.selected)


def test_tuning_png_draws_the_expected_best_of_k_trials(monkeypatch, tmp_path):
    """Issue 24, item 3: each method's curve is its expected best validation figure for
    k = 1 .. budget (accuracy in percent; a loss on a log scale); a method without one
    (every trial of a study diverged) is left out."""
    from optimlab.figures import benchmark as drawn

    kept = {}
    monkeypatch.setattr(drawn, "save_png", lambda fig, path, dpi: kept.setdefault("fig", fig))
    curves = {"sgd": [0.90, 0.935, 0.95], "adam": [0.92, 0.94, 0.9475], "lion": []}
    drawn.plot_expected_best(curves, True, tmp_path / "tuning.png", studies=3)
    (ax,) = kept["fig"].axes
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert set(lines) == {"sgd", "adam"}
    np.testing.assert_allclose(lines["sgd"].get_ydata(), [90.0, 93.5, 95.0])
    np.testing.assert_array_equal(lines["adam"].get_xdata(), [1, 2, 3])
    assert "3 studies" in ax.get_title() and ax.get_yscale() == "linear"
    kept.clear()
    drawn.plot_expected_best({"sgd": [2.0, 1.0]}, False, tmp_path / "t.png")
    assert kept["fig"].axes[0].get_yscale() == "log"


def test_the_table_statistics_in_results_json_are_scipy_s_of_its_runs(finished):
    """Every row's statistics, recomputed with scipy from the runs and trials stored in
    the same results.json (two rows: Holm over one comparison leaves Welch's p)."""
    from itertools import combinations

    from scipy import stats

    out, _ = finished
    d = json.loads((out / "results.json").read_text())
    table = d["table"]
    assert [r["rank"] for r in table] == [1, 2]

    def finals(row, figure):
        return [
            run["epochs"][-1][figure]
            for run in d["runs"]
            if run["optimizer"] == row["optimizer"] and run["status"] == "completed"
        ]

    best = finals(table[0], "test_accuracy")
    for row in table:
        acc, loss = finals(row, "test_accuracy"), finals(row, "test_loss")
        assert row["studies"] == 2 and row["n"] == len(acc) == 4
        assert row["accuracy_mean"] == pytest.approx(np.mean(acc))
        assert row["accuracy_std"] == pytest.approx(np.std(acc, ddof=1))
        assert row["loss_std"] == pytest.approx(np.std(loss, ddof=1))
        lo, hi = row["accuracy_ci95"]
        assert min(acc) <= lo <= np.mean(acc) <= hi <= max(acc)
        lo, hi = row["loss_ci95"]
        assert min(loss) <= lo <= np.mean(loss) <= hi <= max(loss)
        assert len(row["rank_ci95"]) == 2 and 1 <= row["rank_ci95"][0] <= row["rank_ci95"][1] <= 2
        tuned = [  # per study: k trials are drawn from one study's, then averaged
            [
                t["validation_accuracy"][-1]
                for t in d["trials"]
                if t["optimizer"] == row["optimizer"] and t["study"] == study
            ]
            for study in (0, 1)
        ]
        assert len(row["expected_best_validation"]) == len(tuned[0]) == 3
        for k, got in enumerate(row["expected_best_validation"], start=1):
            per_study = [np.mean([max(c) for c in combinations(t, k)]) for t in tuned]
            assert got == pytest.approx(np.mean(per_study))
        if row["rank"] == 1:
            assert row["p_vs_best"] is None and row["tied_with_best"] is True
        else:
            p = stats.ttest_ind(acc, best, equal_var=False).pvalue
            assert row["p_vs_best"] == pytest.approx(p)
            assert row["tied_with_best"] == (p >= 0.05)
        assert "tuneability" not in row and 0 < row["plateau"] <= 1
    text = (out / "report.md").read_text()
    assert "vs best" in text and "rank 95%" in text and "2000 resamples" in text


def test_the_default_target_is_the_problem_s_own_and_written_with_its_source(finished):
    out, outcome = finished
    assert report.target(outcome, "report") == 0.94  # the report network's, in catalog.py
    source = report.target_source(outcome, "report")
    assert source.startswith("the problem's own (docs/benchmark.md")
    d = json.loads((out / "results.json").read_text())
    assert (d["target"], d["target_source"]) == (0.94, source)
    assert f"report: 94.00% validation accuracy, {source}" in (out / "report.md").read_text()
    # the time to target: steps and seconds beside the epochs, at the first epoch reached
    final = outcome.final["report"][0]
    per_epoch = math.ceil(final.data.train_samples / final.setting.batch_size)
    for row in report.rows(outcome):  # every study holds out as many samples
        assert row.steps_to_target == row.epochs_to_target * per_epoch
        assert (0 < row.seconds_to_target < math.inf) == math.isfinite(row.epochs_to_target)


def test_a_problem_without_a_target_counts_to_the_best_final_accuracy_less_half_a_point(
    finished, monkeypatch
):
    _, outcome = finished
    own = dataclasses.replace(problems.get("report"), target=None)
    monkeypatch.setattr(problems, "PROBLEMS", {**problems.PROBLEMS, "report": own})
    best = max(  # over every study's final runs
        np.mean(
            [
                t.epochs[-1].validation_accuracy
                for final in outcome.final["report"]
                for t in final.trials_of(i)
            ]
        )
        for i in range(2)
    )
    assert report.target(outcome, "report") == pytest.approx(best - 0.005)
    assert report.target_source(outcome, "report") == (
        "the best optimizer's mean final validation accuracy less 0.5 points"
    )


def test_several_problems_add_the_performance_profile(tmp_path, monkeypatch):
    """The report's network and DeepOBS's logistic regression: a table per problem, a
    profile score per optimizer computed from the steps to each problem's target (the
    relative one: 2 epochs on 1500 samples reach neither problem's own)."""
    relative = {
        n: dataclasses.replace(problems.get(n), target=None) for n in ("report", "mnist_logreg")
    }
    monkeypatch.setattr(problems, "PROBLEMS", {**problems.PROBLEMS, **relative})
    setting = {"epochs": 2, "limit_train": 1500}
    bench = _small(problems=("report", "mnist_logreg"), setting=setting, seeds=1, studies=1)
    outcome = run_benchmark(bench, tmp_path / "b", jobs=1)
    logreg = outcome.final["mnist_logreg"][0].setting
    assert (logreg.layers, logreg.batch_size, logreg.init) == ([784, 10], 128, "zeros")
    assert outcome.final["report"][0].setting.layers == [784, 30, 10]
    table = report.rows(outcome)
    assert [(r.problem, r.rank) for r in table] == [
        ("report", 1),
        ("report", 2),
        ("mnist_logreg", 1),
        ("mnist_logreg", 2),
    ]
    times = {
        p: {r.optimizer: r.steps_to_target for r in table if r.problem == p} for p in bench.problems
    }
    rho = selection.profile(times, report.TAUS)
    for row in table:
        assert row.score == pytest.approx(selection.profile_score(rho[row.optimizer], report.TAUS))
    assert max(r.score for r in table) > 0
    for problem in bench.problems:
        assert (tmp_path / "b" / problem / "sensitivity.png").is_file()
    assert (tmp_path / "b" / "profile.png").is_file()
    text = (tmp_path / "b" / "report.md").read_text()
    assert "profile score" in text and "![test accuracy](mnist_logreg/accuracy.png)" in text
    d = json.loads((tmp_path / "b" / "results.json").read_text())
    assert set(d["problems"]) == {"report", "mnist_logreg"}
    assert d["problems"]["mnist_logreg"]["selected"].keys() == {"sgd", "adam"}


# ---------------------------------------------------------------- the command line


def _cli(tmp_path, *extra):
    """``optimlab benchmark`` on a tiny setting; argparse's refusals as exit codes."""
    argv = ["benchmark", "--optimizers", "sgd", "--grid", "2", "--seeds", "1", "--epochs", "1"]
    argv += ["--limit-train", "800", "--validation", "300", "--layers", "784,8,10"]
    try:
        return main([*argv, "--jobs", "1", "--quiet", *extra])
    except SystemExit as exit_:
        return exit_.code


def test_the_command_prints_the_table_and_refuses_bad_input(tmp_path, capsys):
    out = tmp_path / "cli"
    assert _cli(tmp_path, "--out", str(out)) == 0
    printed = capsys.readouterr().out
    assert "rank" in printed and "sgd" in printed and (out / "report.md").is_file()
    cases = [
        (["--out", str(out)], "already holds a benchmark; pass --resume"),
        (["--out", str(tmp_path / "x"), "--validation", "800"], "hold out from 1 to 799"),
        (
            ["--out", str(tmp_path / "x"), "--trials", "4"],
            "--trials is the budget of --search random",
        ),
        (["--out", str(tmp_path / "x"), "--problems", "cifar"], "unknown problem 'cifar'"),
        (["--out", str(tmp_path / "x"), "--target", "150"], "not an accuracy"),
        (["--out", str(tmp_path / "x"), "--optimizers", "sgd,nope"], "nope"),
        (
            ["--out", str(out), "--resume", "--seeds", "2"],
            "seeds = 1, and this command has seeds = 2",
        ),
    ]
    for extra, message in cases:
        assert_refused(_cli(tmp_path, *extra), capsys, message)
    assert not (tmp_path / "x").exists()


def test_overwrite_removes_only_the_benchmarks_files(tmp_path, capsys):
    out = tmp_path / "cli"
    assert _cli(tmp_path, "--out", str(out)) == 0
    (out / "notes.txt").write_text("mine")
    (out / "report" / "study-1" / "tuning" / "mine.txt").write_text("mine too")
    assert _cli(tmp_path, "--out", str(out), "--overwrite", "--grid", "3", "--studies", "1") == 0
    capsys.readouterr()
    assert (out / "notes.txt").read_text() == "mine"
    assert (out / "report" / "study-1" / "tuning" / "mine.txt").read_text() == "mine too"
    # study 2 of the three before is gone whole, its directories too
    assert not (out / "report" / "study-2").exists()
    assert sorted(p.name for p in (out / "report" / "study-1" / "tuning").iterdir()) == ["mine.txt"]
    d = json.loads((out / "results.json").read_text())
    assert len(d["trials"]) == 3 and d["benchmark"]["studies"] == 1
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "data.bin").write_text("x")
    assert_refused(_cli(tmp_path, "--out", str(foreign)), capsys, "already holds files")
    (foreign / "report.md").write_text("my report")
    message = "report.md was not written by optimlab; move it away"
    assert_refused(_cli(tmp_path, "--out", str(foreign), "--overwrite"), capsys, message)
    assert (foreign / "report.md").read_text() == "my report"
    assert sorted(p.name for p in foreign.iterdir()) == ["data.bin", "report.md"]
    with directory.lock(out):  # another process at work in it
        assert_refused(
            _cli(tmp_path, "--out", str(out), "--resume", "--grid", "3", "--studies", "1"),
            capsys,
            "in use by",
        )


# ------------------------------------------- validated before the directory is touched

TINY = ["benchmark", "--optimizers", "sgd", "--grid", "2", "--seeds", "1", "--epochs", "1"]
TINY += ["--limit-train", "800", "--validation", "300", "--layers", "784,8,10", "--quiet"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--layers", "784,8,5", "--jobs", "1"], "the network's output layer has 5"),
        (["--scheduler", "local:0"], "needs a positive number of workers, not 'local:0'"),
        (["--scheduler", "tcp://localhost:notaport"], "cannot reach the Dask scheduler"),
        (["--scheduler", "local:2", "--no-dask"], "needs Dask's distributed package"),
        (
            ["--seeds", "100000", "--layers", "784,1000,10", "--jobs", "1"],
            r"100000 member\(s\) of a 784-1000-10 network need about",
        ),
        (["--grid", "99999999999999999999999", "--jobs", "1"], "budget must be at most 100,000"),
        # TINY's grid takes no seed at all (a random search's -1: the library's test below)
        (["--search-seed", "-1", "--jobs", "1"], "--search-seed seeds --search random"),
        (["--studies", "0"], "studies must be a positive integer, not 0"),
        (["--studies", "2.5"], "studies must be a positive integer, not '2.5'"),
        (["--studies", "101", "--jobs", "1"], "studies must be at most 100, not 101"),
        (["--study-seed", "-1"], "study_seed must be an integer from 0 to 999,999, not '-1'"),
        (["--study-seed", "x"], "study_seed must be an integer from 0 to 999,999, not 'x'"),
        (["--study-seed", "1000000"], "from 0 to 999,999, not '1000000'"),
        (["--schedules", "constant,nope"], "--schedules: unknown schedule 'nope'"),
        (["--schedules", "cosine,cosine"], "each schedule may be named once in --schedules"),
        (["--schedules", "wsd:warmup=1"], "schedule wsd needs"),
        (
            ["--schedule", "cosine", "--schedules", "constant,cosine", "--jobs", "1"],
            "--schedule and --schedules exclude each other",
        ),
    ],
    ids=[
        *("layers", "local-0", "bad-address", "no-dask", "seeds-memory", "huge-grid", "seed"),
        *("studies-0", "studies-float", "studies-101", "study-seed-negative"),
        *("study-seed-text", "study-seed-huge"),
        *("schedules-unknown", "schedules-twice", "schedules-incomplete", "schedule-and-schedules"),
    ],
)
def test_a_refused_benchmark_touches_nothing(tmp_path, capsys, monkeypatch, extra, message):
    if "--no-dask" in extra:
        extra = [e for e in extra if e != "--no-dask"]
        monkeypatch.setitem(__import__("sys").modules, "distributed", None)  # not installed
    out = tmp_path / "b"
    try:
        code = main([*TINY, *extra, "--out", str(out)])
    except SystemExit as exit_:  # argparse's refusals
        code = exit_.code
    assert_refused(code, capsys, message)
    assert not out.exists()  # no benchmark.json, so the corrected command is not refused


def test_the_library_refuses_before_making_the_directory(tmp_path):
    with pytest.raises(ConfigError, match="jobs must be a positive integer, not 0"):
        run_benchmark(_small(), tmp_path / "b", jobs=0)
    assert not (tmp_path / "b").exists()
    with pytest.raises(ConfigError, match="search_seed must be an integer >= 0, not -1"):
        _small(search="random", search_seed=-1)
    with pytest.raises(ConfigError, match="studies must be a positive integer, not 0"):
        _small(studies=0)
    with pytest.raises(ConfigError, match="studies must be at most 100, not 101"):
        _small(studies=101)
    for bad in (-1, True, 1.0, 1_000_000):
        with pytest.raises(ConfigError, match="study_seed must be an integer from 0 to 999,999"):
            _small(study_seed=bad)
    with pytest.raises(ConfigError, match="--schedules: unknown schedule 'nope'"):
        _small(schedules=("constant", "nope"))
    with pytest.raises(ConfigError, match="each schedule may be named once"):
        _small(schedules=("cosine", " cosine"))
    with pytest.raises(ConfigError, match="--schedule and --schedules exclude each other"):
        _small(schedules=("cosine",), options={"sgd": {"schedule": "linear"}})


def test_a_failed_overwrite_removes_nothing(tmp_path, capsys, monkeypatch):
    import os
    import pathlib

    out = tmp_path / "cli"
    assert _cli(tmp_path, "--out", str(out)) == 0
    capsys.readouterr()
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    tuning = out / "report" / "study-0" / "tuning"
    # report/study-0/tuning read-only, as the system shows it to a user who is not root
    access, unlink = os.access, pathlib.Path.unlink
    monkeypatch.setattr(
        os, "access", lambda p, mode, **kw: pathlib.Path(p) != tuning and access(p, mode, **kw)
    )

    def refused(path, missing_ok=False):
        if path.parent == tuning:
            raise PermissionError(13, "Permission denied", str(path))
        unlink(path, missing_ok=missing_ok)

    monkeypatch.setattr(pathlib.Path, "unlink", refused)
    code = _cli(tmp_path, "--out", str(out), "--overwrite", "--grid", "3")
    assert_refused(code, capsys, "cannot write into .*report/study-0/tuning: permission denied")
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


def test_a_benchmark_stopped_before_its_first_epoch_is_no_dead_end(tmp_path, capsys, monkeypatch):
    import importlib

    benchmark_command = importlib.import_module("optimlab.cli.benchmark_command")

    def stop(*args):
        raise KeyboardInterrupt

    out = tmp_path / "cli"
    with monkeypatch.context() as patch:
        patch.setattr(benchmark_command._Display, "pass_started", stop)
        assert _cli(tmp_path, "--out", str(out)) == 130
    err = capsys.readouterr().err
    assert "no epoch was complete, so nothing is saved: run the same command" in err
    assert (out / "benchmark.json").is_file()
    assert _cli(tmp_path, "--out", str(out)) == 0  # the same command starts it again


# ---------------------------------------------------------------- schedules


def test_schedules_make_each_optimizer_and_schedule_a_method(tmp_path, finished):
    """--schedules constant,cosine: four rows, each method tuned with the full budget,
    selected and rerun on its own; the cosine trials carry the schedule and train
    otherwise than the constant ones, which train as the optimizer without schedules
    does (the same figures as ``finished``'s study 0, whose seeds and split they share)."""
    bench = _small(schedules=("constant", "cosine"), studies=1)
    out = tmp_path / "b"
    outcome = run_benchmark(bench, out, jobs=1)
    labels = ["sgd+constant", "sgd+cosine", "adam+constant", "adam+cosine"]
    assert [m.label for m in bench.methods] == labels
    tuning, final = outcome.tuning["report"][0], outcome.final["report"][0]
    assert [len(p) for p in tuning.setting.passes] == [3] * 4  # the full budget each
    assert [len(p) for p in final.setting.passes] == [2] * 4
    for index, label in enumerate(labels):
        want = {"schedule": "cosine"} if label.endswith("cosine") else {}
        for t in tuning.trials_of(index) + final.trials_of(index):
            assert t.options == want and t.optimizer == label.split("+")[0]
    before = finished[1].tuning["report"][0]
    for index, name in ((0, "sgd"), (2, "adam")):
        constant, cosine = tuning.trials_of(index), tuning.trials_of(index + 1)
        plain = before.trials_of(("sgd", "adam").index(name))
        assert [_numbers(e) for t in constant for e in t.epochs] == [
            _numbers(e) for t in plain for e in t.epochs
        ]
        # same learning rates and seed: the schedule alone makes the difference
        assert [t.hyperparameters for t in cosine] == [t.hyperparameters for t in constant]
        last = [[_numbers(t.epochs[-1]) for t in trials] for trials in (cosine, constant)]
        assert last[0] != last[1]
    table = report.rows(outcome)
    assert sorted(r.method for r in table) == sorted(labels)
    assert {r.method: (r.optimizer, r.schedule) for r in table} == {
        "sgd+constant": ("sgd", "constant"),
        "sgd+cosine": ("sgd", "cosine"),
        "adam+constant": ("adam", "constant"),
        "adam+cosine": ("adam", "cosine"),
    }
    d = json.loads((out / "results.json").read_text())
    assert list(d["selected"]) == labels
    assert [r["method"] for r in d["table"]] == [r.method for r in table]
    assert {r["method"] for r in d["runs"]} == set(labels)
    cosine_runs = [r for r in d["runs"] if r["method"].endswith("cosine")]
    assert cosine_runs and all(r["options"] == {"schedule": "cosine"} for r in cosine_runs)
    assert all(len([t for t in d["trials"] if t["method"] == m]) == 3 for m in labels)
    with open(out / "results.csv", newline="") as f:
        assert {r["method"] for r in csv.DictReader(f)} == set(labels)
    assert json.loads((out / "benchmark.json").read_text())["schedules"] == ["constant", "cosine"]
    text = (out / "report.md").read_text()
    assert "**Schedules:** constant, cosine" in text and "| adam+cosine |" in text


def test_the_command_takes_a_schedule_and_schedules(tmp_path, capsys):
    """--schedule on benchmark: durations in epochs against the run's real steps (it was
    refused); --schedules splits at the commas that start a schedule's name, not at
    those between one schedule's arguments."""
    one = tmp_path / "one"
    argv = ["--epochs", "2", "--studies", "1", "--out", str(one)]
    assert _cli(tmp_path, *argv, "--schedule", "warmup_cosine:warmup=1") == 0, capsys.readouterr()
    d = json.loads((one / "results.json").read_text())
    assert {json.dumps(r.get("options")) for r in d["runs"]} == {
        '{"schedule": "warmup_cosine:warmup=1"}'
    }
    assert [r["method"] for r in d["table"]] == ["sgd"]
    several = tmp_path / "several"
    schedules = "constant,wsd:warmup=0.5,decay=1,linear"
    argv = ["--epochs", "2", "--studies", "1", "--out", str(several), "--schedules", schedules]
    assert _cli(tmp_path, *argv) == 0
    printed = capsys.readouterr().out
    d = json.loads((several / "results.json").read_text())
    assert d["benchmark"]["schedules"] == ["constant", "wsd:warmup=0.5,decay=1", "linear"]
    methods = {"sgd+constant", "sgd+wsd:warmup=0.5,decay=1", "sgd+linear"}
    assert {r["method"] for r in d["table"]} == methods
    assert all(m in printed for m in methods)


def test_the_sensitivity_title_counts_the_trials_of_one_study(tmp_path, finished, monkeypatch):
    """Two studies of three trials pooled: the title said "6 trials per optimizer (grid),
    seed 0"; it counts a study's trials and names how many studies it pools."""
    import optimlab.figures.benchmark as figures

    titles = []
    monkeypatch.setattr(
        figures, "save_png", lambda fig, path, dpi: titles.append(fig.axes[0].get_title())
    )
    report.write(tmp_path, finished[1])  # the report's figures, not drawn
    assert titles[0] == (
        "Sensitivity: 3 trials per optimizer and study (grid), 2 studies pooled, "
        "500 validation samples"
    )
