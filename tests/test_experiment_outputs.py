"""What compare and sweep write and print, read back and checked against a computation of
the test's own (issue 17, rows 5, 6, 7, 9, 10 and 11).

The figures are checked by the data they plot: every ``Figure.savefig`` of the run is
recorded with the PNG bytes it wrote, so the figure behind ``loss.png`` is the one whose
bytes are that file's, and its lines and images are read back from matplotlib's artists.
The network's outputs are computed here in float64 NumPy from the saved weights, and the
table's figures from ``results.json``, without optimlab's code.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import re

import numpy as np
import pytest

from helpers import Drawn, network_outputs, scores
from optimlab.cli import main
from optimlab.cli.display import print_table
from optimlab.datasets import load_mnist
from optimlab.experiment import Results, compare_setting, summarize
from optimlab.experiment.provenance import Environment
from optimlab.experiment.results import DataInfo
from optimlab.train import EpochRecord

SMALL = ["--epochs", "2", "--seeds", "2", "--limit-train", "1000", "--layers", "784,16,10"]


def run(args: list[str], drawn: Drawn | None = None) -> tuple[int, str]:
    """``optimlab ARGS`` in this process: its exit code and standard output."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), drawn.recording() if drawn else contextlib.nullcontext():
        code = main(args)
    return code, out.getvalue()


@pytest.fixture(scope="module")
def experiment(tmp_path_factory):
    """``compare sgd,adam`` (2 seeds, 2 epochs) in this process, its figures recorded."""
    out = tmp_path_factory.mktemp("compare") / "run"
    drawn = Drawn()
    args = ["compare", "--optimizers", "sgd,adam", *SMALL, "--out", str(out), "--jobs", "1"]
    code, printed = run([*args, "--quiet"], drawn)
    assert code == 0, printed
    return out, drawn, printed, json.loads((out / "results.json").read_text())


@pytest.fixture(scope="module")
def mnist_test():
    _, test = load_mnist(dtype="float64")
    return test.images, test.labels


# -- computed here, from the files -----------------------------------------------------


def settings_of(raw: dict) -> dict[str, list[dict]]:
    """results.json's runs grouped by setting, keyed by (optimizer, hyper-parameters)."""
    groups: dict[str, list[dict]] = {}
    for run_ in raw["runs"]:
        key = json.dumps([run_["optimizer"], run_["hyperparameters"]], sort_keys=True)
        groups.setdefault(key, []).append(run_)
    return groups


def curve(runs: list[dict], figure: str) -> tuple[np.ndarray, np.ndarray]:
    """Mean and population standard deviation over the seeds, epoch by epoch."""
    values = np.array([[e[figure] for e in r["epochs"]] for r in runs], dtype=np.float64)
    return values.mean(axis=0), values.std(axis=0)


# -- rows 5 and 6: the summary's epochs ------------------------------------------------


def _results(accuracies: dict[str, list[list[float]]]) -> Results:
    """Results of a compare whose test accuracies (per optimizer, per seed) are given."""
    hyper = {"sgd": {"lr": 1.0}, "momentum": {"lr": 0.1, "momentum": 0.9}, "adam": {"lr": 0.01}}
    setting = compare_setting(
        {name: hyper[name] for name in accuracies}, [0, 1], epochs=4, layers=[784, 8, 10]
    )
    environment = Environment("2024-01-01", "numpy", "cpu", "test", {}, None)
    results = Results.start(setting, DataInfo("mnist", 100, 100, {}), environment)
    for trial in results.trials:
        values = accuracies[trial.optimizer][trial.seed]
        trial.epochs = [EpochRecord(e + 1, 1.0 - a, a, 2.0 - a, 1.0) for e, a in enumerate(values)]
        trial.status = "completed"
    for p in results.passes:
        p.complete, p.seconds = True, 4.0
    return results


