"""Never lose an experiment (issue 15): validate before touching the directory, remove
only our own files, lock the directory, check the data on resume, handle divergence."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from helpers import assert_refused, write_mnist_subset
from optimlab.cli import main
from optimlab.errors import ConfigError
from optimlab.experiment import Reporter, compare_setting, load_results, run_experiment

SMALL = ["--epochs", "1", "--limit-train", "300", "--layers", "784,8,10", "--seeds", "1"]


def _compare(out, *extra):
    fixed = ["compare", *SMALL, "--optimizers", "sgd", "--jobs", "1", "--quiet"]
    return main([*fixed, *extra, "--out", str(out)])


@pytest.fixture
def done(tmp_path, capsys):
    """A complete experiment in ``tmp_path / 'run'``."""
    out = tmp_path / "run"
    assert _compare(out) == 0
    capsys.readouterr()
    return out


def _snapshot(out):
    return {
        str(p.relative_to(out)): p.read_bytes()
        for p in sorted(out.rglob("*"))
        if p.is_file() and p.name != ".optimlab.lock"
    }


# ------------------------------------------------------------------ 1. data loss


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (["--data-dir", "/nonexistent/idx"], "IDX directory /nonexistent/idx does not exist"),
        (["--layers", "784,30,5"], "has 10 classes .* but the network's output layer has 5"),
        (["--layers", "700,30,10"], "has 784 features per sample but the network's input"),
    ],
    ids=["missing-data", "too-few-outputs", "wrong-inputs"],
)
def test_overwrite_with_bad_input_leaves_the_old_experiment_intact(done, bad, message, capsys):
    before = _snapshot(done)
    assert "models/sgd.npz" in before
    assert_refused(_compare(done, "--overwrite", *bad), capsys, message)
    assert _snapshot(done) == before


def test_garbage_idx_files_with_overwrite_leave_the_old_experiment_intact(done, tmp_path, capsys):
    garbage = tmp_path / "garbage"
    garbage.mkdir()
    write_mnist_subset(garbage, n_train=50, n_test=20)
    (garbage / "train-images-idx3-ubyte").write_bytes(b"not an idx file")
    before = _snapshot(done)
    assert_refused(_compare(done, "--overwrite", "--data-dir", str(garbage)), capsys, "")
    assert _snapshot(done) == before


def test_overwrite_removes_only_the_files_of_the_experiment(tmp_path, capsys):
    out = tmp_path / "d"
    (out / "models").mkdir(parents=True)
    (out / "models" / "important.txt").write_text("x")
    assert _compare(out, "--overwrite") == 0
    assert (out / "models" / "important.txt").read_text() == "x"
    assert (out / "models" / "sgd.npz").is_file()
    manifest = json.loads((out / ".optimlab-manifest.json").read_text())
    assert "models/sgd.npz" in manifest["files"] and "results.json" in manifest["files"]
    # replaced by another comparison: the old model goes, the user's file stays
    assert _compare(out, "--overwrite", "--optimizers", "adam") == 0
    assert not (out / "models" / "sgd.npz").exists()
    assert (out / "models" / "adam.npz").is_file()
    assert (out / "models" / "important.txt").read_text() == "x"
    capsys.readouterr()


def test_a_file_of_the_users_where_we_would_write_is_refused_not_replaced(tmp_path, capsys):
    out = tmp_path / "d"
    out.mkdir()
    (out / "results.csv").write_text("mine")
    assert_refused(_compare(out, "--overwrite"), capsys, "results.csv was not written by optimlab")
    assert (out / "results.csv").read_text() == "mine"


def test_an_empty_out_is_refused(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "keep.txt").write_text("x")
    assert_refused(_compare("", "--overwrite"), capsys, "--out is empty")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]


_HOLD = """
import sys, time
from pathlib import Path
from optimlab.experiment.directory import lock
with lock(Path(sys.argv[1])):
    print("locked", flush=True)
    time.sleep(60)
