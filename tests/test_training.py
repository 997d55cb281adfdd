"""fit and evaluate: learning, reproducibility, backend parity, divergence, bad input."""

from __future__ import annotations

import math
import time
from typing import Any, ClassVar

import numpy as np
import pytest

from helpers import EagerGraph, Transposing, assert_close, assert_on
from optimlab import MLP, ConfigError, Dataset, Trainer, evaluate, fit, load_mnist, optimizers
from optimlab.backend import to_numpy


@pytest.fixture(scope="module")
def mnist64():
    return load_mnist(dtype="float64")


def _on(backend, data: Dataset, n: int, dtype="float64") -> Dataset:
    """The first ``n`` samples of ``data`` moved to ``backend``."""
    return Dataset(
        backend.asarray(data.images[:n], dtype=backend.dtype(dtype)),
        backend.asarray(data.labels[:n]),
        data.num_classes,
        data.name,
    )


@pytest.mark.slow
def test_one_epoch_of_the_reports_sgd_learns_mnist():
    """The report's setting (784-30-10 sigmoid, SGD lr 1, batch 10): one epoch, >= 92%."""
    train, test = load_mnist()
    model = MLP([784, 30, 10], seed=0)
    started = time.perf_counter()
    history = fit(model, optimizers.SGD(lr=1.0), train, epochs=1, batch_size=10, monitor=test)
    wall = time.perf_counter() - started
    record = history.epochs[0]
    assert record.test_accuracy >= 0.92, record
    assert record.train_loss < 0.6 and record.test_loss < 0.6
    # the epoch's seconds are its training time: part of the call, most of it
    assert history.status == "completed" and 0.3 * wall < record.seconds < wall


def test_same_seed_same_history_on_cpu(mnist64):
    train, test = mnist64[0].head(1000), mnist64[1].head(300)

    def run(seed):
        model = MLP([784, 16, 10], seed=seed, dtype="float64")
        history = fit(model, "adam", train, epochs=2, batch_size=10, monitor=test, seed=seed)
        return [(r.train_loss, r.test_loss, r.test_accuracy) for r in history.epochs], model.params

    first, params = run(0)
    again, params_again = run(0)
    assert first == again
    np.testing.assert_array_equal(params, params_again)
    assert run(1)[0] != first
    # each seed alone matters: the initialization's, and the shuffle's
    model = MLP([784, 16, 10], seed=0, dtype="float64")
    other_shuffle = fit(model, "adam", train, epochs=1, batch_size=10, seed=1)
    assert [r.train_loss for r in other_shuffle.epochs] != [r[0] for r in first[:1]]
    model = MLP([784, 16, 10], seed=1, dtype="float64")
    other_start = fit(model, "adam", train, epochs=1, batch_size=10, seed=0)
    assert [r.train_loss for r in other_start.epochs] != [r[0] for r in first[:1]]


def _comparable(name: str) -> tuple[Any, float, float]:
    """The optimizer whose runs on two libraries can be compared, the elementwise
    tolerance and the norm-wise one. SOAP re-bases its preconditioner every 10 steps on
    the eigenvectors of rank-deficient factors (batch 10 against 784 inputs), which turns
    the libraries' one-ulp matmul differences into other bases: 2e-2 apart in the
    weights after 60 steps. With one basis (from the first step) the 784-8-10 network
    agrees to 6e-8, the 784-30-10 one to 7e-6 in norm (measured on PyTorch and JAX)."""
    if name == "soap":
        return optimizers.get("soap", precondition_frequency=10**6), 1e-6, 1e-4
    return name, 1e-8, 1e-10


@pytest.mark.parametrize("name", list(optimizers.OPTIMIZERS))
def test_training_is_the_same_on_every_backend(name, backend, mnist64):
    """60 steps (600 samples, batch 10) in float64 end at the NumPy run's parameters.

    Not bit for bit: each library's matmul sums in its own order, and the adaptive
    rules divide by the root of accumulated squares, which turns the rounding of a
    gradient that nearly cancels (a rarely lit border pixel) into ~1e-10 differences.
    """
    train, test = mnist64[0].head(600), mnist64[1].head(200)
    name, tolerance, _ = _comparable(name)
    reference = MLP([784, 8, 10], seed=2, dtype="float64")
    expected = fit(reference, name, train, epochs=1, batch_size=10, monitor=test, seed=5)

    model = MLP([784, 8, 10], seed=2, dtype="float64", xp=backend.xp, device=backend.device)
    history = fit(
        model,
        name,
        _on(backend, train, 600),
        epochs=1,
        batch_size=10,
        monitor=_on(backend, test, 200),
        seed=5,
    )
    assert_on(backend, model.params, backend.xp.float64)
    assert_close(model.params, reference.params, rtol=tolerance, atol=tolerance)
    assert history.test_accuracy == pytest.approx(expected.test_accuracy, abs=1e-12)
    assert history.test_loss == pytest.approx(expected.test_loss, rel=tolerance / 10)


