"""A conformance kit for test problems: what every optimlab problem must do, in one call.

::

    from optimlab.testing import check_problem

    check_problem(MY_PROBLEM)          # a Problem, or the name of a registered one

:func:`check_problem` loads the problem's data, builds its model and trains it briefly
through the same calls ``train``, ``compare``, ``sweep`` and ``benchmark`` make, and
raises an :class:`AssertionError` naming the check that failed and what it saw. The
project runs it on its own problems (``tests/test_problem_plugins.py``); a package that
registers problems (docs/problems.md) runs it on its own. NumPy always;
array-api-strict for the ``backends`` check (skipped, and reported so, where missing).

The checks, in order (:data:`PROBLEM_CHECKS`):

``protocol``
    a :class:`~optimlab.problems.Problem` with a registry name, positive ``batch_size``,
    ``epochs`` and ``validation``; :meth:`~optimlab.problems.Problem.setting` names the
    network fields and agrees with the attributes; every registered optimizer's default
    rate is None or a positive finite number; a pickled copy equals it (worker processes
    receive problems pickled).
``data``
    :meth:`~optimlab.problems.Problem.load_data` gives a training and a test set in the
    dtype asked (float32 and float64) whose features are the model's inputs, finite,
    with more training samples than a batch and than ``validation``; the same samples at
    every call, the same :meth:`~optimlab.problems.Problem.data_files`, ``limit_train``
    honoured; a problem
    with accuracy has at least two classes and as many as its outputs; the problem's own
    setting passes :meth:`~optimlab.problems.Problem.check`.
``model``
    :meth:`~optimlab.problems.Problem.make_model` builds one model for an int seed and
    two members for two seeds, the same seed giving the same parameters; the loss at the
    start is finite and so is :meth:`~optimlab.problems.Problem.chance_loss` (> 0).
``gradient``
    the gradient of a batch's mean loss at a random point agrees with central finite
    differences of the loss (float64, relative error below 1e-5 on 10 coordinates).
``backends``
    on array-api-strict the first batch's loss and gradient are computed without any
    array reaching the host (no ``__array__``, ``float``, ...) and equal NumPy's
    (float64, to 1e-12): the problem is written against the Array API, not NumPy.
``trainer``
    a :class:`~optimlab.Trainer` runs one epoch of SGD at the problem's rate (or SGD's
    default) on at most 20 batches: the training loss is finite and the parameters move.
"""

from __future__ import annotations

import contextlib
import importlib.util
import math
import pickle
from types import SimpleNamespace
from typing import Any

import numpy as np

from .. import optimizers, problems
from ..backend import Backend, resolve, to_numpy
from ..problems import Problem
from .optimizer_kit import _expect, _named

__all__ = ["PROBLEM_CHECKS", "check_problem"]

#: The checks :func:`check_problem` runs, in order (see the module's documentation).
PROBLEM_CHECKS = ("protocol", "data", "model", "gradient", "backends", "trainer")
_FIELDS = ("layers", "activation", "output", "batch_size", "epochs", "init")


def check_problem(problem: Problem | str, *, skip: tuple[str, ...] = ()) -> dict[str, str]:
    """Check that ``problem`` does what optimlab's commands ask of a problem; see the module.

    Parameters
    ----------
    problem
        A :class:`~optimlab.problems.Problem`, or the name of a registered one.
    skip
        Names of checks not to run (from :data:`PROBLEM_CHECKS`).

    Returns
    -------
    dict
        Check name -> ``"passed"``, or ``"skipped: <why>"``.

    Raises
    ------
    AssertionError
        A check failed: the message names the problem, the check and what differed.
    """
    if isinstance(problem, str):
        problem = problems.get(problem)
    unknown = set(skip) - set(PROBLEM_CHECKS)
    if unknown:
        raise ValueError(
            f"unknown checks {sorted(unknown)}: choose from {', '.join(PROBLEM_CHECKS)}"
        )
    label = f"problem {getattr(problem, 'name', problem)!r}"
    report = {}
    for check in PROBLEM_CHECKS:
        if check in skip:
            report[check] = "skipped: asked to"
            continue
        with _named(label, check):
            report[check] = _CHECKS[check](problem) or "passed"
    return report


def _setting(problem: Problem, dtype: str = "float64", **changes: Any) -> SimpleNamespace:
    """What an experiment's Setting gives a problem: its own fields, no data directory."""
    fields = {**problem.setting(), "dtype": dtype, "data": None, "limit_train": None}
    return SimpleNamespace(**{**fields, "noise": None, **changes})