# mean over the two seeds, epoch by epoch:
#   sgd      0.90  0.95  0.97  0.94  -> reaches 95% at epoch 2 (exactly), best at 3
#   momentum 0.96  0.90  0.91  0.92  -> reaches 95% at epoch 1, best at 1
#   adam     0.50  0.60  0.70  0.65  -> never reaches 95%, best at 3
ACCURACIES = {
    "sgd": [[0.90, 0.95, 0.96, 0.93], [0.90, 0.95, 0.98, 0.95]],
    "momentum": [[0.96, 0.91, 0.90, 0.92], [0.96, 0.89, 0.92, 0.92]],
    "adam": [[0.50, 0.60, 0.70, 0.65], [0.50, 0.60, 0.70, 0.65]],
}


def test_the_summary_names_the_first_epoch_at_the_target_and_the_best_epoch(capsys):
    rows = {row.optimizer: row for row in summarize(_results(ACCURACIES))}
    assert (rows["sgd"].epoch_to_target, rows["sgd"].best_epoch) == (2, 3)
    assert (rows["momentum"].epoch_to_target, rows["momentum"].best_epoch) == (1, 1)
    assert (rows["adam"].epoch_to_target, rows["adam"].best_epoch) == (None, 3)
    assert rows["sgd"].best_accuracy == pytest.approx(0.97)
    assert rows["adam"].best_accuracy == pytest.approx(0.70)
    # another target moves the first epoch, not the best one
    rows = {row.optimizer: row for row in summarize(_results(ACCURACIES), target=0.6)}
    assert (rows["adam"].epoch_to_target, rows["adam"].best_epoch) == (2, 3)


def test_the_table_prints_the_best_epoch_and_the_first_epoch_at_95(capsys):
    results = _results(ACCURACIES)
    print_table(summarize(results), results)
    printed = capsys.readouterr().out
    found = {}
    for line in printed.splitlines():
        match = re.match(r"^(\w+) \(.*\s(\d+\.\d\d)% \((\d+)\)\s+(\S+)\s+\d+\.\d$", line)
        if match:
            found[match[1]] = (match[2], int(match[3]), match[4])
    assert found == {
        "sgd": ("97.00", 3, "2"),
        "momentum": ("96.00", 1, "1"),
        "adam": ("70.00", 3, "—"),
    }, printed


def test_the_printed_table_of_a_run_agrees_with_its_results_json(experiment):
    _, _, printed, raw = experiment
    rows = {}
    for line in printed.splitlines():
        match = re.match(
            r"^(\w+) \(.*?\s(\d+\.\d\d) ± (\d+\.\d\d)%\s+(\d+\.\d{4}) ± (\d+\.\d{4})"
            r"\s+(\d+\.\d\d)% \((\d+)\)\s+(\S+)",
            line,
        )
        if match:
            rows[match[1]] = match.groups()[1:]
    assert sorted(rows) == ["adam", "sgd"], printed
    for runs in settings_of(raw).values():
        accuracy, accuracy_std = curve(runs, "test_accuracy")
        loss, loss_std = curve(runs, "test_loss")
        best = int(np.argmax(accuracy))
        reached = np.flatnonzero(accuracy >= 0.95)
        expected = (
            f"{100 * accuracy[-1]:.2f}",
            f"{100 * accuracy_std[-1]:.2f}",
            f"{loss[-1]:.4f}",
            f"{loss_std[-1]:.4f}",
            f"{100 * accuracy[best]:.2f}",
            str(best + 1),
            str(reached[0] + 1) if reached.size else "—",
        )
        assert rows[runs[0]["optimizer"]] == expected
    # best first: the table's order is by final mean accuracy
    order = [line.split(" ")[0] for line in printed.splitlines() if line[:4] in ("sgd ", "adam")]
    finals = {
        r[0]["optimizer"]: curve(r, "test_accuracy")[0][-1] for r in settings_of(raw).values()
    }
    assert order == sorted(finals, key=lambda name: -finals[name])


# -- row 7: results.csv, column by column ------------------------------------------------


