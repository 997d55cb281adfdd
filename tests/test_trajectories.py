"""Optimizers' paths on the 2-D functions, their files, and ``optimlab trajectories``."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest
from matplotlib.image import imread
from PIL import Image

from optimlab import ConfigError, OptimlabError, optimizers, problems
from optimlab.backend import resolve
from optimlab.cli import main
from optimlab.cli.parser import build_parser
from optimlab.cli.trajectories_command import trajectories_command
from optimlab.experiment import Setting
from optimlab.problems import surfaces
from optimlab.train import Trainer
from optimlab.trajectories import STEPS_PER_EPOCH, run_trajectories, write_trajectories


def _rosenbrock_gradient(u: float, v: float) -> np.ndarray:
    # by hand: d/du (1-u)^2 + 100 (v-u^2)^2 and d/dv
    return np.array([2 * (u - 1) - 400 * u * (v - u * u), 200 * (v - u * u)])


def _descent(start, steps, lr, noise=None):
    points = [np.array(start, dtype=np.float64)]
    for t in range(steps):
        g = _rosenbrock_gradient(*points[-1])
        if noise is not None:
            g = g + noise[t]
        points.append(points[-1] - lr * g)
    return np.array(points)


def test_noise_free_sgd_is_plain_gradient_descent(backend):
    sgd = optimizers.get("sgd", lr=1e-3)
    (path,) = run_trajectories("rosenbrock", [sgd], 30, noise=0.0, backend=backend)
    np.testing.assert_allclose(path.points, _descent((-0.5, 1.5), 30, 1e-3), rtol=1e-12)
    assert path.points.shape == (31, 2) and path.steps == 30 and path.diverged_at is None


def _deepobs_batch_means(steps, noise, seed, per_epoch=78):
    """Each step's mean sample, drawn here as DeepOBS draws its 2-D data set: x then y,
    10,000 each, from RandomState(42); shuffled each epoch by default_rng(seed), cut into
    batches of 128, the last 16 samples of every epoch left out (``per_epoch=79``: kept
    as a batch of their own)."""
    draws = np.random.RandomState(42)
    data = np.stack([draws.normal(0.0, noise, 10_000), draws.normal(0.0, noise, 10_000)], 1)
    shuffles, means = np.random.default_rng(seed), []
    while len(means) < steps:
        order = shuffles.permutation(10_000)
        means += [data[order[k * 128 : (k + 1) * 128]].mean(axis=0) for k in range(per_epoch)]
    return np.array(means[:steps])


def test_the_noise_is_the_batch_means_of_the_problems_data():
    """Over three epochs (two boundaries): the gradient is the exact one plus the mean of
    the step's batch of DeepOBS's samples, drawn independently here."""
    sgd = optimizers.get("sgd", lr=1e-3)
    (path,) = run_trajectories("rosenbrock", [sgd], 200, noise=2.0, seed=3)
    noise = _deepobs_batch_means(200, 2.0, seed=3)
    np.testing.assert_allclose(path.points, _descent((-0.5, 1.5), 200, 1e-3, noise), rtol=1e-12)
    # the control: with each epoch's last 16 samples as a batch, the path is another one
    kept = _deepobs_batch_means(200, 2.0, seed=3, per_epoch=79)
    assert not np.allclose(path.points, _descent((-0.5, 1.5), 200, 1e-3, kept), rtol=1e-6)


@pytest.mark.parametrize("name", ["adam", "sf_sgd"])
def test_a_path_is_the_trainers_run_of_the_function_problem(name):
    """The point after two epochs of the path is where a Trainer of the ``rosenbrock``
    problem, built here from the problem, evaluates after two epochs of DeepOBS's batches
    (Schedule-Free's average, not its gradient point): the recorder records the trainer's
    own steps."""
    opt = optimizers.get(name, lr=1e-3)
    (path,) = run_trajectories("rosenbrock", [opt], 2 * 78, noise=1.0, seed=5)
    problem = problems.get("rosenbrock")
    setting = Setting("compare", [], **problem.setting(), problem=problem, dtype="float64")
    backend = resolve("cpu")
    train, _ = problem.load_data(setting, backend)
    model = problem.make_model(setting, 5, backend)
    trainer = Trainer(model, opt, train, batch_size=128, seed=5)
    for _ in range(2):  # DeepOBS's epochs: 78 batches, the last 16 samples left out
        trainer.run_batches(trainer.rngs[0].permutation(10_000)[: STEPS_PER_EPOCH * 128])
    np.testing.assert_array_equal(path.points[-1], np.asarray(trainer.eval_params()))
    assert STEPS_PER_EPOCH == 78 and len(path.points) == 157


def test_the_recorder_reads_nothing_back_until_the_end(monkeypatch):
    """The path is read back to the host once, whatever the number of steps."""
    import optimlab.trajectories as module

    reads = []
    monkeypatch.setattr(module, "to_numpy", lambda a: reads.append(a.shape) or np.asarray(a))
    (path,) = run_trajectories("beale", ["adam"], 100, noise=1.0)
    assert reads == [(101, 2)] and path.points.shape == (101, 2)


def test_the_noise_is_seeded():
    def path(seed):
        return run_trajectories("branin", ["adam"], 40, seed=seed)[0].points

    np.testing.assert_array_equal(path(1), path(1))
    assert not np.allclose(path(1), path(2))


def test_the_path_records_where_the_optimizer_evaluates():
    # Schedule-Free evaluates at its average x, not at the point y where it takes gradients
    opt = optimizers.get("sf_sgd", lr=1e-3)
    (path,) = run_trajectories("rosenbrock", [opt], 5, noise=0.0)
    surface = surfaces.get("rosenbrock")
    p = np.array(surface.start)
    state = opt.init([p])
    for t in range(5):
        (p,), state = opt.step([p], [surface.gradient(p)], state)
        np.testing.assert_allclose(path.points[t + 1], opt.eval_params([p], state)[0])
    assert not np.allclose(path.points[-1], p)


def test_a_diverging_path_ends_at_its_last_finite_point(tmp_path):
    with np.errstate(all="ignore"):
        runs = run_trajectories("rosenbrock", [optimizers.get("sgd", lr=1.0), "adam"], 50)
    diverged, fine = runs
    assert diverged.diverged_at is not None and fine.diverged_at is None
    assert len(diverged.points) == diverged.diverged_at and np.isfinite(diverged.points).all()
    write_trajectories(runs, surfaces.get("rosenbrock"), tmp_path)
    document = json.loads((tmp_path / "trajectories.json").read_text())  # strict JSON
    assert document["runs"][0]["diverged_at"] == diverged.diverged_at


def test_default_settings_drop_weight_decay_and_take_the_surface_rate():
    (adamw,) = run_trajectories("beale", ["adamw"], 1, noise=0.0)
    assert adamw.hyperparameters["weight_decay"] == 0.0
    assert adamw.hyperparameters["lr"] == surfaces.get("beale").learning_rate("adamw")


# -- the command ------------------------------------------------------------------------


def _parse(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(["trajectories", *argv])


def _run(*argv: str) -> int:
    return trajectories_command(_parse(*argv))


def test_the_command_writes_json_png_and_gif(tmp_path, capsys):
    out = tmp_path / "runs" / "valley"  # parents are created
    argv = ["--optimizers", "sgd,momentum,adam,lion", "--steps", "6", "--out", str(out)]
    assert _run(*argv, "--gif", "--set", "sgd.lr=0.0005") == 0
    document = json.loads((out / "trajectories.json").read_text())
    assert [r["optimizer"] for r in document["runs"]] == ["sgd", "momentum", "adam", "lion"]
    assert document["problem"] == "rosenbrock" and document["steps"] == 6
    for run in document["runs"]:
        assert run["points"][0] == [-0.5, 1.5] and len(run["points"]) == 7
        assert all(len(p) == 2 for p in run["points"])
    assert document["runs"][0]["hyperparameters"] == {"lr": 0.0005, "weight_decay": 0.0}

    image = imread(out / "trajectories.png")
    assert image.ndim == 3 and image.shape[0] > 400 and image.shape[1] > 400
    colours = np.unique((image[..., :3] * 255).astype(np.uint8).reshape(-1, 3), axis=0)
    assert len(colours) > 50  # contours, paths, legend: far from blank
    assert image[..., :3].std() > 0.1

    with Image.open(out / "trajectories.gif") as gif:
        assert gif.n_frames == 7  # the start and each of the 6 steps
    assert sorted(p.name for p in out.iterdir()) == [
        ".optimlab-manifest.json",  # the kind and the files written (optimlab's contract)
        ".optimlab.lock",
        "trajectories.gif",
        "trajectories.json",
        "trajectories.png",
    ]  # no temporary file left
    assert "wrote" in capsys.readouterr().out


def test_the_command_refuses_to_overwrite_unless_told(tmp_path):
    argv = ["--problem", "branin", "--optimizers", "sgd", "--steps", "2", "--out", str(tmp_path)]
    assert _run(*argv) == 0
    before = (tmp_path / "trajectories.json").read_text()
    with pytest.raises(ConfigError) as error:
        _run(*argv, "--seed", "4")
    assert (
        str(error.value)
        == f"{tmp_path} already holds trajectories.json: use --overwrite to replace it"
    )
    assert (tmp_path / "trajectories.json").read_text() == before
    assert _run(*argv, "--seed", "4", "--overwrite") == 0
    assert json.loads((tmp_path / "trajectories.json").read_text())["seed"] == 4
    assert _run(*argv, "--seed", "5", "--overwrite", "--gif") == 0
    assert _run(*argv, "--seed", "6", "--overwrite") == 0
    assert not (tmp_path / "trajectories.gif").exists()  # it showed seed 5's paths


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--problem", "himmelblau"], "unknown 2-D problem 'himmelblau'; choose from rosenbrock"),
        (["--problem", "mnist_mlp"], "mnist_mlp is a network problem, not a 2-D function"),
        (["--problem", "quadratic_deep"], "quadratic_deep is 100-D, not a 2-D function"),
        (["--noise", "-1"], "--noise takes a finite number >= 0, not -1.0"),
        (["--optimizers", "sgd,adamx"], "unknown optimizer 'adamx': choose from sgd,"),
        (["--set", "adam.lr=0.1"], "--set adam.lr=0.1: adam is not among the optimizers run"),
        (["--set", "sgd.lr=fast"], "--set sgd.lr=fast: 'fast' is not a number"),
        (["--set", "sgd.beta=0.9"], "sgd has no hyper-parameter 'beta'"),
    ],
)
def test_bad_input_is_one_sentence_before_any_file(tmp_path, argv, message):
    out = tmp_path / "out"
    defaults = ["--optimizers", "sgd", "--steps", "3", "--out", str(out)]
    with pytest.raises(ConfigError) as error:
        _run(*defaults, *argv)  # the later --optimizers wins
    assert str(error.value).startswith(message)
    assert "\n" not in str(error.value)
    assert isinstance(error.value, OptimlabError)  # the command line's exit code 2
    assert not out.exists()


def test_an_unreadable_number_is_argparses_exit_code_2(capsys):
    for argv in (["--steps", "0"], ["--noise", "loud"], ["--seed", "-1"]):
        with pytest.raises(SystemExit) as exit_:
            _parse(*argv, "--out", "x")
        assert exit_.value.code == 2
    assert "--steps" in capsys.readouterr().err


def test_a_file_in_the_way_of_the_directory_is_one_sentence(tmp_path):
    (tmp_path / "taken").write_text("")
    with pytest.raises(ConfigError, match="taken exists and is not a directory"):
        _run("--steps", "1", "--out", str(tmp_path / "taken"))


def test_a_schedule_from_set_reaches_the_optimizer(tmp_path):
    assert _run("--optimizers", "adam", "--steps", "3", "--noise", "0",
                "--set", "adam.schedule=cosine", "--out", str(tmp_path)) == 0  # fmt: skip
    (run,) = json.loads((tmp_path / "trajectories.json").read_text())["runs"]
    assert run["hyperparameters"]["schedule"].startswith("cosine")


def test_optimlab_trajectories_runs_from_the_command_line(tmp_path, capsys):
    out = tmp_path / "valley"
    argv = ["trajectories", "--problem", "beale", "--optimizers", "sgd,adam", "--steps", "4"]
    assert main([*argv, "--out", str(out)]) == 0
    runs = json.loads((out / "trajectories.json").read_text())["runs"]
    assert [r["optimizer"] for r in runs] == ["sgd", "adam"]
    assert all(len(r["points"]) == 5 for r in runs)  # the start and four steps
    # its --problem names a function, not a network problem the other commands resolve
    assert not hasattr(_parse("--out", "x"), "problem")
    capsys.readouterr()
    assert main([*argv, "--noise", "-1", "--out", str(tmp_path / "bad")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("optimlab trajectories: error: --noise takes a finite number >= 0")
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "bad").exists()
