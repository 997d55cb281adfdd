"""The benchmark's hand-written NumPy peer computes what optimlab computes, and the
GPU profile counts what the device ran."""

from __future__ import annotations

import json
import sys
from functools import partial
from pathlib import Path

import numpy as np
import pytest

from optimlab import MLP, Dataset, Trainer, evaluate, load_mnist, optimizers

sys.path.insert(0, str(Path(__file__).parents[1] / "bench"))
import bench_optimizers
import gpu_step
from gpu_step import (
    CPU_CATEGORIES,
    forward_product,
    kernel_stats,
    profile_events,
    weight_gradient,
)
from numpy_loop import DECOUPLED, RULES, NumpyLoop
from report import gpu_step_markdown


@pytest.fixture(scope="module")
def mnist():
    train, test = load_mnist(dtype="float64")
    return train.head(400), test.head(300)


def _loop_and_optimlab(name, train, **hyperparameters):
    """The NumPy loop's and optimlab's parameters after one pass over ``train``."""
    model = MLP([784, 30, 10], seed=3, dtype="float64")
    opt = optimizers.get(name, **hyperparameters)
    loop = NumpyLoop(model.params, [784, 30, 10], 10, name, opt.hyperparameters)
    order = np.random.default_rng(1).permutation(train.n)
    Trainer(model, opt, train).run_batches(order)
    onehot = np.eye(10)[train.labels]
    for i in range(0, train.n, 10):
        loop.step(train.images, onehot, order[i : i + 10])
    return loop.p, model.params


def test_the_numpy_loop_covers_the_report_and_the_elementwise_rules_after_it():
    assert set(optimizers.REPORT) <= set(RULES)
    assert {"adamw", "lion"} <= set(RULES)
    assert set(RULES) <= set(optimizers.OPTIMIZERS)
    assert all(optimizers.OPTIMIZERS[name].elementwise for name in RULES)