def test_float32_training_stays_float32(backend, mnist64):
    train = _on(backend, mnist64[0], 100, "float32")
    model = MLP([784, 8, 10], seed=0, xp=backend.xp, device=backend.device)
    fit(model, "adam", train, epochs=1, batch_size=10)
    assert_on(backend, model.params, backend.xp.float32)


def test_evaluate_in_one_pass_equals_a_per_sample_loop(mnist64):
    test = mnist64[1].head(250)
    model = MLP([784, 12, 10], seed=4, dtype="float64")
    result = evaluate(model, test, chunk_size=100)
    per_sample = [model.predict(test.images[i : i + 1])[0] for i in range(test.n)]
    np.testing.assert_array_equal(result.predictions, per_sample)
    assert result.accuracy == np.mean(np.array(per_sample) == test.labels)
    losses = [
        float(model.loss(test.images[i : i + 1], test.labels[i : i + 1])) for i in range(test.n)
    ]
    assert result.loss == pytest.approx(np.mean(losses), rel=1e-12)
    assert evaluate(model, test).loss == pytest.approx(result.loss, rel=1e-12)


def test_divergence_stops_with_a_message_and_keeps_the_history(mnist64):
    train = mnist64[0].head(200)
    model = MLP([784, 8, 10], "relu", seed=0, dtype="float64")
    with pytest.warns(RuntimeWarning, match="training loss became"):
        history = fit(model, optimizers.SGD(lr=1e200), train, epochs=5, batch_size=10)
    assert history.diverged
    assert "epoch 1" in history.status and "smaller learning rate" in history.status
    assert len(history.epochs) == 1 and not math.isfinite(history.epochs[0].train_loss)


def test_callbacks_see_every_epoch_and_the_progress(mnist64):
    train = mnist64[0].head(95)
    records, ticks = [], []
    fit(
        MLP([784, 4, 10], dtype="float64"),
        "sgd",
        train,
        epochs=3,
        batch_size=10,
        callback=records.append,
        progress=lambda done, total: ticks.append((done, total)),
    )
    assert [r.epoch for r in records] == [1, 2, 3]
    assert all(total == 10 for _, total in ticks)  # ceil(95 / 10): the last batch is smaller
    assert ticks.count((10, 10)) == 3 and ticks[0] == (0, 10)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"epochs": 0}, "epochs must be a positive integer"),
        ({"batch_size": 2.5}, "batch_size must be a positive integer"),
        ({"optimizer": "lbfgs"}, "unknown optimizer 'lbfgs'"),
        ({"optimizer": 3}, "optimizer must be an Optimizer"),
        ({"layers": [783, 10]}, "784 features per sample but the network's input layer has 783"),
        ({"layers": [784, 5]}, "10 classes .* but the network's output layer has 5"),
    ],
)
def test_bad_training_input_is_refused_before_training(kwargs, message, mnist64):
    kwargs = dict(kwargs)  # the parameters are shared: a second run must see them whole
    model = MLP(kwargs.pop("layers", [784, 4, 10]), dtype="float64")
    with pytest.raises(ConfigError, match=message):
        fit(model, kwargs.pop("optimizer", "sgd"), mnist64[0].head(20), **kwargs)


def test_data_of_another_dtype_is_refused(mnist64):
    with pytest.raises(ConfigError, match="holds float64 images but the model is float32"):
        fit(MLP([784, 4, 10]), "sgd", mnist64[0].head(20))


def test_data_on_another_device_is_refused(mnist64):
    strict = pytest.importorskip("array_api_strict")
    model = MLP([784, 4, 10], xp=strict, device=strict.Device("device1"), dtype="float64")
    with pytest.raises(ConfigError, match="lives on numpy:cpu but the model on array_api_strict"):
        fit(model, "sgd", mnist64[0].head(20))


