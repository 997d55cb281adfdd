"""Reports of a loss-only problem (a noisy function: a loss and no accuracy): settings
rank by test loss, tables and figures leave accuracy out, a benchmark tunes and
targets by validation loss and refuses to select or target by accuracy.

Every test builds its results from the dataclasses optimlab writes, for a problem
registered here as a noisy function (``function="quadratic_deep"``), so none depends
on how such a problem trains.
"""

from __future__ import annotations

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
QUADRATIC = problems.Problem(
    "quadratic_deep",
    "a noisy quadratic",
    "a test",
    (100,),
    "none",
    "none",
    batch_size=128,
    epochs=3,
    dataset="quadratic",
    function="quadratic_deep",
)


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
    from optimlab.plotting import plot_results

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
    from optimlab.plotting import plot_sensitivity

    results = _sweep(loss_only)
    for trial in results.trials:  # every final loss 1 lower: one below 0
        last = trial.epochs[-1]
        trial.epochs[-1] = dataclasses.replace(last, test_loss=last.test_loss - 1.0)
    drawn = Drawn()
    with drawn.recording():
        plot_sensitivity(results, tmp_path / "sensitivity.png")
    assert drawn.figures[0][0].axes[0].get_yscale() == "linear"


def test_a_network_problem_still_draws_accuracy(loss_only, tmp_path):
    from optimlab.plotting import plot_results

    paths = plot_results(_compare("report", ACCURACIES), tmp_path)
    assert [p.name for p in paths] == ["accuracy.png", "loss.png"]


def test_a_finished_loss_only_experiment_draws_no_misclassified_digits(loss_only, tmp_path):
    """Nothing to classify: the runner stops after the curves (it would otherwise load
    the best setting's saved network, which a function problem does not have)."""
    from optimlab.experiment import runner

    results = _compare(loss_only)
    runner._finish(tmp_path, results.setting, results, None, None, True)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert "loss.png" in names and "results.json" in names
    assert "misclassified.png" not in names and "accuracy.png" not in names