def _positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _protocol(problem: Problem) -> None:
    _expect(isinstance(problem, Problem), f"it is a {type(problem).__name__}, not a Problem")
    _expect(
        isinstance(problem.name, str) and optimizers.NAME.match(problem.name),
        f"its name {problem.name!r} is not lower-case letters, digits and '_'",
    )
    for name in ("batch_size", "epochs", "validation"):
        value = getattr(problem, name)
        _expect(_positive_int(value), f"{name} must be a positive int, not {value!r}")
    fields = problem.setting()
    _expect(set(_FIELDS) <= set(fields), f"setting() lacks {sorted(set(_FIELDS) - set(fields))}")
    for name in ("batch_size", "epochs"):
        _expect(fields[name] == getattr(problem, name), f"setting()[{name!r}] != {name}")
    layers = fields["layers"]
    _expect(
        all(_positive_int(n) for n in layers)
        and len(layers) >= (2 if problem.trains_network else 1),
        f"setting()['layers'] {layers!r} are not positive sizes",
    )
    _expect(isinstance(problem.has_accuracy, bool), "has_accuracy is not a bool")
    for name in optimizers.OPTIMIZERS:
        rate = problem.learning_rate(name)
        _expect(
            rate is None or (isinstance(rate, (int, float)) and math.isfinite(rate) and rate > 0),
            f"its rate for {name} is {rate!r}, not None or a positive number",
        )
    _expect(pickle.loads(pickle.dumps(problem)) == problem, "a pickled copy differs from it")


def _data(problem: Problem) -> None:
    backend = resolve("cpu")
    for dtype in ("float32", "float64"):
        setting = _setting(problem, dtype)
        train, test = problem.load_data(setting, backend)
        for part, data in (("training", train), ("test", test)):
            images = to_numpy(data.images)
            _expect(images.dtype == np.dtype(dtype), f"its {part} images are {images.dtype}")
            _expect(
                images.shape[1] == setting.layers[0],
                f"its {part} samples have {images.shape[1]} features, its model takes "
                f"{setting.layers[0]}",
            )
            _expect(np.isfinite(images).all(), f"its {part} samples are not all finite")
        _expect(
            train.n > problem.batch_size,
            f"{train.n} training samples do not fill a batch of {problem.batch_size}",
        )
        _expect(
            problem.validation < train.n,
            f"validation holds out {problem.validation} of {train.n} training samples",
        )
        if problem.has_accuracy:
            _expect(train.num_classes >= 2, f"it has {train.num_classes} class(es)")
            problem.check(setting, train)
        else:
            _expect(not to_numpy(train.labels).any(), "a loss-only problem's labels are not 0")
    again, _ = problem.load_data(_setting(problem), backend)
    first, _ = problem.load_data(_setting(problem), backend)
    _expect(
        np.array_equal(to_numpy(again.images), to_numpy(first.images)),
        "two loads give different samples (a resume would train on other data)",
    )
    _expect(problem.data_files() == problem.data_files(), "data_files() differ between calls")
    cut, _ = problem.load_data(_setting(problem, limit_train=problem.batch_size + 1), backend)
    _expect(cut.n == problem.batch_size + 1, f"limit_train gave {cut.n} samples")


def _model(problem: Problem) -> None:
    backend = resolve("cpu")
    setting = _setting(problem)
    one, again = (problem.make_model(setting, 3, backend) for _ in range(2))
    two = problem.make_model(setting, [3, 4], backend)
    _expect(one.members is None, "an int seed made members")
    _expect(two.members == 2, f"two seeds made {two.members} members")
    _expect(
        np.array_equal(to_numpy(one.params), to_numpy(again.params)),
        "the same seed gave other parameters",
    )
    _expect(
        np.array_equal(to_numpy(two.params)[0], to_numpy(one.params)),
        "member 0 (seed 3) differs from the model of seed 3",
    )
    train, _ = problem.load_data(setting, backend)
    loss = _batch_loss(one, train, problem.batch_size, one.params)
    _expect(math.isfinite(loss), f"the loss at the start is {loss}")
    chance = problem.chance_loss(setting)
    _expect(math.isfinite(chance) and chance > 0, f"chance_loss() is {chance}")