"""


def test_a_locked_directory_is_refused_naming_the_process(tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD, str(out)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        assert_refused(_compare(out), capsys, f"is in use by optimlab process {holder.pid}: wait")
        assert sorted(p.name for p in out.iterdir()) == [".optimlab.lock"]
    finally:
        holder.kill()
        holder.wait()
    assert _compare(out) == 0  # the kernel released the lock with the process


def test_two_runs_started_together_on_one_directory_one_is_refused(tmp_path):
    out = tmp_path / "run"
    cli = "import sys; from optimlab.cli import main; sys.exit(main(sys.argv[1:]))"
    command = [sys.executable, "-c", cli, "compare", *SMALL]
    command += ["--optimizers", "sgd,adam", "--jobs", "1", "--quiet", "--out", str(out)]
    for _ in range(2):
        runs = [
            subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(2)
        ]
        done = [(r.wait(), r.stderr.read()) for r in runs]
        codes = sorted(code for code, _ in done)
        assert codes == [0, 2], done
        refusal = next(err for code, err in done if code == 2)
        assert "is in use by optimlab process" in refusal or "already holds" in refusal, refusal
        results = load_results(out / "results.json")
        assert results.complete and {t.status for t in results.trials} == {"completed"}
        assert (out / "models" / "sgd.npz").is_file() and (out / "models" / "adam.npz").is_file()
        command.append("--overwrite")


def _stop_at_first_epoch(index, epoch):
    return True


def test_resume_refuses_data_that_changed_and_names_the_file(tmp_path):
    data = tmp_path / "idx"
    data.mkdir()
    write_mnist_subset(data, n_train=200, n_test=50)
    setting = compare_setting(
        {"sgd": {}, "adam": {}}, [0], epochs=2, layers=[784, 8, 10], data=str(data)
    )
    out = tmp_path / "run"
    run_experiment(setting, out, stop_after=_stop_at_first_epoch)
    files = load_results(out / "results.json").data.files
    assert set(files) == {
        "train-images-idx3-ubyte",
        "train-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte",
    }
    before = (out / "results.json").read_bytes()
    write_mnist_subset(data, n_train=200, n_test=60)  # other test files, same path
    with pytest.raises(ConfigError, match="data file t10k-images-idx3-ubyte has changed"):
        run_experiment(setting, out, resume=True)
    assert (out / "results.json").read_bytes() == before
    write_mnist_subset(data, n_train=200, n_test=50)  # the same data again
    results = run_experiment(setting, out, resume=True)
    assert results.complete


def test_train_resume_refuses_data_that_changed(tmp_path, capsys):
    data = tmp_path / "idx"
    data.mkdir()
    write_mnist_subset(data, n_train=200, n_test=50)
    ck = tmp_path / "ck.npz"
    args = ["train", "--data-dir", str(data), "--layers", "784,8,10", "--quiet"]
    assert main([*args, "--epochs", "1", "--checkpoint", str(ck)]) == 0
    write_mnist_subset(data, n_train=201, n_test=50)
    capsys.readouterr()
    code = main([*args, "--epochs", "2", "--checkpoint", str(ck), "--resume"])
    assert_refused(code, capsys, "data file train-images-idx3-ubyte has changed")


# ------------------------------------------------------------------ 2. dead ends


class _Interrupt(Reporter):
    def pass_started(self, index, trials, resumed_at):
        raise KeyboardInterrupt


def test_a_directory_without_a_complete_epoch_is_not_an_experiment(tmp_path, capsys):
    out = tmp_path / "run"
    setting = compare_setting({"sgd": {}}, [0], epochs=1, limit_train=300, layers=[784, 8, 10])
    with pytest.raises(KeyboardInterrupt):
        run_experiment(setting, out, reporter=_Interrupt())
    assert load_results(out / "results.json").trials[0].status == "pending"
    assert _compare(out) == 0  # the repeated command just works
    with pytest.raises(KeyboardInterrupt):
        run_experiment(setting, tmp_path / "again", reporter=_Interrupt())
    assert _compare(tmp_path / "again", "--resume") == 0  # and so does --resume


def test_an_interruption_before_the_first_epoch_does_not_advise_resume(
    tmp_path, capsys, monkeypatch
):
    from optimlab.cli import display

    monkeypatch.setattr(display.ExperimentDisplay, "pass_started", _Interrupt.pass_started)
    out = tmp_path / "run"
    assert _compare(out) == 130
    err = capsys.readouterr().err
    assert "--resume" not in err and "run the same command to start again" in err
    monkeypatch.undo()
    assert _compare(out) == 0


def test_train_interrupted_in_its_first_epoch_does_not_advise_resume(tmp_path, capsys, monkeypatch):
    from optimlab.cli import model_commands

    def interrupt(self, done, total):
        raise KeyboardInterrupt

    monkeypatch.setattr(model_commands.Bar, "progress", interrupt)
    ck = tmp_path / "ck.npz"
    code = main(["train", "--limit-train", "300", "--epochs", "2", "--checkpoint", str(ck)])
    assert code == 130
    err = capsys.readouterr().err
    assert "--resume" not in err and "nothing is saved" in err
    assert not ck.exists()


def test_stray_temporary_files_of_ours_are_removed(done, capsys):
    ours = [done / ".results.json.a1b2c3d4.tmp", done / "models" / ".sgd.npz.x_y9z8w7.tmp"]
    theirs = [done / ".notes.txt.abcdefgh.tmp", done / "models" / ".mine.npz.abcdefgh.tmp"]
    for path in ours + theirs:
        path.write_text("half")
    assert _compare(done, "--overwrite") == 0
    assert not any(p.exists() for p in ours)
    assert all(p.exists() for p in theirs)
    ours[0].write_text("half")
    assert _compare(done, "--resume") == 0
    assert not ours[0].exists()


def test_resume_refusals_name_the_field_and_both_values(done, capsys):
    code = _compare(done, "--resume", "--batch-size", "20")
    assert_refused(
        code, capsys, "written with batch_size = 10, and this command has batch_size = 20"
    )


def test_train_refusals_of_files(tmp_path, capsys):
    ck = tmp_path / "ck.npz"
    base = ["train", "--limit-train", "300", "--layers", "784,8,10", "--quiet"]
    assert main([*base, "--epochs", "2", "--checkpoint", str(ck)]) == 0
    capsys.readouterr()
    code = main([*base, "--epochs", "1", "--checkpoint", str(ck), "--resume"])
    assert_refused(code, capsys, f"checkpoint {ck} holds 2 epochs, more than --epochs 1")
    code = main([*base, "--save", str(tmp_path / "m.npz"), "--checkpoint", str(tmp_path / "m.npz")])
    assert_refused(code, capsys, "--save and --checkpoint both name")
    assert_refused(main([*base, "--save", ""]), capsys, "--save is empty: name the file")
    assert not (tmp_path / "m.npz").exists()


# ------------------------------------------------------------------ 3. divergence


def _strict(text):
    def refuse(constant):
        raise ValueError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


@pytest.mark.parametrize("lr", ["1e300", "100"], ids=["nan", "exploded"])
def test_a_diverged_run_is_marked_ranked_last_and_not_kept(tmp_path, capsys, lr):
    out = tmp_path / "run"
    args = ["--optimizers", "sgd,adam", "--set", f"sgd.lr={lr}"]
    assert _compare(out, *args) == 0
    printed = capsys.readouterr().out
    d = _strict((out / "results.json").read_text())
    sgd = next(r for r in d["runs"] if r["optimizer"] == "sgd")
    assert sgd["status"].startswith("diverged at epoch 1: ")
    adam = next(r for r in d["runs"] if r["optimizer"] == "adam")
    assert adam["status"] == "completed"
    rows = [line for line in printed.splitlines() if line.startswith(("sgd", "adam"))]
    assert rows[0].startswith("adam") and rows[1].startswith("sgd")
    assert rows[1].endswith("diverged at epoch 1")
    assert not (out / "models" / "sgd.npz").exists()
    assert (out / "models" / "adam.npz").is_file()
    assert (out / "misclassified.png").is_file()
    results = load_results(out / "results.json")  # reads null back as NaN
    assert [t.diverged for t in results.trials] == [True, False]


def test_when_every_run_diverged_the_command_exits_1(tmp_path, capsys):
    out = tmp_path / "run"
    assert _compare(out, "--set", "sgd.lr=1e300") == 1
    assert "every run diverged" in capsys.readouterr().err
    d = _strict((out / "results.json").read_text())
    assert d["runs"][0]["epochs"][0]["train_loss"] is None
    assert not (out / "misclassified.png").exists()
    assert not (out / "models" / "sgd.npz").exists()


# ------------------------------------------------------------------ 4. newcomers


def test_missing_parent_directories_of_out_are_created(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert _compare(os.path.join("runs", "report")) == 0
    assert (tmp_path / "runs" / "report" / "results.json").is_file()


def test_the_lock_is_released_after_a_run(done):
    import fcntl

    fd = os.open(done / ".optimlab.lock", os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    finally:
        os.close(fd)


# ------------------------------------------------------------------ 9, 11. one sentence


@pytest.mark.parametrize(
    ("command", "message"),
    [
        (["compare", "--optimizers", ",,"], "expected comma-separated names such as sgd,adam"),
        (["compare", "--optimizers", "sgd,SGD"], "sgd is given twice in 'sgd,SGD'"),
        (["sweep", "--optimizer", "sgd", "--lr", "0.01,1e-2"], "0.01 is given twice"),
    ],
    ids=["no-name", "twice", "lr-twice"],
)
def test_lists_that_name_nothing_or_one_thing_twice_are_refused(command, message, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([*command, "--out", str(tmp_path / "run")])
    assert_refused(exit_.value.code, capsys, message)


def test_a_run_too_big_for_memory_is_refused_before_allocating(tmp_path, capsys, monkeypatch):
    # A machine of 64 MiB (the test never allocates what it would need).
    pages = {"SC_PAGE_SIZE": 4096, "SC_PHYS_PAGES": 64 * 256}
    monkeypatch.setattr(os, "sysconf", lambda name: pages[name])
    out = tmp_path / "run"
    quick = ["--epochs", "1", "--limit-train", "100"]
    code = main(["compare", *quick, "--seeds", "200", "--optimizers", "sgd", "--out", str(out)])
    assert_refused(code, capsys, r"200 member\(s\) of a 784-30-10 network need about 0.1 GiB")
    assert not out.exists()
    code = main(["train", *quick, "--layers", "784,5000,10"])
    assert_refused(code, capsys, "network need about .* GiB to train, and this machine has 0.1")


def test_a_name_too_long_for_the_file_system_is_one_sentence(tmp_path, capsys):
    long = "n" * 300
    assert_refused(_compare(tmp_path / long), capsys, "is 300 bytes long; this file system")
    code = main(["train", "--save", str(tmp_path / f"{long}.npz")])
    assert_refused(code, capsys, "is 304 bytes long")


_LIMITED = """
import resource, sys
resource.setrlimit(resource.RLIMIT_FSIZE, (20000, 20000))
from optimlab.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_a_file_size_limit_during_compare_is_one_sentence(tmp_path):
    out = tmp_path / "run"
    command = [sys.executable, "-c", _LIMITED, "compare", *SMALL, "--optimizers", "sgd"]
    done = subprocess.run(
        [*command, "--jobs", "1", "--quiet", "--out", str(out)], capture_output=True, text=True
    )
    err = done.stderr.strip()
    assert done.returncode == 2, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert "cannot write" in err and "File too large" in err
    assert not list(out.rglob("*.tmp"))


