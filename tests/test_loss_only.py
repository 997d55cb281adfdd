"""Reports of a loss-only problem (a noisy function: a loss and no accuracy): settings
rank by test loss, tables and figures leave accuracy out, a benchmark tunes and
targets by validation loss and refuses to select or target by accuracy.

Every test builds its results from the dataclasses optimlab writes, for a problem
registered here as a noisy function (``function="quadratic_deep"``), so none depends
on how such a problem trains.
"""

from __future__ import annotations

import csv
import dataclasses
import math

import pytest

from optimlab import problems
from optimlab.cli.display import print_table
from optimlab.experiment import Results, compare_setting, summarize, sweep_setting
from optimlab.experiment.provenance import Environment
from optimlab.experiment.results import DataInfo
from optimlab.experiment.summary import has_accuracy
from optimlab.train import EpochRecord

NAN = math.nan
#: Without a target of its own: the cases below count to the relative one.
QUADRATIC = dataclasses.replace(problems.get("quadratic_deep"), epochs=3, target=None)


@pytest.fixture
def loss_only(monkeypatch):
    """``quadratic_deep`` registered as a loss-only problem (whatever optimlab registers)."""
    monkeypatch.setattr(problems, "PROBLEMS", {**problems.PROBLEMS, QUADRATIC.name: QUADRATIC})
    return QUADRATIC.name


def _environment() -> Environment:
    return Environment("2024-01-01", "numpy", "cpu", "test", {}, None)


def _fill(results: Results, curve) -> Results:
    """Every trial's epochs from ``curve(trial)``: a list of (test accuracy, test loss)."""
    for trial in results.trials:
        trial.epochs = [
            EpochRecord(e + 1, abs(loss) + 0.1, acc, loss, 1.0, acc, loss)
            for e, (acc, loss) in enumerate(curve(trial))
        ]
        trial.status = "completed"
    for p in results.passes:
        p.complete, p.seconds = True, 3.0
    return results


HYPER = {"sgd": {"lr": 1.0}, "momentum": {"lr": 0.1, "momentum": 0.9}, "adam": {"lr": 0.01}}
# per optimizer and seed, the test loss of each epoch; the mean over the seeds:
#   sgd       0.50 0.30 0.40  -> final 0.40, lowest 0.30 at epoch 2
#   momentum  0.90 0.80 0.60  -> final 0.60, lowest at 3
#   adam      0.20 0.10 -0.05 -> final -0.05 (a sampled loss below 0), the best
LOSSES = {
    "sgd": [[0.4, 0.2, 0.3], [0.6, 0.4, 0.5]],
    "momentum": [[0.9, 0.8, 0.6], [0.9, 0.8, 0.6]],
    "adam": [[0.2, 0.1, -0.1], [0.2, 0.1, 0.0]],
}
# finite accuracies in the opposite order (momentum best, adam worst)
ACCURACIES = {"sgd": 0.90, "momentum": 0.97, "adam": 0.50}


def _compare(problem: str, accuracies: dict[str, float] | None = None) -> Results:
    setting = compare_setting(HYPER, [0, 1], epochs=3, layers=[784, 8, 10], problem=problem)
    results = Results.start(setting, DataInfo("quadratic", 1000, 200, {}), _environment())

    def curve(trial):
        acc = NAN if accuracies is None else accuracies[trial.optimizer]
        return [(acc, loss) for loss in LOSSES[trial.optimizer][trial.seed]]

    return _fill(results, curve)


# ---------------------------------------------------------------- has_accuracy


def test_has_accuracy_reads_the_problem_of_results_settings_and_names(loss_only):
    results = _compare(loss_only)
    assert not has_accuracy(results)
    assert not has_accuracy(results.setting)
    assert not has_accuracy(loss_only)
    assert has_accuracy(_compare("report"))
    assert has_accuracy("report")
    assert has_accuracy("a problem nobody registered")  # tolerated: as a network


# ---------------------------------------------------------------- summarize


