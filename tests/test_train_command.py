"""``optimlab train``'s exits that no other test reached (issue 17, "also untested").

Exit 1 when training diverges; exit 130, without a traceback, on Ctrl-C, leaving a
checkpoint that ``--resume`` continues; exit 2 with one sentence for a checkpoint
that is missing, foreign, corrupt or of another setting, which is left as it was.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from helpers import assert_refused, write_mnist_subset
from optimlab import MLP, optimizers, schedules
from optimlab.cli import main
from optimlab.train import checkpoint as checkpoints


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("idx")
    write_mnist_subset(directory, n_train=300, n_test=100)
    return directory


def _train(data_dir, *args):
    return [
        "train",
        "--data-dir",
        str(data_dir),
        "--layers",
        "784,8,10",
        "--limit-train",
        "200",
        *args,
    ]


# ------------------------------------------------------------------ divergence


def test_divergence_exits_1_says_why_and_saves_no_model(data_dir, tmp_path, capsys):
    saved = tmp_path / "model.npz"
    code = main(_train(data_dir, "--lr", "1e38", "--epochs", "3", "--save", str(saved)))
    captured = capsys.readouterr()
    assert code == 1, captured
    err = captured.err.strip().splitlines()
    assert err[0] == (
        "optimlab train: sgd: the training loss became nan in epoch 1; training stopped "
        "(try a smaller learning rate)"
    ), err
    assert err[1] == f"optimlab train: the model was not saved to {saved}", err
    assert "Traceback" not in captured.err
    assert "epoch   2/3" not in captured.out  # it stopped at the first non-finite epoch
    assert not saved.exists()


def test_a_large_but_finite_loss_is_divergence_as_compare_says(data_dir, capsys):
    """lr 1e6 saturates the sigmoids: the loss stays finite but is far over ten times that
    of knowing nothing, which compare calls diverged; train says the same, exit 1 (issue
    26: it printed the loss as a normal result, exit 0)."""
    assert main(_train(data_dir, "--lr", "1e6", "--epochs", "1", "--quiet")) == 1
    err = capsys.readouterr().err
    assert "sgd: diverged at epoch 1: the training loss" in err
    assert "is over 10 times the loss of knowing nothing" in err


# ----------------------------------------------------------------------- Ctrl-C


def test_ctrl_c_exits_130_without_a_traceback_and_resume_continues(data_dir, tmp_path):
    ckpt = tmp_path / "run.npz"
    command = [sys.executable, "-m", "optimlab", *_train(data_dir, "--checkpoint", str(ckpt))]
    child = subprocess.Popen(
        [*command, "--epochs", "100000"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
    )
    try:
        # The checkpoint is written after an epoch's line: interrupt after the second
        # line, so that the first epoch's checkpoint exists.
        lines = (line for line in child.stdout if line.startswith("epoch"))
        if next(lines, None) is None or next(lines, None) is None:
            pytest.fail(f"fewer than two epoch lines: {child.stderr.read()}")
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()
    assert child.returncode == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert err.strip().splitlines()[-1] == (
        f"optimlab train: interrupted; the epochs completed are in {ckpt}: run the same "
        "command with --resume to continue"
    ), err
    assert not any(line.startswith("sgd: test accuracy") for line in out.splitlines()), out
    assert sorted(p.name for p in tmp_path.iterdir()) == [ckpt.name]  # no temporary left

    saved = checkpoints.load(ckpt)
    done = saved["trainer"].epoch
    assert done >= 1 and len(saved["histories"][0].epochs) == done

    # --resume up to one more epoch trains exactly one: its line, after the saved ones
    resumed = subprocess.run(
        [*command, "--epochs", str(done + 1), "--resume"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert resumed.returncode == 0, resumed.stderr
    lines = [line for line in resumed.stdout.splitlines() if line.startswith("epoch")]
    assert len(lines) == done + 1
    assert all(f"(from {ckpt})" in line for line in lines[:done])
    assert lines[done].startswith(f"epoch {done + 1:3d}/{done + 1}") and "from" not in lines[done]
    assert checkpoints.load(ckpt)["trainer"].epoch == done + 1


# ------------------------------------------------------------ refused checkpoints


@pytest.fixture
def real_checkpoint(data_dir, tmp_path, capsys):
    """A checkpoint of one epoch of ``train --lr 0.5``."""
    path = tmp_path / "run.npz"
    assert main(_train(data_dir, "--lr", "0.5", "--epochs", "1", "--checkpoint", str(path))) == 0
    capsys.readouterr()
    return path


def _resume(data_dir, path, *extra):
    return main(
        _train(data_dir, "--lr", "0.5", "--epochs", "2", "--checkpoint", str(path), "--resume")
        + list(extra)
    )


def _re(path: Path) -> str:
    return re.escape(str(path))


def _refused(data_dir, path, capsys, message):
    before = path.read_bytes() if path.exists() else None
    code = _resume(data_dir, path)
    assert_refused(code, capsys, message)
    assert (path.read_bytes() if path.exists() else None) == before  # left as it was


def test_a_missing_checkpoint_is_refused(data_dir, tmp_path, capsys):
    path = tmp_path / "absent.npz"
    _refused(
        data_dir, path, capsys, rf"^optimlab train: error: checkpoint {_re(path)} does not exist$"
    )
    assert not path.exists()


def test_a_text_file_is_not_a_checkpoint(data_dir, tmp_path, capsys):
    path = tmp_path / "notes.npz"
    path.write_text("not a checkpoint\n")
    _refused(
        data_dir,
        path,
        capsys,
        rf"^optimlab train: error: {_re(path)} is not an optimlab checkpoint$",
    )


def test_a_model_file_is_not_a_checkpoint(data_dir, tmp_path, capsys):
    """A foreign .npz: the model file ``train --save`` writes (today: "unreadable: 'meta
    is not a file in the archive'"; "is not an optimlab checkpoint" would say it better)."""
    path = tmp_path / "model.npz"
    MLP([784, 8, 10], seed=0).save(path)
    _refused(
        data_dir,
        path,
        capsys,
        rf"^optimlab train: error: ({_re(path)} is not an optimlab checkpoint|"
        rf"checkpoint {_re(path)} is unreadable: .*meta.*)$",
    )


def test_another_programs_npz_is_not_a_checkpoint(data_dir, tmp_path, capsys):
    path = tmp_path / "other.npz"
    np.savez(path, meta=np.array('{"format": "something.else"}'), params=np.zeros(3))
    _refused(
        data_dir,
        path,
        capsys,
        rf"^optimlab train: error: {_re(path)} is not an optimlab checkpoint$",
    )


def test_a_truncated_checkpoint_is_refused(data_dir, real_checkpoint, capsys):
    content = real_checkpoint.read_bytes()
    real_checkpoint.write_bytes(content[: len(content) // 2])
    _refused(data_dir, real_checkpoint, capsys, rf"{_re(real_checkpoint)} is (not an|unreadable)")


def test_a_checkpoint_with_damaged_arrays_is_refused(data_dir, real_checkpoint, capsys):
    """A flipped byte inside the stored parameters: the zip's CRC catches it."""
    with zipfile.ZipFile(real_checkpoint) as archive:
        info = archive.getinfo("params.npy")
    content = bytearray(real_checkpoint.read_bytes())
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    content[start + info.compress_size - 5] ^= 0xFF
    real_checkpoint.write_bytes(bytes(content))
    _refused(
        data_dir,
        real_checkpoint,
        capsys,
        rf"^optimlab train: error: checkpoint {_re(real_checkpoint)} is unreadable: .*CRC",
    )


def test_a_checkpoint_of_another_setting_is_refused(data_dir, real_checkpoint, capsys):
    before = real_checkpoint.read_bytes()
    code = main(
        _train(
            data_dir,
            "--lr",
            "0.1",
            "--epochs",
            "2",
            "--resume",
            "--checkpoint",
            str(real_checkpoint),
        )
    )
    assert_refused(
        code,
        capsys,
        rf"^optimlab train: error: checkpoint {_re(real_checkpoint)} was written with "
        r"hyperparameters.lr = 0.5, and this command has hyperparameters.lr = 0.1: run the "
        r"same command with --resume$",
    )
    assert real_checkpoint.read_bytes() == before


def test_the_real_checkpoint_resumes(data_dir, real_checkpoint, capsys):
    """The control for the refusals above: the intact file continues (exit 0, one epoch)."""
    assert _resume(data_dir, real_checkpoint) == 0
    out = capsys.readouterr().out
    assert "epoch   1/2  test accuracy" in out and f"(from {real_checkpoint})" in out
    assert checkpoints.load(real_checkpoint)["trainer"].epoch == 2


def test_resume_without_a_checkpoint_is_refused(data_dir, capsys):
    code = main(_train(data_dir, "--epochs", "1", "--resume"))
    assert_refused(code, capsys, "--resume continues from a --checkpoint FILE")


def test_an_existing_checkpoint_is_not_overwritten_without_resume(
    data_dir, real_checkpoint, capsys
):
    before = real_checkpoint.read_bytes()
    code = main(_train(data_dir, "--epochs", "1", "--checkpoint", str(real_checkpoint)))
    assert_refused(code, capsys, "exists: pass --resume to continue from it, or remove it")
    assert real_checkpoint.read_bytes() == before


# ------------------------------------------------------------ one optimizer, one setting


def test_the_optimizer_is_made_once_against_the_runs_steps(data_dir, monkeypatch, capsys):
    """The optimizer is made once, when the data is known: 200 samples in batches of 10
    are 20 steps an epoch, so half an epoch's warm-up is 10 steps of the run's 40 (the
    schedule's form alone was read before: no optimizer was built for it)."""
    made = []
    real = optimizers.get

    def counted(name, **hyper):
        made.append((name, hyper.get("schedule")))
        return real(name, **hyper)

    monkeypatch.setattr(optimizers, "get", counted)
    argv = _train(data_dir, "--optimizer", "adam", "--epochs", "2", "--quiet")
    assert main([*argv, "--schedule", "warmup_cosine:warmup=0.5"]) == 0
    assert made == [("adam", schedules.WarmupCosine(warmup_steps=10, total_steps=40))]


def test_a_schedule_is_read_in_epochs_before_the_data(data_dir, capsys):
    """0.4 of an epoch's warm-up in a total of 0.5 fits (8 and 10 steps here): it was
    refused when the form was checked at a made-up step per epoch (1 step and 1 step)."""
    argv = _train(data_dir, "--optimizer", "adam", "--epochs", "1")
    assert main([*argv, "--schedule", "warmup_cosine:warmup=0.4,total=0.5"]) == 0
    assert "schedule=warmup_cosine(warmup_steps=8, total_steps=10)" in capsys.readouterr().out


def test_a_checkpoint_without_a_later_hyperparameter_resumes(data_dir, real_checkpoint, capsys):
    """A checkpoint written before ``weight_decay`` existed (its record without it) resumes:
    the missing hyper-parameter takes its default, as a results file's trial does."""
    with np.load(real_checkpoint) as archive:
        arrays = {name: archive[name] for name in archive.files}
    meta = json.loads(str(arrays["meta"]))
    assert meta["info"]["setting"]["hyperparameters"].pop("weight_decay") == 0.0
    arrays["meta"] = np.array(json.dumps(meta))
    with open(real_checkpoint, "wb") as f:
        np.savez(f, **arrays)
    assert _resume(data_dir, real_checkpoint) == 0, capsys.readouterr().err
    assert checkpoints.load(real_checkpoint)["trainer"].epoch == 2