def test_train_keeps_the_model_when_save_fails(tmp_path, capsys, monkeypatch):
    import errno

    from optimlab import MLP

    wanted = tmp_path / "model.npz"
    real = MLP.save

    def full_disk(self, path):
        if str(path) == str(wanted):
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real(self, path)

    monkeypatch.setattr(MLP, "save", full_disk)
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path / "fallback"))
    (tmp_path / "fallback").mkdir()
    train = ["train", "--limit-train", "300", "--layers", "784,8,10", "--epochs", "1"]
    code = main([*train, "--quiet", "--save", str(wanted)])
    err = capsys.readouterr().err
    assert code == 1
    assert "No space left on device" in err and "the trained model is saved in" in err
    (saved,) = (tmp_path / "fallback").iterdir()
    assert str(saved) in err and MLP.load(saved).layers == (784, 8, 10)


def test_plot_refuses_a_results_file_with_a_broken_structure(done, capsys):
    d = json.loads((done / "results.json").read_text())
    d["runs"][0]["optimizer"] = 5
    (done / "results.json").write_text(json.dumps(d))
    code = main(["plot", str(done / "results.json")])
    assert_refused(code, capsys, "is a damaged optimlab results file: run optimizer 5 is unknown")


def test_compare_resume_refuses_a_train_checkpoint_in_the_directory(tmp_path, capsys):
    setting = compare_setting({"sgd": {}}, [0], epochs=2, limit_train=300, layers=[784, 8, 10])
    out = tmp_path / "run"
    run_experiment(setting, out, stop_after=_stop_at_first_epoch)
    pass_checkpoint = out / "checkpoints" / "pass-0.npz"
    pass_checkpoint.unlink()
    train = ["train", "--limit-train", "300", "--layers", "784,8,10", "--epochs", "1"]
    assert main([*train, "--quiet", "--checkpoint", str(pass_checkpoint)]) == 0
    with pytest.raises(ConfigError, match="is not pass 0's checkpoint of this experiment"):
        run_experiment(setting, out, resume=True)