def test_a_loss_only_problem_ranks_by_final_test_loss(loss_only):
    rows = summarize(_compare(loss_only))
    assert [r.optimizer for r in rows] == ["adam", "sgd", "momentum"]
    by = {r.optimizer: r for r in rows}
    assert by["adam"].loss_mean == pytest.approx(-0.05)
    assert (by["sgd"].best_loss, by["sgd"].best_epoch) == (pytest.approx(0.3), 2)
    assert (by["momentum"].best_loss, by["momentum"].best_epoch) == (pytest.approx(0.6), 3)
    for row in rows:
        assert math.isnan(row.accuracy_mean) and math.isnan(row.accuracy_std)
        assert math.isnan(row.best_accuracy) and row.epoch_to_target is None


def test_the_same_figures_of_a_network_problem_rank_by_accuracy(loss_only):
    """The order above comes from the problem: with accuracies, as before."""
    rows = summarize(_compare("report", ACCURACIES))
    assert [r.optimizer for r in rows] == ["momentum", "sgd", "adam"]
    assert rows[0].best_accuracy == pytest.approx(0.97) and rows[0].epoch_to_target == 1
    # accuracies on a loss-only problem are ignored: they are nan there anyway
    rows = summarize(_compare(loss_only, ACCURACIES))
    assert [r.optimizer for r in rows] == ["adam", "sgd", "momentum"]


def test_a_setting_with_a_diverged_seed_ranks_last_whatever_its_loss(loss_only):
    results = _compare(loss_only)
    for trial in results.trials:
        if trial.optimizer == "adam" and trial.seed == 1:
            # flagged (a loss far above the start's) yet its final loss is the lowest
            trial.status = "diverged at epoch 2: the training loss 1e+04 is over 10 times"
    rows = summarize(results)
    assert [r.optimizer for r in rows] == ["sgd", "momentum", "adam"]
    assert rows[-1].diverged == 1


# ---------------------------------------------------------------- the printed table


def test_the_table_of_a_loss_only_problem_has_no_accuracy_column(loss_only, capsys):
    results = _compare(loss_only)
    print_table(summarize(results), results)
    printed = capsys.readouterr().out
    assert "accuracy" not in printed and "%" not in printed and "nan" not in printed
    lines = printed.splitlines()
    head = next(line for line in lines if line.startswith("optimizer"))
    assert head.split() == [
        *("optimizer", "(hyper-parameters)", "test", "loss", "best", "loss", "(epoch)", "seconds")
    ]
    adam = next(line for line in lines if line.startswith("adam"))
    assert "-0.0500 ± 0.0500" in adam and "-0.05 (3)" in adam
    sgd = next(line for line in lines if line.startswith("sgd"))
    assert "0.4000 ± 0.1000" in sgd and "0.3 (2)" in sgd
    assert lines.index(adam) < lines.index(sgd)  # ranked by loss


def test_the_table_of_a_network_problem_keeps_its_accuracy_columns(loss_only, capsys):
    results = _compare("report", ACCURACIES)
    print_table(summarize(results), results)
    printed = capsys.readouterr().out
    assert "test accuracy" in printed and "95% at" in printed
    assert "97.00 ± 0.00%" in printed


def test_a_loss_only_sweep_names_its_best_learning_rate_by_its_loss(loss_only, capsys):
    results = _sweep(loss_only)
    print_table(summarize(results), results)
    printed = capsys.readouterr().out
    assert "best learning rate for sgd: 0.1 (0.02 final test loss, the lowest)" in printed
    assert "accuracy" not in printed


# ---------------------------------------------------------------- figures

SWEEP_LOSS = {0.01: 0.5, 0.1: 0.02, 1.0: 3.0}  # final test loss per learning rate


def _sweep(problem: str) -> Results:
    setting = sweep_setting("sgd", {}, list(SWEEP_LOSS), [0, 1], epochs=3, problem=problem)
    results = Results.start(setting, DataInfo("quadratic", 1000, 200, {}), _environment())

    def curve(trial):
        final = SWEEP_LOSS[trial.hyperparameters["lr"]]
        return [(NAN, 2 * final), (NAN, 1.5 * final), (NAN, final)]

    return _fill(results, curve)