@pytest.mark.parametrize("name", list(optimizers.OPTIMIZERS))
def test_fifty_steps_equal_numpy_in_parameters_and_state(name, backend, mnist64):
    """The same seeded training on NumPy and on the backend: the parameters and every
    accumulator after 50 steps (float64) agree to a relative error ||a - b|| / ||b||
    of 1e-10. (Elementwise, a parameter near zero can differ by more: each library's
    matmul sums in its own order, and AdaGrad divides by the root of the few squares
    a rarely lit pixel has seen, e.g. 3e-9 relative on CuPy, 2.7e-11 absolute.)"""
    train = mnist64[0].head(500)
    order = np.random.default_rng(9).permutation(500)
    name, _, tolerance = _comparable(name)
    reference = Trainer(MLP([784, 30, 10], seed=4, dtype="float64"), name, train)
    reference.run_batches(order)
    model = MLP([784, 30, 10], seed=4, dtype="float64", xp=backend.xp, device=backend.device)
    trainer = Trainer(model, name, _on(backend, train, 500))
    trainer.run_batches(backend.asarray(order))
    assert trainer.state.count == reference.state.count == 50
    pairs = [(model.params, reference.model.params)]
    slots = zip(trainer.state.slots.values(), reference.state.slots.values())
    if trainer.optimizer.name != "soap":  # its bases: eigenvectors, each up to its sign
        pairs += [(ours[0], theirs[0]) for ours, theirs in slots]
    for ours, theirs in pairs:
        assert_on(backend, ours, backend.xp.float64)
        ours, theirs = to_numpy(ours), to_numpy(theirs)
        assert np.linalg.norm(ours - theirs) <= tolerance * np.linalg.norm(theirs)


def test_cuda_graphs_are_refused_where_they_cannot_run(mnist64):
    with pytest.raises(ConfigError, match="CUDA graphs need PyTorch on CUDA, not numpy:cpu"):
        Trainer(MLP([784, 4, 10], dtype="float64"), "sgd", mnist64[0].head(20), graphs=True)
    trainer = Trainer(MLP([784, 4, 10], dtype="float64"), "sgd", mnist64[0].head(20))
    assert trainer.graphs is False


@pytest.mark.parametrize("members", [None, 3])
def test_the_graph_path_keeps_counts_and_states_as_the_eager_path(members, mnist64, monkeypatch):
    """Replays of a captured step (simulated) equal eager steps, across epochs and resumes."""
    torch = pytest.importorskip("torch", reason="PyTorch is not installed")
    import array_api_compat

    from optimlab.backend import graphs

    monkeypatch.setattr(graphs, "CapturedStep", EagerGraph)
    xp, cpu = array_api_compat.array_namespace(torch.empty(0)), torch.device("cpu")
    train, _ = mnist64
    images, labels = to_numpy(train.images)[:95], to_numpy(train.labels)[:95]
    data = Dataset(xp.asarray(images), xp.asarray(labels), 10)
    seeds = 0 if members is None else [0, 1, 2]
    chosen = "adam" if members is None else [optimizers.Adam(lr=lr) for lr in (0.01, 0.003, 0.001)]

    def run(graphed):
        model = MLP([784, 8, 10], seed=seeds, dtype="float64", xp=xp, device=cpu)
        trainer = Trainer(model, chosen, data, batch_size=10, seed=seeds)
        trainer.graphs = graphed  # 9 full batches replayed, the last 5 samples eager
        for _ in range(2):
            trainer.run_epoch()
        return trainer

    before = EagerGraph.captured
    graphed, eager = run(True), run(False)
    assert EagerGraph.captured == before + 1  # captured once, replayed in both epochs
    assert graphed.state.count == eager.state.count == 20
    assert_close(graphed.model.params, eager.model.params, rtol=1e-12, atol=1e-14)
    for ours, theirs in zip(graphed.state.slots.values(), eager.state.slots.values()):
        assert_close(ours[0], theirs[0], rtol=1e-12, atol=1e-14)


class _LayerwiseSGD(optimizers.SGD):
    """SGD declared shape-aware: the Trainer must hand it each layer's arrays."""

    name = "layerwise_sgd"
    elementwise = False
    shapes: ClassVar[list] = []

    @staticmethod
    def update(xp, w, g, *, t, lead, lr, weight_decay):
        _LayerwiseSGD.shapes.append((lead, tuple(w.shape)))
        w -= lr * g
        return w, ()