def test_results_csv_holds_results_json_column_by_column(experiment):
    out, _, _, raw = experiment
    with open(out / "results.csv", newline="") as f:
        reader = csv.DictReader(f)
        header, rows = reader.fieldnames, list(reader)
    names = sorted({k for r in raw["runs"] for k in r["hyperparameters"]})
    figures = ["epoch", "train_loss", "test_accuracy", "test_loss", "seconds"]
    assert sorted(header) == sorted(["optimizer", *names, "seed", *figures, "status"])
    expected = [(r, e) for r in raw["runs"] for e in r["epochs"]]
    assert len(rows) == len(expected) == 2 * 2 * 2
    for row, (run_, epoch) in zip(rows, expected):
        assert row["optimizer"] == run_["optimizer"]
        assert row["status"] == run_["status"] == "completed"
        assert int(row["seed"]) == run_["seed"]
        for name in names:
            value = run_["hyperparameters"].get(name)
            assert (float(row[name]) if row[name] else None) == value, name
        assert int(row["epoch"]) == epoch["epoch"]
        for name in figures[1:]:
            assert float(row[name]) == epoch[name], name
    # the columns differ from one another, so a swap cannot go unseen
    assert all(row["train_loss"] != row["test_loss"] for row in rows)


# -- row 10 (and the accuracy figure): the curves plotted --------------------------------


@pytest.mark.parametrize(
    ("name", "figure", "scale"),
    [("loss.png", "test_loss", 1.0), ("accuracy.png", "test_accuracy", 100.0)],
)
def test_the_curves_plot_the_mean_and_spread_over_seeds(experiment, name, figure, scale):
    out, drawn, _, raw = experiment
    ax = drawn.of(out / name).axes[0]
    lines = {line.get_label(): line for line in ax.lines}
    groups = settings_of(raw)
    assert len(lines) == len(groups) == 2
    bands = list(ax.collections)
    assert len(bands) == 2
    for runs in groups.values():
        label = next(label for label in lines if label.startswith(runs[0]["optimizer"] + " ("))
        line = lines[label]
        mean, std = curve(runs, figure)
        np.testing.assert_array_equal(line.get_xdata(), [1, 2])
        np.testing.assert_allclose(line.get_ydata(), scale * mean, rtol=1e-12)
        if figure == "test_loss":  # not the training loss, which differs
            train, _ = curve(runs, "train_loss")
            assert not np.allclose(line.get_ydata(), train, rtol=1e-3)
        # the band of the same color spans mean - std .. mean + std at each epoch
        band = next(b for b in bands if np.allclose(b.get_facecolor()[0][:3], line.get_color()[:3]))
        vertices = np.concatenate([p.vertices for p in band.get_paths()])
        for epoch in (1, 2):
            ys = vertices[np.isclose(vertices[:, 0], epoch), 1]
            low, high = scale * (mean - std)[epoch - 1], scale * (mean + std)[epoch - 1]
            assert ys.min() == pytest.approx(low, rel=1e-9) and ys.max() == pytest.approx(
                high, rel=1e-9
            )


def test_plot_redraws_the_same_data_from_the_json(experiment, tmp_path):
    out, _, _, raw = experiment
    drawn = Drawn()
    code, printed = run(["plot", str(out / "results.json"), "--out", str(tmp_path)], drawn)
    assert code == 0, printed
    assert sorted(p.name for p in tmp_path.iterdir()) == ["accuracy.png", "loss.png"]
    for name, figure, scale in (
        ("loss.png", "test_loss", 1),
        ("accuracy.png", "test_accuracy", 100),
    ):
        lines = drawn.of(tmp_path / name).axes[0].lines
        plotted = sorted(tuple(line.get_ydata()) for line in lines)
        expected = sorted(tuple(scale * curve(r, figure)[0]) for r in settings_of(raw).values())
        np.testing.assert_allclose(plotted, expected, rtol=1e-12)


# -- row 9: misclassified.png --------------------------------------------------------------