def test_plot_results_draws_loss_and_sensitivity_and_no_accuracy(loss_only, tmp_path):
    from helpers import Drawn
    from optimlab.figures import plot_results

    drawn = Drawn()
    with drawn.recording():
        paths = plot_results(_sweep(loss_only), tmp_path)
    assert sorted(p.name for p in paths) == ["loss.png", "sensitivity.png"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["loss.png", "sensitivity.png"]
    sensitivity = next(
        fig for fig, png in drawn.figures if png == (tmp_path / "sensitivity.png").read_bytes()
    )
    ax = sensitivity.axes[0]
    assert ax.get_yscale() == "log" and ax.get_ylabel() == "final test loss"
    line = ax.get_lines()[0]
    assert list(line.get_xdata()) == [0.01, 0.1, 1.0]
    assert list(line.get_ydata()) == pytest.approx([0.5, 0.02, 3.0])


def test_the_sensitivity_of_losses_below_zero_is_on_a_linear_scale(loss_only, tmp_path):
    from helpers import Drawn
    from optimlab.figures import plot_sensitivity

    results = _sweep(loss_only)
    for trial in results.trials:  # every final loss 1 lower: one below 0
        last = trial.epochs[-1]
        trial.epochs[-1] = dataclasses.replace(last, test_loss=last.test_loss - 1.0)
    drawn = Drawn()
    with drawn.recording():
        plot_sensitivity(results, tmp_path / "sensitivity.png")
    assert drawn.figures[0][0].axes[0].get_yscale() == "linear"


def test_a_network_problem_still_draws_accuracy(loss_only, tmp_path):
    from optimlab.figures import plot_results

    paths = plot_results(_compare("report", ACCURACIES), tmp_path)
    assert [p.name for p in paths] == ["accuracy.png", "loss.png"]


def test_a_finished_loss_only_experiment_draws_no_misclassified_digits(loss_only, tmp_path):
    """Nothing to classify: the figures stop after the curves (they would otherwise load
    the best setting's saved network, which a function problem does not have)."""
    from optimlab.figures import draw_experiment

    results = _compare(loss_only)
    paths = draw_experiment(results, tmp_path)
    assert [p.name for p in paths] == ["loss.png"]
    names = sorted(p.name for p in tmp_path.iterdir())
    assert "loss.png" in names
    assert "misclassified.png" not in names and "accuracy.png" not in names


# ---------------------------------------------------------------- the benchmark
#
# sgd and adam, three tuning trials each (seed 0) and two final seeds, three epochs.
# Final validation loss of the tuning trials (None: diverged after two epochs):
TUNED = {"sgd": [1.0, 1.2, None], "adam": [0.5, 0.52, 0.9]}
# plateau: sgd 1/3 (1.2 > 1.0 + 10%), adam 2/3 (0.9 > 0.5 + 10% of 0.5 = 0.55)
# The final runs' validation loss per seed and epoch:
FINAL_VALIDATION = {
    "sgd": [[3.0, 1.5, 1.05], [3.0, 1.3, 1.08]],  # final mean 1.065; <= 1.1 at epoch 3
    "adam": [[2.0, 1.0, 0.9], [2.0, 1.05, 1.1]],  # final mean 1.0, the best; at epoch 2
}
# the target: 1.0 + 10% of 1.0 = 1.1. The final test loss (the rank: adam first, though
# named second):
FINAL_TEST = {"sgd": 0.7, "adam": 0.5}


def _records(validation: list[float], test: float, accuracy: float) -> list[EpochRecord]:
    return [
        EpochRecord(e + 1, v, accuracy, test + len(validation) - e - 1, 1.0, accuracy, v)
        for e, v in enumerate(validation)
    ]


def _benchmark_outcome(problem_names, accuracy=NAN, **changes):
    """A finished benchmark of the numbers above on each of ``problem_names``."""
    from optimlab.benchmark import Benchmark
    from optimlab.benchmark.plan import Outcome

    bench = Benchmark(
        ("sgd", "adam"),
        budget=3,
        seeds=2,
        problems=problem_names,
        setting={"epochs": 3},
        studies=1,
    )
    outcome = Outcome(bench)
    for p in problem_names:
        outcome.selected[p] = [{name: bench.trials(name)[0] for name in bench.optimizers}]
        tuning = Results.start(bench.tuning(p), DataInfo(p, 800, 200, {}), _environment())
        for i, name in enumerate(bench.optimizers):
            for trial, final in zip(tuning.trials_of(i), TUNED[name]):
                curve = [2.0, 1.5] if final is None else [2.0, 1.5, final]
                trial.epochs = _records(curve, 1.0, accuracy)
                trial.status = "completed" if final is not None else "diverged at epoch 2: x"
        final = Results.start(
            bench.final(p, outcome.selected[p][0]), DataInfo(p, 800, 1000, {}), _environment()
        )
        for trial in final.trials:
            seeds = FINAL_VALIDATION[trial.optimizer]
            trial.epochs = _records(seeds[trial.seed - 1], FINAL_TEST[trial.optimizer], accuracy)
            trial.status = "completed"
        for results in (tuning, final):
            for p_ in results.passes:
                p_.complete, p_.seconds = True, 1.0
        outcome.tuning[p], outcome.final[p] = [tuning], [final]
    return outcome


def test_loss_plateau_counts_trials_within_ten_percent_of_the_best_loss():
    from optimlab.benchmark import selection

    assert selection.loss_plateau([1.0, 1.05, 1.09, 1.2, NAN]) == pytest.approx(0.6)
    # a negative best: within 10% of |-2| = 0.2 above it
    assert selection.loss_plateau([-2.0, -1.9, -1.7]) == pytest.approx(2 / 3)
    assert math.isnan(selection.loss_plateau([NAN, math.inf]))


def test_the_loss_target_and_the_epochs_to_reach_it():
    from optimlab.benchmark import selection

    assert selection.loss_target(1.0) == pytest.approx(1.1)
    assert selection.loss_target(-2.0) == pytest.approx(-1.8)  # above a negative best too
    assert selection.loss_target(NAN) == -math.inf  # no optimizer has one: none reaches it
    curve = _records([3.0, 1.5, 1.05], 0.5, NAN)
    assert selection.epochs_to_target(curve, 1.1, loss=True) == 3
    assert selection.epochs_to_target(curve, 1.6, loss=True) == 2
    assert selection.epochs_to_target(curve, 1.0, loss=True) == math.inf
    assert selection.epochs_to_target(curve, -math.inf, loss=True) == math.inf


def test_a_loss_only_benchmark_ranks_targets_and_tunes_by_loss(loss_only):
    from optimlab.benchmark import report

    outcome = _benchmark_outcome((loss_only,))
    assert report.target(outcome, loss_only) == pytest.approx(1.1)
    table = {r.optimizer: r for r in report.rows(outcome)}
    assert (table["adam"].rank, table["sgd"].rank) == (1, 2)  # by test loss
    assert table["adam"].loss_mean == pytest.approx(0.5)
    assert (table["sgd"].epochs_to_target, table["adam"].epochs_to_target) == (3.0, 2.0)
    # ceil(800 / 128) = 7 steps per epoch, 1 s of steps each: 21 steps (3 s), 14 (2 s)
    assert (table["sgd"].steps_to_target, table["sgd"].seconds_to_target) == (21.0, 3.0)
    assert (table["adam"].steps_to_target, table["adam"].seconds_to_target) == (14.0, 2.0)
    assert table["sgd"].plateau == pytest.approx(1 / 3)
    assert table["adam"].plateau == pytest.approx(2 / 3)
    assert all(math.isnan(r.accuracy_mean) for r in table.values())


def test_a_problem_s_own_loss_target_replaces_the_relative_one(monkeypatch):
    """The quadratic with its own target 1.06: sgd's seeds reach it at epoch 3 (1.05) and
    never (1.08), the median ∞; adam's at epoch 2 in both (1.0, 1.05): 14 steps. The
    relative target (1.1) would have sgd at 21 steps."""
    from optimlab.benchmark import report

    own = dataclasses.replace(QUADRATIC, target=1.06, target_source="a test")
    monkeypatch.setattr(problems, "PROBLEMS", {**problems.PROBLEMS, own.name: own})
    outcome = _benchmark_outcome((own.name,))
    assert report.target(outcome, own.name) == 1.06
    assert report.target_source(outcome, own.name) == "the problem's own (a test)"
    table = {r.optimizer: r for r in report.rows(outcome)}
    assert table["sgd"].steps_to_target == math.inf and table["adam"].steps_to_target == 14.0


def test_a_diverged_final_seed_is_left_out_of_the_mean_and_flagged(loss_only):
    """sgd's second seed diverges: its row's mean and std are the first seed's alone, the
    row says so and ranks last, and with one seed left it is not tested against the best."""
    from optimlab.benchmark import report

    outcome = _benchmark_outcome((loss_only,))
    for trial in outcome.final[loss_only][0].trials:
        if trial.optimizer == "sgd":
            trial.epochs = _records(FINAL_VALIDATION["sgd"][trial.seed - 1], 0.3 * trial.seed, NAN)
            if trial.seed == 2:
                trial.status = "diverged at epoch 3: x"
    table = {r.optimizer: r for r in report.rows(outcome)}
    sgd = table["sgd"]
    assert sgd.loss_mean == pytest.approx(0.3) and math.isnan(sgd.loss_std)
    assert sgd.diverged == 1 and sgd.rank == 2 and sgd.rank_ci95 == (2.0, 2.0)
    assert sgd.p_vs_best is None and sgd.tied_with_best is None
    assert "sgd (1 diverged)" in report.format_table(list(table.values()))


def test_a_loss_only_benchmark_report_has_no_accuracy(loss_only, tmp_path):
    from optimlab.benchmark import report

    outcome = _benchmark_outcome((loss_only,))
    table = report.write(tmp_path, outcome)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [
        "loss.png",
        "report.md",
        "results.csv",
        "results.json",
        "sensitivity.png",
        "tuning.png",
    ]
    text = (tmp_path / "report.md").read_text()
    assert "accuracy.png" not in text and "test accuracy" not in text
    columns = (
        "| rank | optimizer | selected | test loss | vs best | rank 95% | steps to target (s) |"
    )
    assert f"{columns} plateau |" in text
    assert f"{loss_only}: validation loss at most 1.1" in text
    header = (tmp_path / "results.csv").read_text().splitlines()[0].split(",")
    assert "test_accuracy" not in header and "validation_accuracy" not in header
    assert "test_loss" in header and "validation_loss" in header
    printed = report.format_table(table)
    assert "accuracy" not in printed and printed.splitlines()[0].split() == [
        *("rank", "optimizer", "selected", "test", "loss", "vs", "best", "rank", "95%"),
        *("steps", "to", "target", "(s)", "plateau"),
    ]


def test_a_loss_only_problem_beside_a_network_problem(loss_only, tmp_path):
    """The network keeps its accuracy column and figure, the function shows "—" and
    none; the profile ranks both by the epochs to each problem's target."""
    from optimlab.benchmark import report, selection

    outcome = _benchmark_outcome(("report", loss_only), accuracy=0.9)
    for trial in outcome.final[loss_only][0].trials + outcome.tuning[loss_only][0].trials:
        trial.epochs = [
            dataclasses.replace(e, test_accuracy=NAN, validation_accuracy=NAN) for e in trial.epochs
        ]
    for p in ("report", loss_only):  # where the experiments of each problem lie
        (tmp_path / p).mkdir()
    table = report.write(tmp_path, outcome)
    assert (tmp_path / "report" / "accuracy.png").is_file()
    assert not (tmp_path / loss_only / "accuracy.png").exists()
    assert (tmp_path / loss_only / "loss.png").is_file() and (tmp_path / "profile.png").is_file()
    lines = report.format_table(table).splitlines()
    assert "test accuracy (%)" in lines[0]
    row = next(line for line in lines if line.startswith(loss_only) and "sgd" in line)
    assert "—" in row and "90.00" not in row
    assert any(line.startswith("report") and "90.00 ± 0.00" in line for line in lines)
    by = {(r.problem, r.optimizer): r for r in table}
    assert by[loss_only, "adam"].epochs_to_target == 2.0  # the loss target, not nan's
    times = {
        p: {r.optimizer: r.steps_to_target for r in table if r.problem == p}
        for p in ("report", loss_only)
    }
    rho = selection.profile(times, report.TAUS)
    assert by[loss_only, "sgd"].score == pytest.approx(
        selection.profile_score(rho["sgd"], report.TAUS)
    )
    rows = list(csv.DictReader((tmp_path / "results.csv").open()))
    assert {r["test_accuracy"] for r in rows if r["problem"] == loss_only} == {""}
    assert {r["test_accuracy"] for r in rows if r["problem"] == "report"} == {"0.9"}


def test_selection_by_accuracy_or_a_target_is_refused_for_a_loss_only_problem(loss_only):
    from optimlab import ConfigError
    from optimlab.benchmark import selection

    message = f"^{loss_only} has no accuracy: select by val_loss, without --target$"
    with pytest.raises(ConfigError, match=message):
        selection.check_loss_only(("report", loss_only), "val_accuracy", None)
    with pytest.raises(ConfigError, match=message):
        selection.check_loss_only((loss_only,), "val_loss", 0.9)
    selection.check_loss_only((loss_only,), "val_loss", None)  # by loss: accepted
    selection.check_loss_only(("report",), "val_accuracy", 0.9)  # a network: accepted


def test_run_benchmark_refuses_before_touching_its_directory(loss_only, tmp_path):
    from optimlab import ConfigError
    from optimlab.benchmark import Benchmark, run_benchmark

    bench = Benchmark(("sgd",), budget=2, seeds=1, select="val_accuracy", problems=(loss_only,))
    with pytest.raises(ConfigError, match=f"{loss_only} has no accuracy"):
        run_benchmark(bench, tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("extra", [["--select", "val_accuracy"], ["--target", "0.9"]])
def test_the_command_refuses_in_one_sentence(loss_only, tmp_path, capsys, extra):
    from helpers import assert_refused
    from optimlab.cli import main

    argv = ["benchmark", "--optimizers", "sgd", "--grid", "2", "--seeds", "1", "--epochs", "1"]
    argv += ["--problems", f"report,{loss_only}", "--out", str(tmp_path / "out"), *extra]
    try:
        code = main(argv)
    except SystemExit as exit_:
        code = exit_.code
    assert_refused(code, capsys, f"{loss_only} has no accuracy: select by val_loss")
    assert not (tmp_path / "out").exists()


def test_progress_lines_of_a_loss_only_problem_show_losses(loss_only, capsys):
    from optimlab.cli.benchmark_command import _Display
    from optimlab.cli.display import ExperimentDisplay

    results = _compare(loss_only)
    trials = zip(results.setting.passes[2], results.trials_of(2))  # adam, seeds 0 and 1
    records = [(trial, result.epochs[0]) for trial, result in trials]
    display = ExperimentDisplay(False, results.setting, parallel=True)
    display.epoch_done(2, 1, records)
    display.close()
    line = capsys.readouterr().out.strip()
    assert "accuracy" not in line and "%" not in line
    assert "test loss 0.2000 ± 0.0000" in line

    bench = _benchmark_outcome((loss_only,))
    for phase, expected in (("tuning", "lowest validation loss 0.5000"), ("final", "test loss")):
        results = getattr(bench, phase)[loss_only][0]
        display = _Display(False, results.setting, parallel=True)
        index = 1  # adam
        trials = zip(results.setting.passes[index], results.trials_of(index))
        display.epoch_done(index, 3, [(trial, result.epochs[-1]) for trial, result in trials])
        display.close()
        line = capsys.readouterr().out.strip()
        assert expected in line and "accuracy" not in line and "%" not in line, line


def test_an_exploded_loss_prints_in_four_significant_digits(loss_only, capsys):
    results = _sweep(loss_only)
    for trial in results.trials:
        if trial.hyperparameters["lr"] == 1.0:
            trial.status = "diverged at epoch 3: the training loss 1.8e+32 is over 10 times"
            trial.epochs[-1] = dataclasses.replace(trial.epochs[-1], test_loss=1.7632e32)
    print_table(summarize(results), results)
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("sgd (lr=1,"))
    assert "1.763e+32 ± 0" in line and "2 of 2 diverged at epoch 3" in line
