"""Experiments on a Dask cluster: same results as local, nothing lost, clear errors."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from helpers import assert_refused
from optimlab import ConfigError
from optimlab.cli import main
from optimlab.experiment import Reporter, load_results, run_experiment, sweep_setting
from optimlab.figures import draw_experiment

distributed = pytest.importorskip(
    "distributed", reason="Dask's distributed package is not installed (optimlab[distributed])"
)

ADAM = {"beta1": 0.9, "beta2": 0.999, "eps": 1e-10}


def _setting(epochs=2):
    """A small sweep: 4 learning rates x 2 seeds, in 4 passes of 2 members."""
    return sweep_setting(
        "adam",
        ADAM,
        [0.001, 0.003, 0.01, 0.03],
        [0, 1],
        max_members=2,
        epochs=epochs,
        limit_train=600,
        layers=[784, 8, 10],
    )


def _figures(results):
    return [
        [(e.train_loss, e.test_loss, e.test_accuracy) for e in t.epochs] for t in results.trials
    ]


class _Done(Reporter):
    def __init__(self, then=None):
        self.done, self.then = [], then

    def pass_done(self, index, seconds):
        self.done.append(index)
        if self.then is not None:
            self.then(len(self.done))


@pytest.fixture(scope="module")
def local_results(tmp_path_factory):
    return run_experiment(_setting(), tmp_path_factory.mktemp("local"))


def test_a_sweep_on_two_workers_gives_the_local_results(tmp_path, local_results):
    reporter = _Done()
    results = run_experiment(_setting(), tmp_path / "dask", scheduler="local:2", reporter=reporter)
    assert sorted(reporter.done) == [0, 1, 2, 3]
    assert _figures(results) == _figures(local_results)
    assert _figures(load_results(tmp_path / "dask" / "results.json")) == _figures(local_results)
    drawn = draw_experiment(results, tmp_path / "dask")  # from the models the workers saved
    names = [p.name for p in drawn]
    assert names == ["accuracy.png", "loss.png", "sensitivity.png", "misclassified.png"]
    assert all(p.parent == tmp_path / "dask" and p.is_file() for p in drawn)
    assert sorted(p.name for p in (tmp_path / "dask" / "models").iterdir()) == [
        f"pass-{i}.npz" for i in range(4)
    ]


def test_losing_a_worker_mid_sweep_loses_no_trial(tmp_path, local_results):
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        pids = client.run(os.getpid)

        def kill_one(done):
            if done == 1:  # the first trial is back: the others are in flight or queued
                os.kill(next(iter(pids.values())), signal.SIGKILL)

        reporter = _Done(kill_one)
        results = run_experiment(
            _setting(), tmp_path / "run", scheduler=cluster.scheduler_address, reporter=reporter
        )
    assert sorted(reporter.done) == [0, 1, 2, 3]  # every trial once
    assert all(p.complete for p in results.passes)
    assert _figures(results) == _figures(local_results)


def test_rerunning_after_an_interruption_runs_only_the_missing_trials(tmp_path, local_results):
    def interrupt(done):
        if done == 2:
            raise KeyboardInterrupt

    out = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        run_experiment(_setting(), out, scheduler="local:2", reporter=_Done(interrupt))
    saved = load_results(out / "results.json")
    finished = [i for i, p in enumerate(saved.passes) if p.complete]
    assert len(finished) == 2
    reporter = _Done()
    results = run_experiment(_setting(), out, scheduler="local:2", resume=True, reporter=reporter)
    assert sorted(reporter.done) == sorted(set(range(4)) - set(finished))
    assert _figures(results) == _figures(local_results)


def test_a_failing_trial_is_reported_and_the_others_go_on(tmp_path):
    # An optimizer that cannot be built raises inside the task, on the worker.
    setting = _setting(epochs=1)
    setting.passes[1][0] = type(setting.passes[1][0])("momentum", {"momentum": 1.5}, 0)
    results = run_experiment(setting, tmp_path / "run", scheduler="local:2")
    assert [p.complete for p in results.passes] == [True, False, True, True]
    assert "momentum must be in [0, 1)" in results.passes[1].error


def test_an_unreachable_scheduler_is_one_sentence(tmp_path, monkeypatch, capsys):
    from optimlab.experiment import cluster as ours

    monkeypatch.setattr(ours, "CONNECT_TIMEOUT_S", 1.0)
    out = tmp_path / "run"
    for scheduler, message in (
        ("tcp://127.0.0.1:9", "cannot reach the Dask scheduler at tcp://127.0.0.1:9"),
        ("local:zero", "local:N needs a positive number of workers"),
    ):
        code = main(["compare", "--epochs", "1", "--out", str(out), "--scheduler", scheduler])
        assert_refused(code, capsys, message)
        assert not out.exists()


def test_a_data_directory_missing_on_the_workers_is_refused():
    from optimlab.experiment.cluster import run_passes

    setting = _setting()
    setting.data = "/nonexistent/optimlab-data"
    with pytest.raises(ConfigError, match="does not exist on the workers"):
        list(run_passes(setting, [0], "local:1"))


def test_without_the_option_dask_is_not_imported(tmp_path):
    code = (
        "import sys; from optimlab.cli import main; "
        f"main(['compare', '--optimizers', 'sgd', '--epochs', '1', '--limit-train', '200', "
        f"'--layers', '784,4,10', '--out', {str(tmp_path / 'run')!r}, '--quiet']); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "[]"