def test_sigterm_stops_compare_with_a_word_and_the_epochs_saved(tmp_path):
    out = tmp_path / "run"
    cli = "import sys; from optimlab.cli import main; sys.exit(main(sys.argv[1:]))"
    command = [sys.executable, "-c", cli, "compare", "--epochs", "2000", "--limit-train", "300"]
    command += ["--layers", "784,8,10", "--optimizers", "sgd", "--jobs", "1", "--quiet"]
    run = subprocess.Popen(
        [*command, "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if (out / "results.json").is_file() and load_results(out / "results.json").trials[0].epochs:
            break
        time.sleep(0.05)
    run.terminate()
    _, err = run.communicate(timeout=60)
    assert run.returncode == 143, err
    assert "Traceback" not in err and "stopped by SIGTERM" in err
    assert "run the same command with --resume" in err


def test_a_sweep_whose_every_rate_diverged_names_no_best_rate_and_exits_1(tmp_path, capsys):
    out = tmp_path / "run"
    sweep = ["sweep", "--optimizer", "sgd", "--lr", "1e300,1e299", *SMALL, "--quiet"]
    code = main([*sweep, "--jobs", "1", "--out", str(out)])
    printed = capsys.readouterr()
    assert code == 1, printed.err
    assert "best learning rate for sgd: none, every rate diverged" in printed.out
    _strict((out / "results.json").read_text())


# ------------------------------------------------- issue 26: paths no test covered


def test_overwrite_of_an_interrupted_experiment_never_resumes_its_checkpoint(tmp_path):
    """The manifest lists the checkpoints: --overwrite removes them with the rest."""

    class Starts(Reporter):
        def __init__(self):
            self.resumed_at = []

        def pass_started(self, index, trials, resumed_at):
            self.resumed_at.append(resumed_at)

    setting = compare_setting({"sgd": {}}, [0], epochs=2, limit_train=300, layers=[784, 8, 10])
    out = tmp_path / "run"
    run_experiment(setting, out, stop_after=_stop_at_first_epoch)
    assert (out / "checkpoints" / "pass-0.npz").is_file()
    manifest = json.loads((out / ".optimlab-manifest.json").read_text())
    assert "checkpoints/pass-0.npz" in manifest["files"]
    starts = Starts()
    results = run_experiment(setting, out, overwrite=True, reporter=starts)
    assert starts.resumed_at == [0]  # trained from the start, not from epoch 1
    assert [e.epoch for e in results.trials[0].epochs] == [1, 2]
    assert not (out / "checkpoints").exists()


def test_an_infinite_figure_is_null_in_results_json(tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["compare", "--problem", "quadratic_deep", "--optimizers", "sgd", "--set", "sgd.lr=5"]
    assert main([*argv, "--epochs", "2", "--jobs", "1", "--quiet", "--out", str(out)]) == 1
    assert "every run diverged" in capsys.readouterr().err
    d = _strict((out / "results.json").read_text())
    (run,) = d["runs"]
    assert "the training loss became inf" in run["status"]  # infinite, not NaN
    assert run["epochs"][0]["train_loss"] is None and run["epochs"][0]["test_loss"] is None


def test_compare_jobs_2_killed_leaves_nothing_for_the_resource_tracker_to_warn_of(tmp_path):
    """Issue 26: ``kill -9`` of ``compare --jobs 2`` made multiprocessing's resource tracker
    print "resource_tracker: There appear to be 6 leaked semaphore objects to clean up at
    shutdown" with its file path: the workers' queues were named semaphores that only the
    killed process could unlink. Its workers talk over pipes now, which die with it."""
    out = tmp_path / "run"
    cli = "import sys; from optimlab.cli import main; sys.exit(main(sys.argv[1:]))"
    command = [sys.executable, "-c", cli, "compare", "--epochs", "2000", "--limit-train", "300"]
    command += ["--layers", "784,8,10", "--optimizers", "sgd,adam", "--jobs", "2", "--quiet"]
    run = subprocess.Popen(
        [*command, "--out", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # both passes under way: the worker's too
        if (out / "results.json").is_file():
            with contextlib.suppress(Exception):  # rewritten as we read
                if all(t.epochs for t in load_results(out / "results.json").trials):
                    break
        time.sleep(0.05)
    else:
        run.kill()
        pytest.fail("no epoch of both passes within 120 s")
    run.kill()
    _, err = run.communicate(timeout=120)  # the worker and the tracker have let go of stderr
    assert run.returncode == -signal.SIGKILL
    assert "resource_tracker" not in err and "leaked" not in err, err
    assert "Traceback" not in err, err


def test_a_worker_processs_warning_is_the_commands_to_show(tmp_path):
    """Issue 26: a worker process printed its warnings itself, past the command's filters:
    "/.../experiment/passes.py:165: RuntimeWarning: member 0 (sgd): the training loss
    became nan ..." and the source line under it, where compare shows the run diverged
    in its table. Its warnings go to this process, which issues them as its own."""
    out = tmp_path / "run"
    cli = "import sys; from optimlab.cli import main; sys.exit(main(sys.argv[1:]))"
    command = [sys.executable, "-c", cli, "compare", "--epochs", "100000"]
    command += ["--limit-train", "300", "--layers", "784,8,10", "--optimizers", "adam,sgd"]
    command += ["--set", "sgd.lr=1e38", "--jobs", "2", "--quiet", "--out", str(out)]
    run = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # sgd's pass runs in the worker: adam's is this one's
        if (out / "results.json").is_file():
            with contextlib.suppress(Exception):  # rewritten as we read
                if load_results(out / "results.json").trials_of(1)[0].epochs:
                    break
        time.sleep(0.05)
    else:
        run.kill()
        pytest.fail("sgd's pass had no epoch within 120 s")
    run.terminate()
    _, err = run.communicate(timeout=120)
    assert run.returncode == 143, err
    assert all(line.startswith("optimlab compare: ") for line in err.splitlines()), err
    assert "Warning" not in err and "stopped by SIGTERM" in err