def _batch_loss(model: Any, data: Any, size: int, params: Any) -> float:
    """The mean loss of the first ``size`` samples at ``params`` (a Python float)."""
    params = model.backend.asarray(to_numpy(params), dtype=model.dtype)
    x, y = data.images[:size, ...], data.labels[:size]
    if hasattr(model, "losses"):  # a point: each sample's loss
        return float(model.xp.mean(model.losses(params, x)))
    return float(model.loss(x, y, params=params))


def _gradient(problem: Problem) -> None:
    backend = resolve("cpu")
    setting = _setting(problem)
    model = problem.make_model(setting, 0, backend)
    train, _ = problem.load_data(setting, backend)
    size = problem.batch_size
    rng = np.random.default_rng(0)
    theta = to_numpy(model.params) + 0.1 * rng.standard_normal(tuple(model.params.shape))
    grad = to_numpy(_batch_gradient(model, train, size, theta))
    for i in rng.choice(theta.size, min(10, theta.size), replace=False):
        h = 1e-6 * max(1.0, abs(theta[i]))
        up, down = theta.copy(), theta.copy()
        up[i] += h
        down[i] -= h
        numeric = (_batch_loss(model, train, size, up) - _batch_loss(model, train, size, down)) / (
            2 * h
        )
        scale = max(abs(numeric), abs(grad[i]), 1e-6)
        _expect(
            abs(numeric - grad[i]) <= 1e-5 * scale,
            f"coordinate {i}: the gradient is {grad[i]:.10g}, finite differences give "
            f"{numeric:.10g}",
        )


def _batch_gradient(model: Any, data: Any, size: int, params: Any) -> Any:
    """The gradient of the first ``size`` samples' mean loss at ``params``."""
    params = model.backend.asarray(np.asarray(params), dtype=model.dtype)
    x, y = data.images[:size, ...], data.labels[:size]
    if hasattr(model, "losses"):
        return model.backward([params], x, None)
    return model.gradient(x, y, params=params)


def _backends(problem: Problem) -> str | None:
    if importlib.util.find_spec("array_api_strict") is None:
        return "skipped: array-api-strict is not installed"
    import array_api_strict

    from .optimizer_kit import _no_exits

    results = []
    for backend in (resolve("cpu"), resolve(None, array_api_strict)):
        setting = _setting(problem)
        model = problem.make_model(setting, 0, backend)
        train, _ = problem.load_data(setting, backend)
        size = problem.batch_size
        x, y, params = train.images[:size, ...], train.labels[:size], model.params
        # every exit of an array to the host is refused while the model computes
        strict = backend.xp is array_api_strict
        with _no_exits(type(params)) if strict else contextlib.nullcontext():
            if hasattr(model, "losses"):
                loss = model.xp.mean(model.losses(params, x))
                grad = model.backward([params], x, None)
            else:
                loss, grad = model.loss(x, y, params=params), model.gradient(x, y, params=params)
        results.append((float(loss), to_numpy(grad)))
    (loss, grad), (strict_loss, strict_grad) = results
    _expect(
        math.isclose(loss, strict_loss, rel_tol=1e-12, abs_tol=1e-12),
        f"the loss is {loss!r} on NumPy and {strict_loss!r} on array-api-strict",
    )
    _expect(
        np.allclose(grad, strict_grad, rtol=1e-12, atol=1e-12),
        "the gradient on array-api-strict differs from NumPy's",
    )
    return None


def _trainer(problem: Problem) -> None:
    from ..train import Trainer, evaluate

    backend: Backend = resolve("cpu")
    setting = _setting(problem, limit_train=20 * problem.batch_size)
    model = problem.make_model(setting, 0, backend)
    train, _ = problem.load_data(setting, backend)
    rate = problem.learning_rate("sgd")
    sgd = optimizers.get("sgd", **({} if rate is None else {"lr": rate}))
    start = to_numpy(model.params).copy()
    trainer = Trainer(model, sgd, train, batch_size=problem.batch_size, seed=0)
    trainer.run_epoch()
    loss = float(evaluate(model, train).loss)
    _expect(math.isfinite(loss), f"one epoch of SGD gave the training loss {loss}")
    _expect(
        not np.array_equal(to_numpy(model.params), start),
        "one epoch of SGD left the model as it was",
    )


_CHECKS = {
    "protocol": _protocol,
    "data": _data,
    "model": _model,
    "gradient": _gradient,
    "backends": _backends,
    "trainer": _trainer,
}
