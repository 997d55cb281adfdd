"""The MLP: gradients against finite differences, costs, initialization, devices, files."""

from __future__ import annotations

import json

import numpy as np
import pytest

from helpers import assert_close, assert_on
from optimlab import MLP, ConfigError, ModelFileError
from optimlab.nn.activations import ACTIVATIONS
from optimlab.nn.losses import OUTPUTS

SMALL = [5, 4, 3]


def _batch(seed=0, n=6, features=5, classes=3):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, features)), rng.integers(0, classes, n)


@pytest.mark.parametrize("activation", list(ACTIVATIONS))
@pytest.mark.parametrize("output", list(OUTPUTS))
def test_gradient_matches_central_differences(activation, output, backend):
    """float64, h = 1e-6: the backward pass agrees with the loss to ~1e-8 relative."""
    model = MLP(
        [5, 4, 4, 3],
        activation,
        output,
        seed=1,
        dtype="float64",
        xp=backend.xp,
        device=backend.device,
    )
    x_host, y_host = _batch()
    x = backend.asarray(x_host, dtype=backend.xp.float64)
    y = backend.asarray(y_host)
    grad = model.gradient(x, y)
    assert_on(backend, grad, backend.xp.float64)

    reference = MLP([5, 4, 4, 3], activation, output, seed=1, dtype="float64")
    p, h = reference.params, 1e-6
    numeric = np.empty_like(p)
    for i in range(p.size):
        e = np.zeros_like(p)
        e[i] = h
        numeric[i] = (
            reference.loss(x_host, y_host, p + e) - reference.loss(x_host, y_host, p - e)
        ) / (2 * h)
    assert_close(grad, numeric, rtol=1e-6, atol=1e-9)


def test_sigmoid_cost_is_the_reports_binary_cross_entropy_and_stable():
    model = MLP(SMALL, dtype="float64", seed=2)
    x, labels = _batch()
    a = model.forward(x)
    y = np.eye(3)[labels]
    naive = np.mean(np.sum(-y * np.log(a) - (1 - y) * np.log(1 - a), axis=-1))
    np.testing.assert_allclose(model.loss(x, labels), naive, rtol=1e-12)
    np.testing.assert_allclose(model.loss(x, y), naive, rtol=1e-12)  # one-hot targets too
    # Logits of +-1000 overflow the naive form; the stable form gives the exact cost.
    huge = MLP(
        SMALL, dtype="float64", params=np.concatenate([np.zeros(36), [1000.0, -1000.0, 0.0]])
    )
    loss = huge.loss(np.zeros((1, 5)), np.array([1]))
    np.testing.assert_allclose(loss, 1000.0 + 1000.0 + np.log(2.0), rtol=1e-12)


def test_softmax_cost_is_cross_entropy():
    model = MLP(SMALL, output="softmax", dtype="float64", seed=2)
    x, labels = _batch()
    a = model.forward(x)
    np.testing.assert_allclose(a.sum(axis=-1), 1.0, rtol=1e-12)
    naive = -np.mean(np.log(a[np.arange(len(labels)), labels]))
    np.testing.assert_allclose(model.loss(x, labels), naive, rtol=1e-12)


def test_forward_follows_the_reports_equations():
    model = MLP(SMALL, dtype="float64", seed=5)
    (w1, w2), (b1, b2) = model.weights, model.biases
    x, _ = _batch()
    sigmoid = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    expected = sigmoid(sigmoid(x @ w1.T + b1) @ w2.T + b2)
    np.testing.assert_allclose(model.forward(x), expected, rtol=1e-12)
    np.testing.assert_array_equal(model.predict(x), expected.argmax(axis=1))


def test_initialization_is_uniform_scaled_by_fan_in_and_seeded():
    model = MLP([784, 30, 10], seed=0, dtype="float64")
    (w1, w2), (b1, b2) = model.weights, model.biases
    assert (
        w1.shape == (30, 784) and w2.shape == (10, 30) and b1.shape == (30,) and b2.shape == (10,)
    )
    for w, fan_in in ((w1, 784), (w2, 30)):
        scaled = w * np.sqrt(fan_in)
        assert scaled.min() >= -1 and scaled.max() <= 1 and scaled.max() - scaled.min() > 1.9
    # U(-1, 1) has mean 0 and standard deviation 1/sqrt(3); w1 holds 23,520 draws.
    scaled = w1 * np.sqrt(784)
    assert abs(scaled.mean()) < 0.02 and abs(scaled.std() - 1 / np.sqrt(3)) < 0.01
    assert np.unique(w1).size == w1.size  # the report's U(-1, -1) made them all equal
    assert b1.min() >= -1 and b1.max() <= 1 and np.unique(b1).size == b1.size
    np.testing.assert_array_equal(MLP(seed=0).params, MLP(seed=0).params)
    assert not np.array_equal(MLP(seed=0).params, MLP(seed=1).params)