def test_misclassified_png_shows_the_best_settings_first_mistakes(experiment, mnist_test):
    out, drawn, _, raw = experiment
    images, labels = mnist_test
    finals = {key: curve(runs, "test_accuracy")[0][-1] for key, runs in settings_of(raw).items()}
    best = settings_of(raw)[max(finals, key=finals.get)]
    optimizer, seed = best[0]["optimizer"], best[0]["seed"]
    logits = network_outputs(out / "models" / f"{optimizer}.npz", 0, images)
    predicted = logits.argmax(axis=1)
    wrong = np.flatnonzero(predicted != labels)
    assert 24 < wrong.size < labels.size  # enough mistakes to fill the grid, not all

    fig = drawn.of(out / "misclassified.png")
    title = fig._suptitle.get_text()
    assert title.startswith(f"{optimizer} (") and f", seed {seed}:" in title
    assert f": {wrong.size} of {labels.size} test images misclassified" in title
    shown = [ax for ax in fig.axes if ax.images]
    assert len(shown) == 24
    flat = images.reshape(len(images), -1).astype(np.float32)
    for k, ax in enumerate(shown):
        pixels = np.asarray(ax.images[0].get_array(), dtype=np.float32).reshape(-1)
        index = wrong[k]
        np.testing.assert_array_equal(pixels, flat[index])  # the k-th mistake, in order
        assert ax.get_title() == f"expected {labels[index]}, got {predicted[index]}"
        assert labels[index] != predicted[index]


# -- row 11: evaluate on a model with members ---------------------------------------------


def test_evaluate_scores_each_member_of_a_compare_model(experiment, mnist_test):
    out, _, _, raw = experiment
    images, labels = mnist_test
    for optimizer in ("sgd", "adam"):
        model = out / "models" / f"{optimizer}.npz"
        code, printed = run(["evaluate", str(model)])
        assert code == 0, printed
        lines = printed.strip().splitlines()
        assert len(lines) == 2, printed
        runs = [r for r in raw["runs"] if r["optimizer"] == optimizer]
        for k, (line, run_) in enumerate(zip(lines, runs)):
            match = re.fullmatch(
                rf"{re.escape(str(model))} member {k} \(seed (\d+)\): test accuracy "
                r"(\d+\.\d\d)%, test loss (\d+\.\d{4})",
                line,
            )
            assert match, line
            accuracy, loss = scores(network_outputs(model, k, images), labels)
            assert int(match[1]) == run_["seed"] == k
            assert float(match[2]) == pytest.approx(100 * accuracy, abs=0.0051)
            assert float(match[3]) == pytest.approx(loss, abs=0.00006)
            # and the experiment's own last figures for that seed
            last = run_["epochs"][-1]
            assert match[2] == f"{100 * last['test_accuracy']:.2f}"
            assert math.isclose(float(match[3]), last["test_loss"], abs_tol=0.00006)


def test_a_prodigy_experiment_reads_back_labels_and_plots(tmp_path):
    """Prodigy's beta3 defaults to None (derived from beta2) and its growth_rate to inf:
    the results file keeps both, reads back, resumes, names the setting and plots."""
    from optimlab import optimizers
    from optimlab.experiment import compare_setting, load_results, run_experiment
    from optimlab.figures import plot_results

    label = optimizers.describe("prodigy", optimizers.defaults("prodigy"))
    assert "beta3=None" in label and "growth_rate=inf" in label
    hyper = {"prodigy": {**optimizers.defaults("prodigy"), "lr": 0.5}}
    setting = compare_setting(hyper, [0], epochs=1, limit_train=300, layers=[784, 8, 10])
    out = tmp_path / "p"
    run_experiment(setting, out)
    results = load_results(out / "results.json")
    assert results.trials[0].hyperparameters["beta3"] is None
    assert results.trials[0].label == label.replace("lr=1,", "lr=0.5,")
    assert [p.name for p in plot_results(results, tmp_path)] == ["accuracy.png", "loss.png"]
    again = run_experiment(setting, out, resume=True)
    assert again.complete
