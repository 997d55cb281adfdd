"""The conformance kit (optimlab.testing.check_optimizer) on every registered optimizer,
and on broken ones, which it must refuse with a message naming the failed check."""

from __future__ import annotations

import importlib.util
import re

import array_api_compat
import pytest

from optimlab import optimizers
from optimlab.optimizers.base import Optimizer, rate
from optimlab.testing import CHECKS, check_optimizer

NAMES = list(optimizers.OPTIMIZERS)


@pytest.mark.parametrize("name", NAMES)
def test_every_registered_optimizer_conforms(name):
    report = check_optimizer(optimizers.OPTIMIZERS[name])
    assert list(report) == list(CHECKS)
    expected = {c: "passed" for c in CHECKS}
    if importlib.util.find_spec("array_api_strict") is None:  # pragma: no cover
        expected["no_host_read"] = report["no_host_read"]
        assert expected["no_host_read"].startswith("skipped: array-api-strict")
    assert report == expected


# The kit on the backend matrix: the checks whose arrays are the backend's (the protocol
# is the library's own, and no_host_read always runs on array-api-strict). JAX compiles
# every operation once per shape, so it runs the step and resume checks in float64 only.
_ARRAY_CHECKS = ("init", "step", "members", "resume", "eval_params", "trainer")


@pytest.mark.parametrize("name", NAMES)
def test_every_registered_optimizer_conforms_on_every_backend(name, backend):
    xp, device = backend
    if array_api_compat.is_jax_namespace(xp):
        kept, dtypes = ("step", "resume"), ("float64",)
    else:
        kept, dtypes = _ARRAY_CHECKS, ("float32", "float64")
    skip = [c for c in CHECKS if c not in kept]
    report = check_optimizer(
        optimizers.OPTIMIZERS[name], xp=xp, device=device, dtypes=dtypes, skip=skip
    )
    assert [c for c, v in report.items() if v == "passed"] == list(kept)


def test_an_instance_is_checked_with_its_hyperparameters():
    report = check_optimizer(optimizers.Adam(lr=0.003, beta1=0.8), steps=2)
    assert set(report.values()) <= {"passed"} or "skipped" in report["no_host_read"]


def test_the_arguments_are_checked():
    with pytest.raises(AssertionError, match=r"not a subclass of optimlab\.optimizers\.Optimizer"):
        check_optimizer(dict)
    with pytest.raises(AssertionError, match="takes an Optimizer subclass or instance"):
        check_optimizer("sgd")
    with pytest.raises(ValueError, match="unknown checks"):
        check_optimizer(optimizers.SGD, skip=["speed"])
    with pytest.raises(ValueError, match="steps must be even"):
        check_optimizer(optimizers.SGD, steps=3)


# -- broken optimizers: each fails one check, and the message says which -----------------


class _Sign(Optimizer):
    """A correct rule to break: ``w -= lr * sign(g)``."""

    name = "broken"

    def __init__(self, lr: float = 0.01, **options):
        super().__init__(**options)
        self.lr = rate("lr", lr)

    @staticmethod
    def update(xp, w, g, *, t, lr):
        w -= lr * xp.sign(g)
        return w, ()


class _Unvalidated(_Sign):
    def __init__(self, lr: float = 0.01, **options):
        Optimizer.__init__(self, **options)
        self.lr = lr  # no check: nan and strings pass


class _NoDefault(_Sign):
    def __init__(self, lr: float, **options):
        super().__init__(lr, **options)


class _AlwaysInPlace(_Sign):
    def step(self, params, grads, state, *, xp=None, inplace=False):
        return super().step(params, grads, state, xp=xp, inplace=True)


class _ReadsBack(_Sign):
    @staticmethod
    def update(xp, w, g, *, t, lr):
        if float(xp.max(xp.abs(g))) > 0:  # a host read: a synchronization on a GPU
            w -= lr * xp.sign(g)
        return w, ()


class _WrongDtype(_Sign):
    slots = ("velocity",)

    def init_slot(self, name, p, lead):
        xp = array_api_compat.array_namespace(p)
        return xp.zeros(p.shape, dtype=xp.float64, device=array_api_compat.device(p))

    @staticmethod
    def update(xp, w, g, v, *, t, lr):
        v += g
        w -= lr * xp.sign(v)
        return w, (v,)


class _SharedNorm(_Sign):
    """Normalises by the norm of the whole array: members' rows leak into each other."""

    @staticmethod
    def update(xp, w, g, *, t, lr):
        w -= lr * g / xp.sqrt(xp.sum(g * g))
        return w, ()


class _Forgetful(_Sign):
    """Keeps a count on the instance instead of in the state: a resumed run differs."""

    calls = 0

    @staticmethod
    def update(xp, w, g, *, t, lr):
        w -= lr * xp.sign(g)
        return w, ()

    def step(self, params, grads, state, *, xp=None, inplace=False):
        params, state = super().step(params, grads, state, xp=xp, inplace=inplace)
        type(self).calls += 1
        return [p * (1.0 if type(self).calls % 3 else 0.5) for p in params], state


class _BadEvalParams(_Sign):
    def eval_params(self, params, state):
        return [p[:1] for p in params]


@pytest.mark.parametrize(
    ("cls", "check", "message"),
    [
        (_Unvalidated, "protocol", "lr='not a number' was accepted"),
        (_NoDefault, "protocol", "the hyper-parameter 'lr' has no default"),
        (_AlwaysInPlace, "step", "the arguments of a copying step"),
        (_ReadsBack, "no_host_read", "step() read an array back to the host"),
        (_WrongDtype, "init", "has dtype float64, not float32"),
        (_SharedNorm, "members", "member 0 of 2"),
        (_Forgetful, "resume", "a resumed run and a straight one"),
        (_BadEvalParams, "eval_params", "eval_params [0] has shape"),
    ],
)
def test_a_broken_optimizer_fails_the_check_it_breaks(cls, check, message):
    skip = [c for c in CHECKS[: CHECKS.index(check)] if c != "protocol"]  # the ones before
    with pytest.raises(AssertionError) as caught:
        check_optimizer(cls, skip=skip)
    text = str(caught.value)
    assert text.startswith(f"{cls.__qualname__} ('broken') fails the {check!r} check: "), text
    assert message in text, text
    assert "\n" not in text


def test_the_correct_rule_passes():
    report = check_optimizer(_Sign)
    assert all(v == "passed" or v.startswith("skipped") for v in report.values()), report
    assert re.fullmatch(r"passed|skipped: .*", report["no_host_read"])
