"""The command line: a real run, and one clear sentence with exit code 2 for bad input."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from helpers import assert_refused, network_outputs, scores, write_mnist_subset
from optimlab import MLP
from optimlab.cli import main


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("idx")
    write_mnist_subset(directory, n_train=2000, n_test=500)
    return directory


def test_train_prints_each_epoch_and_saves_a_model_that_scores_the_same(data_dir, tmp_path, capsys):
    saved = tmp_path / "model.npz"
    code = main(
        [
            "train",
            "--data-dir",
            str(data_dir),
            "--epochs",
            "2",
            "--optimizer",
            "adam",
            "--lr",
            "0.005",
            "--seed",
            "3",
            "--save",
            str(saved),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    lines = [line for line in out.splitlines() if line.startswith("epoch")]
    assert len(lines) == 2 and lines[1].startswith("epoch   2/2")
    assert "adam (lr=0.005, beta1=0.9, beta2=0.999, eps=1e-10, weight_decay=0)" in out
    final = float(out.split("test accuracy ")[-1].split("%")[0]) / 100
    loss = float(out.split("test loss ")[-1].split(" ")[0])

    from optimlab import evaluate, load_idx_dir

    _, test = load_idx_dir(data_dir, dtype="float64")
    # the printed figures are the saved model's, computed here from its weights
    expected_accuracy, expected_loss = scores(
        network_outputs(saved, None, test.images), test.labels
    )
    assert final == pytest.approx(expected_accuracy, abs=5e-5)
    assert loss == pytest.approx(expected_loss, abs=6e-5)
    _, test32 = load_idx_dir(data_dir)
    assert evaluate(MLP.load(saved), test32).accuracy == pytest.approx(final, abs=5e-5)


def test_train_json_save_is_the_reports_format(data_dir, tmp_path, capsys):
    saved = tmp_path / "model.json"
    assert (
        main(
            [
                "train",
                "--data-dir",
                str(data_dir),
                "--epochs",
                "1",
                "--layers",
                "784,20,10",
                "--save",
                str(saved),
                "--quiet",
            ]
        )
        == 0
    )
    assert MLP.load(saved).layers == (784, 20, 10)
    out = capsys.readouterr().out
    assert not [line for line in out.splitlines() if line.startswith("epoch")]
    assert "test accuracy" in out


BAD = [
    (["--optimizer", "adamz"], "unknown optimizer 'adamz': choose one of sgd, momentum, nesterov"),
    (["--lr", "-1"], "lr must be >= 0"),
    (["--lr", "nan"], "lr must be finite"),
    (["--optimizer", "momentum", "--momentum", "1"], r"momentum must be in \[0, 1\)"),
    (["--optimizer", "adam", "--momentum", "0.9"], "adam has no hyper-parameter 'momentum'"),
    (["--optimizer", "rmsprop", "--eps", "0"], "eps must be > 0"),
    (["--layers", "784,x,10"], "--layers takes comma-separated integers"),
    (["--layers", "100,10"], "784 features per sample but the network's input layer has 100"),
    (["--layers", "784,30,5"], "10 classes .* but the network's output layer has 5"),
    (["--device", "tpu"], "unknown device 'tpu'"),
    (["--epochs", "0"], "--epochs: epochs must be a positive integer, not 0"),
    (["--batch-size", "-3"], "--batch-size: batch_size must be a positive integer, not -3"),
    (["--epochs", "2.5"], "--epochs: epochs must be a positive integer, not '2.5'"),
    (["--seed", "-1"], "--seed: seeds must be integers >= 0, not -1"),
    (["--seed", "x"], "--seed: seeds must be an integer or a sequence of integers, not 'x'"),
    (["--dtype", "float16"], "invalid choice: 'float16'"),
    (["--activation", "swish"], "invalid choice: 'swish'"),
    (["--data-dir", "/nonexistent/optimlab"], "/nonexistent/optimlab"),
    (["--save", "/nonexistent/dir/model.npz"], "directory /nonexistent/dir does not exist"),
]


@pytest.mark.parametrize(("args", "message"), BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_input_is_one_sentence_with_exit_code_2(args, message, data_dir, capsys):
    if "--data-dir" not in args:
        args = [*args, "--data-dir", str(data_dir)]
    try:
        code = main(["train", "--epochs", "1", *args])
    except SystemExit as exit_:  # argparse's own errors
        code = exit_.code
    err = assert_refused(code, capsys, message)
    assert err.startswith("optimlab") and "error" in err


def _gpu_present() -> bool:
    try:
        import cupy

        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:  # no CuPy, or CuPy without a driver
        return False


@pytest.mark.skipif(_gpu_present(), reason="a CUDA GPU is present")
def test_cuda_without_a_gpu_says_what_is_missing(data_dir, capsys):
    code = main(["train", "--device", "cuda", "--data-dir", str(data_dir)])
    assert_refused(code, capsys, "device 'cuda'.*CuPy")


def test_bad_input_leaves_an_existing_model_file_untouched(data_dir, tmp_path, capsys):
    saved = tmp_path / "model.npz"
    saved.write_bytes(b"earlier work")
    code = main(["train", "--data-dir", str(data_dir), "--lr", "-1", "--save", str(saved)])
    assert code == 2
    assert saved.read_bytes() == b"earlier work"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.npz"]


def test_corrupt_data_is_reported_by_file_name(data_dir, tmp_path, capsys):
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(data_dir, broken)
    labels = broken / "t10k-labels-idx1-ubyte"
    labels.write_bytes(labels.read_bytes()[:-7])
    code = main(["train", "--data-dir", str(broken), "--epochs", "1"])
    assert_refused(code, capsys, "t10k-labels-idx1-ubyte")


def test_python_dash_m_runs_without_a_traceback():
    version = subprocess.run(
        [sys.executable, "-m", "optimlab", "--version"], capture_output=True, text=True, check=True
    )
    assert version.stdout.startswith("optimlab ")
    bad = subprocess.run(
        [sys.executable, "-m", "optimlab", "train", "--optimizer", "nope"],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2
    assert "Traceback" not in bad.stderr and "unknown optimizer 'nope'" in bad.stderr


def test_loaded_subset_matches_the_packaged_data(data_dir):
    from optimlab import load_idx_dir, load_mnist

    train, _ = load_idx_dir(data_dir)
    full, _ = load_mnist()
    np.testing.assert_array_equal(train.images, full.images[:2000])
    np.testing.assert_array_equal(train.labels, full.labels[:2000])


def test_every_hyperparameter_of_every_optimizer_is_an_option():
    from optimlab import optimizers
    from optimlab.cli.parser import build_parser

    # typed as declared: a switch takes true/false, an integer an integer, the rest numbers
    given = {bool: ("true", True), int: ("3", 3), float: ("0.5", 0.5)}
    for name, cls in optimizers.OPTIMIZERS.items():
        for k in optimizers.defaults(name):
            text, value = given[cls.declared[k].type]
            args = build_parser().parse_args(["train", f"--{k.replace('_', '-')}", text])
            assert getattr(args, k) == value and type(getattr(args, k)) is type(value), (name, k)
