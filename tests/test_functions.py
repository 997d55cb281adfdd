"""DeepOBS's noisy functions as problems: quadratic_deep and the 2-D functions, trained as
points through the library and every training command."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest

from helpers import assert_refused
from optimlab import Trainer, fit, fit_members, optimizers, problems, resolve
from optimlab.backend import to_numpy
from optimlab.cli import main
from optimlab.nn import Point
from optimlab.problems import functions

FUNCTION_PROBLEMS = [name for name, p in problems.PROBLEMS.items() if not p.trains_network]


def function_data(f, backend, dtype, noise=None):
    """The function problem's data sets, as an experiment's setting loads them."""
    setting = SimpleNamespace(dtype=dtype, noise=noise, limit_train=None)
    return problems.get(f.name).load_data(setting, backend)


def test_the_registry_has_deepobs_functions():
    assert FUNCTION_PROBLEMS == ["quadratic_deep", "rosenbrock", "beale", "branin"]
    quadratic = problems.get("quadratic_deep")
    assert (quadratic.batch_size, quadratic.epochs, quadratic.has_accuracy) == (128, 100, False)
    assert problems.get("report").has_accuracy
    f = functions.get("quadratic_deep")
    assert (f.dim, f.noise, f.train_size, f.test_size) == (100, 0.6, 1000, 1000)
    np.testing.assert_array_equal(f.start, np.ones(100))
    np.testing.assert_array_equal(functions.get("beale").start, [-4.5, 4.5])


def test_quadratic_deep_has_deepobs_spectrum_and_a_haar_rotation():
    h = functions.get("quadratic_deep").hessian
    np.testing.assert_allclose(h, h.T, atol=1e-12)
    # the eigenvalues are the first 100 uniform draws of RandomState(42), scaled as DeepOBS
    draws = np.random.RandomState(42).uniform(size=100)
    expected = np.sort(np.concatenate([draws[:90], 30 + 30 * draws[90:]]))
    np.testing.assert_allclose(np.linalg.eigvalsh(h), expected, rtol=1e-10, atol=1e-12)
    # rotated: far from diagonal, and the diagonal is not the spectrum
    assert np.abs(h - np.diag(np.diag(h))).max() > 1.0
    # another seed, another rotation of another spectrum
    assert not np.allclose(functions.deep_hessian(seed=1), h)


@pytest.mark.parametrize("name", FUNCTION_PROBLEMS)
def test_the_gradient_is_the_batch_mean_losss_by_central_differences(name, backend):
    f = functions.get(name)
    rng = np.random.default_rng(3)
    theta = f.start + 0.3 * rng.standard_normal(f.dim)
    x = rng.standard_normal((7, f.dim))
    point = Point(f, device=backend.device, xp=backend.xp, dtype="float64")
    xp = backend.xp

    def mean_loss(t: np.ndarray) -> float:
        on = backend.asarray(t, dtype=xp.float64)
        return float(to_numpy(xp.mean(point.losses(on, backend.asarray(x, dtype=xp.float64)))))

    grad = to_numpy(
        point.backward(
            [backend.asarray(theta, dtype=xp.float64)], backend.asarray(x, dtype=xp.float64), None
        )
    )
    h = 1e-6
    numeric = np.array(
        [(mean_loss(theta + h * e) - mean_loss(theta - h * e)) / (2 * h) for e in np.eye(f.dim)]
    )
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-6 * np.abs(numeric).max())


def test_noise_free_sgd_through_the_trainer_is_gradient_descent_by_hand(numpy_backend):
    f = functions.get("rosenbrock")
    train, test = function_data(f, numpy_backend, "float64", noise=0.0)
    point = Point(f, dtype="float64")
    lr, epochs = 1e-3, 2
    fit(point, optimizers.SGD(lr=lr), train, epochs=epochs, batch_size=128, monitor=test)
    u, v = f.start
    for _ in range(epochs * -(-train.n // 128)):  # the Trainer keeps the last small batch
        du, dv = 2 * (u - 1) - 400 * u * (v - u * u), 200 * (v - u * u)
        u, v = u - lr * du, v - lr * dv
    np.testing.assert_allclose(np.asarray(point.params), [u, v], rtol=1e-12)


def test_members_train_as_the_points_one_by_one(backend):
    f = functions.get("quadratic_deep")
    train, test = function_data(f, backend, "float64")
    opts = [optimizers.Adam(lr=0.05), optimizers.Momentum(lr=0.005)]
    stacked = Point(f, seed=[4, 5], device=backend.device, xp=backend.xp, dtype="float64")
    together = fit_members(stacked, opts, train, epochs=2, batch_size=128, monitor=test)
    for k, (opt, seed) in enumerate(zip(opts, [4, 5])):
        alone = Point(f, seed=seed, device=backend.device, xp=backend.xp, dtype="float64")
        history = fit(alone, opt, train, epochs=2, batch_size=128, monitor=test, seed=seed)
        np.testing.assert_allclose(
            to_numpy(stacked.params)[k], to_numpy(alone.params), rtol=1e-10, atol=1e-12
        )
        assert together[k].test_loss == pytest.approx(history.test_loss, rel=1e-10)
        assert np.isnan(history.test_accuracy).all()  # a function has no accuracy


def test_a_checkpoint_resumes_a_point_exactly(numpy_backend):
    f = functions.get("beale")
    train, _ = function_data(f, numpy_backend, "float64")

    def trainer() -> Trainer:
        point = Point(f, dtype="float64")
        return Trainer(point, optimizers.Adam(lr=0.05), train, batch_size=128, seed=2)

    straight = trainer()
    straight.run(3)
    first = trainer()
    first.run(1)
    saved = first.checkpoint()
    second = trainer()
    second.restore(saved)
    second.run(3)  # to epoch 3 in all
    np.testing.assert_array_equal(second.model.params, straight.model.params)
    assert not np.array_equal(saved.params, straight.model.params)


def test_quadratic_deep_trains_down_with_adam():
    f = functions.get("quadratic_deep")
    from optimlab.backend import resolve

    train, test = function_data(f, resolve("cpu"), "float64")
    point = Point(f, dtype="float64")
    start = float(np.mean(point.losses(point.params, np.asarray(test.images))))
    history = fit(point, optimizers.Adam(lr=0.1), train, epochs=10, batch_size=128, monitor=test)
    # the noise floor: the loss at theta = 0 is E[0.5 x^T Q x] = 0.5 * 0.36 * trace(Q)
    floor = 0.5 * 0.36 * np.trace(f.hessian)
    assert start > 2 * floor
    assert history.test_loss[-1] < 1.1 * floor


def test_train_on_a_function_prints_the_loss_only(capsys):
    argv = ["train", "--problem", "branin", "--optimizer", "sgd", "--noise", "0"]
    assert main([*argv, "--epochs", "2", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "accuracy" not in out and "sgd: test loss " in out
    loss = float(out.split("test loss ")[1].split()[0])
    assert 0.397 < loss < 10.0  # branin's minimum is 0.3979; the start's value is 1.1e2


def test_compare_sweep_and_benchmark_run_on_functions(tmp_path, capsys):
    out = tmp_path / "cmp"
    argv = ["compare", "--problem", "rosenbrock", "--optimizers", "sgd,adam", "--epochs", "2"]
    assert main([*argv, "--out", str(out), "--jobs", "1", "--quiet"]) == 0
    results = json.loads((out / "results.json").read_text())
    assert results["setting"]["problem"] == "rosenbrock"
    runs = {r["optimizer"]: r for r in results["runs"]}
    # the 2-D problems' default rates (optimlab.surfaces), not the report's
    assert runs["sgd"]["hyperparameters"]["lr"] == 1.5e-3
    assert runs["adam"]["hyperparameters"]["lr"] == 0.2
    last = runs["adam"]["epochs"][-1]
    assert last["test_accuracy"] is None and 0 <= last["test_loss"] < 4.0
    (out / "loss.png").unlink()
    assert main(["plot", str(out / "results.json")]) == 0  # loss-only results load back
    assert (out / "loss.png").is_file() and not (out / "accuracy.png").exists()
    assert not (out / "misclassified.png").exists() and not (out / "models" / "sgd.npz").exists()
    sweep = tmp_path / "sweep"
    argv = ["sweep", "--problem", "quadratic_deep", "--optimizer", "sgd", "--lr", "0.001,0.01"]
    assert main([*argv, "--epochs", "2", "--out", str(sweep), "--jobs", "1", "--quiet"]) == 0
    losses = [
        r["epochs"][-1]["test_loss"]
        for r in json.loads((sweep / "results.json").read_text())["runs"]
    ]
    assert losses[1] < losses[0]  # the larger rate goes further in two epochs
    bench = tmp_path / "bench"
    argv = ["benchmark", "--problems", "beale", "--optimizers", "adam,lion", "--grid", "2"]
    assert main([*argv, "--seeds", "1", "--epochs", "1", "--out", str(bench), "--quiet"]) == 0
    report = json.loads((bench / "results.json").read_text())
    assert set(report["selected"]) == {"adam", "lion"}
    assert report["runs"][0]["epochs"][-1]["test_accuracy"] is None


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train", "--problem", "report", "--noise", "1"], "--noise does not apply to report"),
        (["train", "--problem", "beale", "--noise", "-1"], "--noise takes a finite number >= 0"),
        (["train", "--problem", "beale", "--layers", "2,2"], "--layers does not apply to beale"),
        (["compare", "--problem", "rosenbrock", "--data-dir", "x", "--out", "o"], "draws its own"),
        (["train", "--problem", "branin", "--save", "m.npz"], "--save writes networks"),
    ],
)
def test_bad_input_on_functions_is_one_sentence(argv, message, capsys, tmp_path):
    assert_refused(main([*argv]), capsys, message)


def test_a_2d_problems_search_space_is_centred_on_its_rate():
    from optimlab.benchmark import spaces
    from optimlab.benchmark.plan import Benchmark

    network = spaces.space("sgd")[0]
    centred = spaces.space("sgd", "rosenbrock")[0]
    assert centred.high / centred.low == pytest.approx(network.high / network.low, rel=1e-5)
    assert np.sqrt(centred.low * centred.high) == pytest.approx(1.5e-3, rel=1e-5)
    assert spaces.space("sgd", "quadratic_deep") == spaces.space("sgd")  # no rate of its own
    assert spaces.space("prodigy", "beale") == spaces.space("prodigy")  # it keeps lr = 1
    bench = Benchmark(optimizers=("sgd", "adam"), problems=("beale",))
    lrs = [t.hyperparameters["lr"] for t in bench.tuning("beale").trials if t.optimizer == "sgd"]
    beale = spaces.space("sgd", "beale")[0]
    assert min(lrs) == beale.low and max(lrs) == beale.high and max(lrs) <= network.low


def _branin(u, v):
    """DeepOBS's Branin (a = 1), typed here from its definition."""
    b, c, r, s, t = 5.1 / (4 * np.pi**2), 5 / np.pi, 6.0, 10.0, 1 / (8 * np.pi)
    return (v - b * u**2 + c * u - r) ** 2 + s * (1 - t) * np.cos(u) + s


def test_a_2d_function_validates_on_the_exact_function():
    """Issue 24, item 6: the benchmark's validation loss on a 2-D function is the exact
    function at the trained point (the held-out samples' term u x + v y left out), while
    the quadratic keeps its held-out samples."""
    from optimlab.experiment import Setting, Trial
    from optimlab.experiment.passes import run_pass

    trials = [Trial("sgd", {"lr": 0.02}, seed) for seed in (1, 2)]
    setting = Setting(
        "benchmark-tuning", [trials], problem="branin", epochs=2, validation=2000,
        evaluate="validation", dtype="float64", **{
            k: v for k, v in problems.get("branin").setting().items() if k != "epochs"
        },
    )  # fmt: skip
    record = run_pass(setting, 0)
    for history, (u, v) in zip(record.histories, record.params):
        assert history.epochs[-1].validation_loss == pytest.approx(_branin(u, v), rel=1e-12)
    quadratic = problems.get("quadratic_deep")
    train, _ = function_data(quadratic.function, resolve("cpu"), "float64")
    assert quadratic.validation_set(train) is train