@pytest.mark.parametrize("name", RULES)
def test_numpy_loop_follows_optimlab_step_for_step(name, mnist):
    train, _ = mnist
    loop, ours = _loop_and_optimlab(name, train)
    np.testing.assert_allclose(loop, ours, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", ["adam", "amsgrad", "adamw", "nadamw", "lion"])
def test_numpy_loop_decays_the_weights_as_optimlab_does(name, mnist):
    train, _ = mnist
    # decoupled: shrink the weights by 1% a step; L2: a term of 0.1 w in the gradient
    decay = 0.01 / optimizers.get(name).hyperparameters["lr"] if name in DECOUPLED else 0.1
    loop, ours = _loop_and_optimlab(name, train, weight_decay=decay)
    np.testing.assert_allclose(loop, ours, rtol=1e-9, atol=1e-12)
    undecayed, _ = _loop_and_optimlab(name, train)
    assert np.linalg.norm(loop) < np.linalg.norm(undecayed)


#: Hyper-parameters (the issue's names and the oracles' defaults) for the peers of
#: optimizers that may not be registered yet: the mapping is checked either way.
_UNREGISTERED = {
    "adafactor": {"lr": 1e-2, "beta2_decay": -0.8, "eps2": 1e-3, "d": 1.0, "weight_decay": 0.0},
    "sf_adamw": {
        **{"lr": 0.0025, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.0},
        **{"warmup_steps": 0, "r": 0.0, "weight_lr_power": 2.0},
    },
    "sf_sgd": {
        **{"lr": 1.0, "momentum": 0.9, "weight_decay": 0.0},
        **{"warmup_steps": 0, "r": 0.0, "weight_lr_power": 2.0},
    },
    "prodigy": {"lr": 1.0, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.0},
    "muon": {
        **{"lr": 1e-3, "weight_decay": 0.1, "momentum": 0.95, "nesterov": 1.0},
        **{"eps": 1e-7, "ns_steps": 5.0, "adamw_lr": 1e-3},
    },
}


@pytest.mark.parametrize("name", sorted({*optimizers.OPTIMIZERS, *bench_optimizers.PEERS}))
def test_every_optimizer_has_a_torch_peer_that_takes_all_its_hyperparameters(name):
    torch = pytest.importorskip("torch")
    module = bench_optimizers.PEERS[name][0]
    pytest.importorskip(module)
    if name in optimizers.OPTIMIZERS:
        hyper = optimizers.get(name).hyperparameters
    else:
        hyper = _UNREGISTERED[name]
    shapes = [(30, 784), (30,), (10, 30), (10,)]
    gen = torch.Generator().manual_seed(0)
    params = [torch.randn(s, generator=gen, dtype=torch.float64).requires_grad_() for s in shapes]
    opts, described, notes = bench_optimizers._torch_peer(torch, name, params, hyper)
    assert notes == []  # every hyper-parameter reaches the peer
    assert described.startswith(module)
    if "lr" in hyper:
        assert f"lr={hyper['lr']!r}" in described
    before = [p.detach().clone() for p in params]
    for opt in opts:
        if hasattr(opt, "train"):
            opt.train()
    for _ in range(2):  # SOAP's first step only builds its bases
        for p in params:
            p.grad = None
        sum(0.1 * (p**2).sum() for p in params).backward()  # not back at the start after two
        for opt in opts:
            opt.step()
    assert all(not torch.equal(a, p.detach()) for a, p in zip(before, params))


def test_bench_runs_every_optimizer_and_notes_the_missing_peers(tmp_path, monkeypatch):
    torch = pytest.importorskip("torch")
    monkeypatch.setitem(bench_optimizers.PEERS, "lion", ("no_such_package", "Lion", {}, {}))
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.setenv(var, "1")  # the bench sets them: undone after the test
    monkeypatch.setattr(torch, "set_num_threads", lambda n: None)  # keep the process's
    out = tmp_path / "bench.json"
    options = "--batch-sizes 10 --repeats 1 --seconds 0.001 --optimizers adamw,lion"
    assert bench_optimizers.main([*options.split(), "--json", str(out)]) == 0
    adamw, lion = json.loads(out.read_text())["results"]
    assert adamw["peers"]["torch"].startswith("torch.optim.AdamW(")
    assert "weight_decay=0.01" in adamw["peers"]["torch"]
    assert {"optimlab", "numpy-loop", "torch"} <= set(adamw) and adamw["notes"] == []
    assert "torch" not in lion and "ratio_torch" not in lion
    assert lion["notes"] == ["peer no_such_package.Lion is not importable: optimlab alone"]
    assert lion["ratio_numpy-loop"] > 0
    assert bench_optimizers._names("all", optimizers.OPTIMIZERS) == list(optimizers.OPTIMIZERS)
    with pytest.raises(SystemExit, match="unknown optimizer 'nope'"):
        bench_optimizers._names("adam,nope", optimizers.OPTIMIZERS)


def test_numpy_loop_evaluates_like_optimlab(mnist):
    _, test = mnist
    model = MLP([784, 30, 10], seed=4, dtype="float64")
    loop = NumpyLoop(model.params, [784, 30, 10], 10, "sgd", {"lr": 1.0})
    accuracy, loss = loop.evaluate(test.images, test.labels)
    ours = evaluate(model, Dataset(test.images, test.labels, 10))
    assert accuracy == ours.accuracy
    assert loss == pytest.approx(ours.loss, rel=1e-12)


def _span(cat, name, ts, dur, tid=7):
    return {"ph": "X", "cat": cat, "name": name, "ts": ts, "dur": dur, "pid": 0, "tid": tid}


def test_kernel_stats_sums_the_device_work_per_step():
    events = [
        _span("kernel", "gemm", 0, 4),
        _span("kernel", "add", 10, 1),
        _span("gpu_memcpy", "Memcpy DtoD", 20, 2),
        _span("kernel", "gemm", 30, 6),
        _span("cpu_op", "aten::mm", 0, 50, tid=1),  # the host's side: not device work
        {"ph": "i", "cat": "kernel", "name": "marker", "ts": 5, "pid": 0, "tid": 7},
    ]
    stats = kernel_stats(events, steps=2)
    assert stats["kernels"] == 2.0
    assert stats["busy_us"] == pytest.approx(6.5)  # (4 + 1 + 2 + 6) / 2
    assert stats["span_us"] == pytest.approx(18.0)  # from 0 to 36, over 2 steps
    assert stats["top"][0] == ["gemm", 1.0, 5.0]
    assert [name for name, _, _ in stats["top"]] == ["gemm", "Memcpy DtoD", "add"]


def test_kernel_stats_counts_nested_operations_once():
    events = [
        _span("cpu_op", "aten::linear", 0, 10),
        _span("cpu_op", "aten::matmul", 1, 8),  # inside aten::linear
        _span("cpu_op", "aten::mm", 2, 6),
        _span("cpu_op", "aten::add_", 12, 1),
        _span("cpu_op", "aten::mm", 3, 5, tid=8),  # another thread: its own outermost
    ]
    stats = kernel_stats(events, 1, CPU_CATEGORIES)
    assert stats["kernels"] == 3
    assert stats["busy_us"] == 16
    assert {name for name, _, _ in stats["top"]} == {"aten::linear", "aten::add_", "aten::mm"}


def test_profile_records_every_step_of_the_block(mnist):
    pytest.importorskip("torch")
    from optimlab import resolve

    backend = resolve("cpu", library="torch")
    train, _ = mnist
    data = Dataset(backend.asarray(train.images), backend.asarray(train.labels), 10)
    model = MLP([784, 30, 10], seed=0, dtype="float64", xp=backend.xp, device=backend.device)
    trainer = Trainer(model, "adam", data, batch_size=10)
    order = backend.asarray(np.random.default_rng(0).permutation(train.n))
    counts = {}
    for steps in (3, 4, 9):
        block = partial(trainer.run_batches, order[: steps * 10])
        events = profile_events(block, backend.synchronize, cuda=False)
        stats = kernel_stats(events, 1, CPU_CATEGORIES)
        counts[steps] = stats["kernels"]
        assert {n: c for n, c, _ in stats["top"]}["aten::sqrt"] == steps  # Adam's one
    per_step = counts[4] - counts[3]
    assert per_step > 20
    assert counts[9] - counts[3] == 6 * per_step


@pytest.mark.parametrize("splits", [1, 2, 4, 8])
def test_split_products_equal_the_whole_ones(splits):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(splits)
    x, w, delta = rng.random((1000, 784)), rng.normal(size=(30, 784)), rng.normal(size=(1000, 30))
    tx, tw, td = (torch.from_numpy(a) for a in (x, w, delta))
    for split, whole in (
        (forward_product(torch, tx, tw, splits), x @ w.T),
        (weight_gradient(torch, td, tx, splits), delta.T @ x),
    ):
        assert split.shape == whole.shape
        # norm-wise: summing in another order moves elements near zero by ~1e-14
        assert np.linalg.norm(split.numpy() - whole) <= 1e-13 * np.linalg.norm(whole)


def test_gpu_step_dry_run_reports_what_it_measured(tmp_path):
    pytest.importorskip("torch")
    out = tmp_path / "step.json"
    options = "--device cpu --optimizers sgd --batch-sizes 10 --steps 5 --profile-steps 3"
    assert gpu_step.main([*options.split(), "--repeats", "1", "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    (row,) = report["results"]
    assert row["kernels"] >= 26  # SGD's array operations per step, and the block's own
    assert 0 < row["busy_us"] <= row["span_us"]  # outermost operations of one thread
    assert report["split_products"] == []  # only at batch 100 and more
    table = gpu_step_markdown(report)
    assert f"| sgd | 10 | torch eager | {row['wall_us']:.1f} | {row['kernels']:.1f} |" in table
    assert "| batch | product |" not in table


@pytest.mark.parametrize("problem", ["report", "mnist_logreg", "mnist_mlp"])
def test_the_torch_peer_trains_the_problems_network_as_optimlab_does(problem):
    """Both peers from the same parameters over the same batches (float64, SGD): the
    same parameters after 3 steps, so the bench times the same computation."""
    torch = pytest.importorskip("torch")
    from optimlab import problems, resolve

    train, test = load_mnist(dtype="float64")
    chosen = problems.get(problem)
    data = bench_optimizers._Data(
        np,
        resolve("cpu"),
        "float64",
        train.images[:600],
        train.labels[:600],
        test.images[:50],
        test.labels[:50],
        chosen,
    )
    if chosen.init == "zeros":  # the logistic regression: start off zero to see the data
        data.initial_params = lambda: np.random.default_rng(0).normal(0, 0.01, 7850)
    ours = bench_optimizers._Optimlab(sys.modules["optimlab"], data, "sgd", 128)
    theirs = bench_optimizers._Torch(torch, data, "sgd", 128, "cpu")
    ours.run(0, 3)
    theirs.run(0, 3)
    flat = np.concatenate([p.detach().numpy().ravel() for p in theirs.params])
    start = data.initial_params()
    assert np.abs(np.asarray(ours.model.params) - start).max() > 1e-4  # it moved
    np.testing.assert_allclose(np.asarray(ours.model.params), flat, rtol=1e-9, atol=1e-12)