@pytest.mark.parametrize("dtype_name", ["float32", "float64"])
def test_dtype_and_device_are_kept_through_forward_and_backward(dtype_name, backend):
    model = MLP(SMALL, seed=0, dtype=dtype_name, xp=backend.xp, device=backend.device)
    dtype = backend.dtype(dtype_name)
    x = backend.asarray(_batch()[0], dtype=dtype)
    y = backend.asarray(_batch()[1])
    assert_on(backend, model.params, dtype)
    for array in (
        *model.weights,
        *model.biases,
        model.forward(x),
        model.logits(x),
        model.loss(x, y),
        model.gradient(x, y),
    ):
        assert_on(backend, array, dtype)
    assert_on(backend, model.predict(x))


def test_parameters_are_one_flat_vector_with_per_layer_views():
    model = MLP(SMALL, seed=0)
    flat = np.concatenate(
        [model.weights[0].ravel(), model.biases[0], model.weights[1].ravel(), model.biases[1]]
    )
    np.testing.assert_array_equal(flat, model.params)
    assert model.size == 5 * 4 + 4 + 4 * 3 + 3


def test_members_are_independent_networks_in_one_vector(backend):
    """K members: forward, loss and gradient equal those of K separate networks."""
    f64 = backend.xp.float64
    together = MLP(SMALL, seed=[4, 5, 6], dtype="float64", xp=backend.xp, device=backend.device)
    assert together.members == 3 and together.size == MLP(SMALL).size
    rng = np.random.default_rng(0)
    x_host, y_host = rng.normal(size=(3, 4, 5)), rng.integers(0, 3, (3, 4))
    x, y = backend.asarray(x_host, dtype=f64), backend.asarray(y_host)
    grads = together.replace(together.gradient(x, y))
    losses = together.loss(x, y)
    assert_on(backend, losses, f64)
    for k, seed in enumerate([4, 5, 6]):
        alone = MLP(SMALL, seed=seed, dtype="float64")
        member = together.member(k)
        assert_close(member.params, alone.params, rtol=0)
        assert_close(grads.member(k).params, alone.gradient(x_host[k], y_host[k]), rtol=1e-12)
        assert_close(losses[k], alone.loss(x_host[k], y_host[k]), rtol=1e-12)
    # A leading member axis: each member's parameters are one row, each layer a view.
    assert tuple(together.params.shape) == (3, MLP(SMALL).size)
    assert tuple(together.weights[0].shape) == (3, 4, 5)
    assert_close(
        together.params[1, :20], backend.xp.reshape(together.weights[0][1, ...], (-1,)), rtol=0
    )


def test_members_from_an_int_seed_count_up():
    together = MLP(SMALL, seed=7, members=2)
    assert together.seeds == [7, 8]
    np.testing.assert_array_equal(together.member(1).params, MLP(SMALL, seed=8).params)
    with pytest.raises(ConfigError, match="3 seeds given for 2 members"):
        MLP(SMALL, seed=[1, 2, 3], members=2)
    with pytest.raises(ConfigError, match="member 2 does not exist"):
        together.member(2)


def test_members_save_as_npz_and_refuse_the_single_network_json(tmp_path):
    together = MLP(SMALL, seed=[1, 2])
    loaded = MLP.load(together.save(tmp_path / "members.npz"))
    assert loaded.members == 2 and loaded.seeds == [1, 2]
    np.testing.assert_array_equal(loaded.params, together.params)
    with pytest.raises(ConfigError, match="holds one network, not 2 members"):
        together.save(tmp_path / "members.json")
    assert not (tmp_path / "members.json").exists()


@pytest.mark.parametrize("suffix", [".npz", ".json"])
@pytest.mark.parametrize("activation", ["sigmoid", "relu"])
def test_save_and_load_round_trip(tmp_path, suffix, activation, backend):
    model = MLP(SMALL, activation, seed=7, dtype="float64")
    path = model.save(tmp_path / f"model{suffix}")
    loaded = MLP.load(path, xp=backend.xp, device=backend.device)
    assert loaded.config() == model.config()
    assert_on(backend, loaded.params, backend.xp.float64)
    assert_close(loaded.params, model.params, rtol=0)


