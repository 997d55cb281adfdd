"""The optimizer options from the command line: --schedule, --clip-norm, --no-decay-biases
and compare's --set NAME.schedule=..., each equal to the library given the same option."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from helpers import assert_refused, write_mnist_subset
from optimlab import MLP, Trainer, load_idx_dir, optimizers, schedules
from optimlab.cli import main
from optimlab.experiment import load_results

N_TRAIN, BATCH, EPOCHS = 200, 10, 2


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("idx")
    write_mnist_subset(directory, n_train=N_TRAIN, n_test=100)
    return directory


def _setting(data_dir):
    return [
        "--data-dir",
        str(data_dir),
        "--layers",
        "784,8,10",
        "--epochs",
        str(EPOCHS),
        "--dtype",
        "float64",
    ]


def _library(data_dir, optimizer, seed=0):
    """What the library computes for ``optimizer`` in the same setting."""
    train, _ = load_idx_dir(data_dir, dtype="float64")
    model = MLP([784, 8, 10], seed=seed, dtype="float64")
    trainer = Trainer(model, optimizer, train, batch_size=BATCH, seed=seed)
    for _ in range(EPOCHS):
        trainer.run_epoch()
    return model.params


def test_train_with_every_option_equals_the_library(data_dir, tmp_path, capsys):
    saved = tmp_path / "model.npz"
    code = main(
        [
            "train",
            *_setting(data_dir),
            "--optimizer",
            "adamw",
            "--weight-decay",
            "0.05",
            "--schedule",
            "warmup_cosine:warmup=0.5",
            "--clip-norm",
            "0.5",
            "--no-decay-biases",
            "--save",
            str(saved),
            "--quiet",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    per_epoch = math.ceil(N_TRAIN / BATCH)
    schedule = schedules.get("warmup_cosine", warmup_steps=10, total_steps=EPOCHS * per_epoch)
    optimizer = optimizers.get(
        "adamw", weight_decay=0.05, schedule=schedule, clip_norm=0.5, decay_biases=False
    )
    expected = _library(data_dir, optimizer)
    np.testing.assert_array_equal(MLP.load(saved).params, expected)
    # each option changed the run: without it, other parameters
    for dropped in ("schedule", "clip_norm", "decay_biases"):
        options = {"schedule": schedule, "clip_norm": 0.5, "decay_biases": False}
        del options[dropped]
        other = _library(data_dir, optimizers.get("adamw", weight_decay=0.05, **options))
        assert not np.allclose(other, expected), dropped


def test_compare_sets_a_schedule_for_one_optimizer_and_names_it(data_dir, tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["compare", *_setting(data_dir), "--optimizers", "sgd,adam", "--out", str(out)]
    code = main([*argv, "--set", "adam.schedule=step:step_size=1,gamma=0.5", "--quiet"])
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "schedule=step:step_size=1,gamma=0.5" in printed
    results = load_results(out / "results.json")
    by_name = {t.optimizer: t for t in results.trials}
    assert by_name["adam"].options == {"schedule": "step:step_size=1,gamma=0.5"}
    assert by_name["sgd"].options == {}
    raw = json.loads((out / "results.json").read_text())
    assert "options" not in raw["runs"][0]  # sgd's runs look as before
    schedule = schedules.get("step", step_size=math.ceil(N_TRAIN / BATCH), gamma=0.5)
    expected = _library(data_dir, optimizers.get("adam", schedule=schedule))
    with np.load(out / "models" / "adam.npz") as saved:
        params = saved["params"]
    np.testing.assert_array_equal(params.reshape(-1, params.shape[-1])[0], expected)


def test_resuming_with_another_schedule_is_refused(data_dir, tmp_path, capsys):
    checkpoint = tmp_path / "run.npz"
    base = ["train", *_setting(data_dir), "--optimizer", "adam", "--checkpoint", str(checkpoint)]
    assert main([*base, "--schedule", "cosine", "--quiet"]) == 0
    capsys.readouterr()
    code = main([*base, "--schedule", "linear", "--resume", "--epochs", "3", "--quiet"])
    assert_refused(
        code,
        capsys,
        r'was written with options.schedule = "cosine", and this command has '
        r'options.schedule = "linear"',
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--schedule", "cosin"], r"unknown schedule 'cosin'"),
        (["--schedule", "warmup_cosine:warmup"], r"key=value"),
        (["--clip-norm", "0"], r"--clip-norm takes a number > 0, not '0'"),
        (["--clip-norm", "inf"], r"--clip-norm takes a number > 0"),
    ],
)
def test_impossible_options_are_refused_in_one_sentence(data_dir, capsys, args, message):
    try:
        code = main(["train", *_setting(data_dir), *args])
    except SystemExit as exit_:  # argparse's own errors
        code = exit_.code
    assert_refused(code, capsys, message)


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ("adam.decay_biases=maybe", r"decay_biases is true or false, not 'maybe'"),
        ("adam.clip_norm=big", r"'big' is not a number"),
        ("adam.schedule=nope", r"unknown schedule 'nope'"),
    ],
)
def test_impossible_set_options_are_refused_before_the_directory_exists(
    data_dir, tmp_path, capsys, item, message
):
    out = tmp_path / "run"
    argv = ["compare", *_setting(data_dir), "--optimizers", "adam", "--out", str(out)]
    assert_refused(main([*argv, "--set", item]), capsys, message)
    assert not out.exists()


@pytest.mark.parametrize(
    "schedule",
    [
        "cosine:total=1e308",
        "step:step_size=1e308",
        "multistep:milestones=1e308",
        "exponential:gamma=1e308",
        "warmup_cosine:warmup=1e300",
    ],
)
def test_huge_schedule_values_are_refused_before_anything_runs(
    data_dir, tmp_path, capsys, schedule
):
    """Issue 26: accepted before, then an OverflowError at the first step (a traceback)."""
    out = tmp_path / "run"
    argv = ["compare", *_setting(data_dir), "--optimizers", "adam", "--jobs", "1"]
    try:
        code = main([*argv, "--out", str(out), "--schedule", schedule, "--epochs", "40"])
    except SystemExit as exit_:  # argparse's own errors
        code = exit_.code
    sentence = assert_refused(code, capsys, r"schedule")
    assert not out.exists()
    assert not any(len(word) > 30 for word in sentence.split()), sentence  # no 300 digits


def test_compare_checks_a_schedule_against_the_real_data_before_the_directory(
    tmp_path, capsys
):
    """Issue 26: quadratic_deep's 1,000 samples make 8 steps per epoch; checked against
    MNIST's 60,000, this warm-up fitted, and the pass failed in a directory made for it."""
    out = tmp_path / "run"
    argv = ["compare", "--problem", "quadratic_deep", "--optimizers", "sgd", "--epochs", "1"]
    argv += ["--jobs", "1", "--quiet", "--out", str(out)]
    code = main([*argv, "--schedule", "warmup_cosine:warmup=0.99"])
    assert_refused(code, capsys, r"warmup \(8 steps\) must end before total \(the run's 8 steps\)")
    assert not out.exists()


def test_an_infinite_hyperparameter_and_a_switch_survive_strict_json(data_dir, tmp_path, capsys):
    """Prodigy's growth_rate=inf and decouple=True: written as strict JSON, read back."""
    out = tmp_path / "run"
    argv = ["compare", *_setting(data_dir), "--optimizers", "prodigy", "--out", str(out)]
    assert main([*argv, "--epochs", "1", "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "growth_rate=inf" in printed and "decouple=True" in printed
    raw = json.loads((out / "results.json").read_text())  # strict: no Infinity token
    assert raw["runs"][0]["hyperparameters"]["growth_rate"] == "inf"
    trial = load_results(out / "results.json").trials[0]
    assert trial.hyperparameters["growth_rate"] == math.inf
    assert trial.hyperparameters["decouple"] is True
    capsys.readouterr()
    # the stored setting (with "inf") equals the command's: it resumes, to a third epoch
    assert main([*argv, "--epochs", "1", "--resume", "--quiet"]) == 0, capsys.readouterr()
