"""Test problems: the registry, DeepOBS's initializations, and --problem on the commands."""

from __future__ import annotations

import numpy as np
import pytest

from helpers import assert_refused
from optimlab import MLP, ConfigError, problems
from optimlab.cli import main
from optimlab.nn.layout import INITS, Layout


def test_the_registry_names_each_problem_and_refuses_others():
    assert next(iter(problems.PROBLEMS)) == "report"
    report = problems.get("report")
    assert (report.layers, report.batch_size, report.epochs, report.init) == (
        (784, 30, 10),
        10,
        40,
        "uniform",
    )
    mlp = problems.get("mnist_mlp")
    assert (mlp.layers, mlp.activation, mlp.output, mlp.batch_size) == (
        (784, 1000, 500, 100, 10),
        "relu",
        "softmax",
        128,
    )
    assert problems.get("fmnist_mlp").data == "fashion-mnist"
    with pytest.raises(ConfigError, match="unknown problem 'cifar'; choose from report, "):
        problems.get("cifar")


def test_deepobs_initializations():
    layout = Layout([784, 1000, 10])
    w = layout.initial_params([3], members=False, init="truncated_normal")
    weights, biases = w[: 784 * 1000], w[784 * 1000 : 784 * 1000 + 1000]
    assert np.abs(weights).max() <= 2 * 3e-2  # redrawn beyond two standard deviations
    # a normal truncated at 2 sigma has std 0.8796 sigma
    assert weights.std() == pytest.approx(0.8796 * 3e-2, rel=0.01)
    assert not biases.any()
    assert not layout.initial_params([0], members=False, init="zeros").any()
    again = layout.initial_params([3, 4], members=True, init="truncated_normal")
    np.testing.assert_array_equal(again[0], w)  # member k is the network with seed k
    assert not np.array_equal(again[1], w)
    with pytest.raises(ConfigError, match="unknown initialization 'he'"):
        layout.initial_params([0], members=False, init="he")
    assert INITS == ("uniform", "truncated_normal", "zeros")
    model = MLP([784, 10], "relu", "softmax", init="zeros")
    assert not np.asarray(model.params).any()


def test_train_takes_the_problems_setting_and_explicit_options_override(capsys):
    assert (
        main(
            [
                "train",
                "--problem",
                "mnist_logreg",
                "--optimizer",
                "sgd",
                "--lr",
                "0.1",
                "--epochs",
                "1",
                "--limit-train",
                "1280",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "784-10 relu/softmax, batch 128, 1280 training" in out
    assert (
        main(
            [
                "train",
                "--problem",
                "mnist_logreg",
                "--batch-size",
                "64",
                "--epochs",
                "1",
                "--limit-train",
                "640",
                "--quiet",
            ]
        )
        == 0
    )
    assert "batch 64" not in capsys.readouterr().out  # quiet: the final line only
    try:
        code = main(["train", "--problem", "cifar", "--epochs", "1"])
    except SystemExit as exit_:
        code = exit_.code
    assert_refused(code, capsys, "invalid choice: 'cifar'")


@pytest.mark.slow
def test_mnist_mlp_reaches_96_percent_in_one_epoch_of_adam(capsys):
    """DeepOBS's MLP, one epoch of Adam at lr 1e-3 on NumPy: >= 96% test accuracy."""
    assert (
        main(
            [
                "train",
                "--problem",
                "mnist_mlp",
                "--optimizer",
                "adam",
                "--lr",
                "0.001",
                "--epochs",
                "1",
                "--quiet",
            ]
        )
        == 0
    )
    line = capsys.readouterr().out
    accuracy = float(line.split("test accuracy ")[1].split("%")[0])
    assert accuracy >= 96.0, line


def test_compare_on_a_problem_records_its_setting(tmp_path):
    out = tmp_path / "c"
    assert (
        main(
            [
                "compare",
                "--problem",
                "mnist_logreg",
                "--optimizers",
                "sgd",
                "--epochs",
                "1",
                "--limit-train",
                "1280",
                "--out",
                str(out),
                "--quiet",
            ]
        )
        == 0
    )
    import json

    setting = json.loads((out / "results.json").read_text())["setting"]
    assert (setting["layers"], setting["batch_size"], setting["init"]) == ([784, 10], 128, "zeros")


def test_a_problem_whose_data_is_missing_is_one_sentence_naming_data_dir(
    tmp_path, monkeypatch, capsys
):
    import urllib.error
    import urllib.request

    def offline(*args, **kwargs):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    monkeypatch.setenv("OPTIMLAB_DATA", str(tmp_path / "cache"))
    code = main(["train", "--problem", "fmnist_mlp", "--epochs", "1"])
    err = assert_refused(code, capsys, r"cannot download the fashion-mnist data set from ")
    assert "--data-dir" in err
    # nothing half-downloaded is left for the next run to trust
    assert not any(p.is_file() for p in (tmp_path / "cache").rglob("*"))