def test_json_is_the_reports_model_format(tmp_path):
    model = MLP(SMALL, seed=7, dtype="float64")
    doc = json.loads(model.save(tmp_path / "model.json").read_text())
    assert set(doc) == {"layers", "weights", "biases"}  # sigmoid: exactly the report's keys
    assert doc["layers"] == SMALL
    assert [np.shape(w) for w in doc["weights"]] == [(4, 5), (3, 4)]  # (out, in)
    np.testing.assert_array_equal(doc["weights"][1], model.weights[1])
    np.testing.assert_array_equal(doc["biases"][0], model.biases[0])
    # A file written by the report's own dump() (its keys, lists of lists) loads.
    report = {"layers": [2, 1], "weights": [[[0.5, -1.0]]], "biases": [[0.25]]}
    (tmp_path / "report.json").write_text(json.dumps(report))
    loaded = MLP.load(tmp_path / "report.json")
    np.testing.assert_array_equal(loaded.params, [0.5, -1.0, 0.25])
    assert loaded.dtype_name == "float64"


def test_float32_model_saves_and_loads_as_float32(tmp_path):
    model = MLP(SMALL, seed=1)
    loaded = MLP.load(model.save(tmp_path / "m.npz"))
    assert loaded.params.dtype == np.float32
    np.testing.assert_array_equal(loaded.params, model.params)


BAD_MODEL_FILES = {
    "missing.npz": (None, "does not exist"),
    "garbage.npz": (b"not a zip file", "not an optimlab model file"),
    "garbage.json": (b"{not json", "not readable JSON"),
    "keys.json": (b'{"layers": [2, 1]}', "lacks the keys"),
    "shape.json": (
        b'{"layers": [2, 1], "weights": [[[1.0]]], "biases": [[0.0]]}',
        r"layer 1 has weights \(1, 1\)",
    ),
    "count.json": (b'{"layers": [2, 1], "weights": [], "biases": []}', "0 weight matrices"),
    "layers.json": (b'{"layers": [2], "weights": [], "biases": []}', "malformed"),
    "activation.json": (
        b'{"layers": [1, 1], "weights": [[[1.0]]], "biases": [[0.0]], "activation": "swish"}',
        "unknown activation 'swish'",
    ),
}


@pytest.mark.parametrize("name", list(BAD_MODEL_FILES))
def test_bad_model_files_are_named_with_the_problem(tmp_path, name):
    content, message = BAD_MODEL_FILES[name]
    if content is not None:
        (tmp_path / name).write_bytes(content)
    with pytest.raises(ModelFileError, match=message) as info:
        MLP.load(tmp_path / name)
    assert name in str(info.value)


def test_save_replaces_a_file_only_when_complete(tmp_path):
    path = tmp_path / "model.npz"
    path.write_bytes(b"previous")
    with pytest.raises(ConfigError):
        MLP(SMALL).save(tmp_path / "no-such-dir" / "model.npz")
    assert path.read_bytes() == b"previous"
    MLP(SMALL).save(path)
    assert MLP.load(path).size == MLP(SMALL).size
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]  # no temporary left behind


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"layers": [784]}, "at least two"),
        ({"layers": [784, 0, 10]}, "positive"),
        ({"layers": "abc"}, "sequence of positive integers"),
        ({"activation": "swish"}, "unknown activation 'swish': choose one of sigmoid, tanh, relu"),
        ({"output": "linear"}, "unknown output 'linear'"),
        ({"dtype": "float16"}, "dtype must be"),
        ({"device": "tpu"}, "unknown device 'tpu'"),
        ({"layers": [2, 1], "params": np.zeros(4)}, r"must be an array of shape \(3,\)"),
    ],
)
def test_bad_arguments_raise_config_error(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        MLP(**kwargs)


def test_wrong_input_shape_is_explained():
    with pytest.raises(
        ConfigError, match=r"input of shape \(2, 783\) does not fit.*\(batch, 784\)"
    ):
        MLP().forward(np.zeros((2, 783), dtype=np.float32))


def test_to_moves_a_model_to_another_backend(backend):
    model = MLP(SMALL, seed=3, dtype="float64")
    moved = model.to(backend.device, xp=backend.xp)
    assert_on(backend, moved.params, backend.xp.float64)
    assert_close(moved.params, model.params, rtol=0)
    single = model.to("cpu", dtype="float32")
    assert single.params.dtype == np.float32


def test_a_model_file_whose_layers_are_not_a_list_is_refused(tmp_path):
    MLP([4, 3, 2]).save(tmp_path / "m.npz")
    fields = dict(np.load(tmp_path / "m.npz"))
    fields["layers"] = np.array([[4, 3, 2]])
    np.savez(tmp_path / "bad.npz", **fields)
    with pytest.raises(ModelFileError, match=r"holds layers of shape \(1, 3\), not a list"):
        MLP.load(tmp_path / "bad.npz")


def test_a_directory_given_as_a_model_file_is_named_a_directory(tmp_path):
    with pytest.raises(ModelFileError, match="is a directory, not a model file"):
        MLP.load(tmp_path)