@pytest.mark.parametrize("members", [None, 2])
def test_a_shape_aware_rule_gets_the_layers_and_trains_like_the_flat_one(members, backend, mnist64):
    """Weight matrices ([K,] out, in) and bias vectors ([K,] out), as views of the flat vector;
    members' learning rates broadcast over each member's matrix."""
    train = _on(backend, mnist64[0].head(40), 40)
    seeds = 0 if members is None else [0, 1]
    rates = [0.5] if members is None else [0.5, 0.25]

    def run(optimizer):
        model = MLP([784, 6, 10], seed=seeds, dtype="float64", xp=backend.xp, device=backend.device)
        trainer = Trainer(model, optimizer, train, batch_size=10, seed=seeds)
        trainer.run_epoch()
        return model.params

    _LayerwiseSGD.shapes = []
    layerwise = run([_LayerwiseSGD(lr=r) for r in rates] if members else _LayerwiseSGD(lr=0.5))
    flat = run([optimizers.SGD(lr=r) for r in rates] if members else optimizers.SGD(lr=0.5))
    lead = () if members is None else (members,)
    n = len(lead)
    assert _LayerwiseSGD.shapes[:4] == [
        (n, (*lead, 6, 784)),
        (n, (*lead, 6)),
        (n, (*lead, 10, 6)),
        (n, (*lead, 10)),
    ]
    assert len(_LayerwiseSGD.shapes) == 4 * 4  # 4 steps of 4 arrays
    np.testing.assert_array_equal(to_numpy(layerwise), to_numpy(flat))


# -- one divergence rule (issue 26): the library's Trainer says what compare says --------


def test_a_finite_loss_far_over_chance_is_divergence_and_training_goes_on(mnist64):
    """lr 1e6 saturates the sigmoids: the loss stays finite (about 2e6) but is far over
    ten times that of knowing nothing (10 ln 2). compare calls that run diverged; fit
    called it completed (issue 26). It is marked, warned about once, and trains on."""
    from optimlab.experiment import compare_setting
    from optimlab.experiment.results import diverged_at

    train = mnist64[0].head(200)
    model = MLP([784, 8, 10], seed=0, dtype="float64")
    with pytest.warns(RuntimeWarning) as caught:
        history = fit(model, optimizers.SGD(lr=1e6), train, epochs=2, batch_size=10)
    assert history.diverged and not history.stopped
    assert len(history.epochs) == 2 and all(map(math.isfinite, history.train_loss))
    assert [str(w.message) for w in caught] == [history.status]
    # compare's sentence for the same history, from its own setting
    setting = compare_setting({"sgd": {"lr": 1e6}}, [0], layers=[784, 8, 10], dtype="float64")
    why = diverged_at(setting, history)
    assert why is not None and why.startswith("diverged at epoch 1: the training loss ")
    assert history.status == f"sgd: {why}"


def test_a_member_over_the_bound_is_marked_alone_and_a_resumed_run_trains_it_on(mnist64):
    """The rule per member: one member's rate explodes, the others are unaffected; continued
    from its histories, the marked member (its loss finite) still trains."""
    train = mnist64[0].head(100)
    model = MLP([784, 8, 10], seed=[0, 1, 2], dtype="float64")
    chosen = [optimizers.SGD(lr=1.0), optimizers.SGD(lr=1e6), optimizers.SGD(lr=0.5)]
    trainer = Trainer(model, chosen, train, batch_size=10, seed=[0, 1, 2])
    assert trainer.reference_loss == pytest.approx(10 * math.log(2.0))
    with pytest.warns(RuntimeWarning, match=r"^member 1 \(sgd\): diverged at epoch 1: "):
        histories = trainer.run(1)
    assert [h.diverged for h in histories] == [False, True, False]
    histories = trainer.run(2, histories=histories)
    assert [len(h.epochs) for h in histories] == [2, 2, 2]
    assert histories[1].status.startswith("member 1 (sgd): diverged at epoch 1: ")


def test_the_reference_loss_can_be_given_and_is_checked(mnist64):
    """An experiment gives its own reference (compare's, for its setting); a nonsense one
    is refused in one sentence."""
    train = mnist64[0].head(50)
    model = MLP([784, 4, 10], "relu", "softmax", seed=0, dtype="float64")
    assert Trainer(model, "sgd", train).reference_loss == pytest.approx(math.log(10))
    assert Trainer(model, "sgd", train, reference_loss=3).reference_loss == 3.0
    for bad in (0, -1.0, math.inf, math.nan, "x", True):
        with pytest.raises(ConfigError, match="reference_loss must be a finite number above 0"):
            Trainer(model, "sgd", train, reference_loss=bad)


# -- an optimizer step that returns another shape (issue 26) -------------------------------


def test_a_step_that_returns_another_shape_is_one_sentence_naming_the_optimizer(mnist64):
    model = MLP([784, 3, 10], seed=0, dtype="float64")
    with pytest.raises(ValueError, match=r"^the optimizer 'transposing' returned an array of "):
        fit(model, Transposing(lr=0.1), mnist64[0].head(20), epochs=1)
