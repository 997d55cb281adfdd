"""Hyper-parameters declared once (optimizers/hyperparameters.py): what a declaration gives
a class — constructor, checks, repr, search space, command-line flags, a native kernel
looked up on the class — for the built-in optimizers and for a plugin-like class declared
here; and the plugins the registry refuses whole.
"""

from __future__ import annotations

import importlib.metadata
import inspect
import math
import os
import subprocess
import sys
import warnings
from pathlib import Path

import array_api_compat.numpy as np_xp
import numpy as np
import pytest

from optimlab import ConfigError, optimizers
from optimlab.backend import implementations
from optimlab.benchmark import spaces
from optimlab.cli.parser import build_parser
from optimlab.optimizers.base import Optimizer
from optimlab.optimizers.hyperparameters import (
    Hyperparameter,
    at_least,
    at_most,
    epsilon,
    flag,
    fraction,
    integer,
    number,
    open_fraction,
    positive,
    rate,
)


class Declarative(Optimizer):
    """``w -= lr * g`` (``sign(g)`` where ``signed``), a plugin-like class: every check."""

    name = "declarative_for_tests"
    lr = Hyperparameter(0.5, rate, "step size", search=(1e-3, 1.0))
    keep = Hyperparameter(0.9, fraction, "a decay", search=(0.5, 0.99), scale="log1m")
    between = Hyperparameter(0.5, open_fraction, "a momentum that is divided by")
    size = Hyperparameter(2.0, positive, "a size")
    eps = Hyperparameter(1e-8, epsilon, "a guard")
    shift = Hyperparameter(-1.0, number, "any finite number")
    signed = Hyperparameter(False, flag, "step along the gradient's sign")
    steps = Hyperparameter(3, integer(1, 10), "a count")
    floor = Hyperparameter(1.0, at_least(1.0), "a number >= 1")
    ceiling = Hyperparameter(-0.5, at_most(0.0), "a number <= 0")
    derived = Hyperparameter(None, number, "twice size unless given", derive=lambda o: 2 * o.size)
    pass_cost = 0.25

    @staticmethod
    def update(xp, w, g, *, t, lr, signed, **_):
        w -= lr * (xp.sign(g) if signed else g)
        return w, ()


#: One impossible value per kind of check, and the sentence's start it must give.
REFUSED = {
    "lr": (-1.0, "lr must be >= 0, not -1.0"),
    "keep": (1.0, "keep must be in [0, 1), not 1.0"),
    "between": (0.0, "between must be in (0, 1), not 0.0"),
    "size": (0.0, "size must be > 0, not 0.0"),
    "eps": (-1e-8, "eps must be > 0, not -1e-08"),
    "shift": ("x", "shift must be a number, not 'x'"),
    "signed": (2, "signed must be True or False (or 1 or 0), not 2"),
    "steps": (2.5, "steps must be an integer in [1, 10), not 2.5"),
    "floor": (0.5, "floor must be >= 1, not 0.5"),
    "ceiling": (0.5, "ceiling must be <= 0, not 0.5"),
    "derived": (math.nan, "derived must be finite, not nan"),
}


def test_the_declarations_make_the_constructor():
    signature = inspect.signature(Declarative)
    assert list(signature.parameters) == [*Declarative.declared, "options"]
    assert signature.parameters["steps"].default == 3
    opt = Declarative(0.25, signed=True, clip_norm=1.0)  # positional, as before
    assert (opt.lr, opt.signed, opt.steps, opt.clip_norm) == (0.25, True, 3, 1.0)
    assert opt.derived == 4.0 and Declarative(size=3.0, derived=1.0).derived == 1.0
    assert list(opt.hyperparameters) == list(Declarative.declared)
    assert repr(opt).startswith("Declarative(lr=0.25, keep=0.9, between=0.5, size=2.0,")
    assert repr(opt).endswith("derived=4.0, clip_norm=1.0)")
    assert Declarative(**opt.hyperparameters, **opt.options) == opt
    assert "steps\n        A count; default 3." in Declarative.__doc__
    with pytest.raises(TypeError):
        Declarative(momentum=0.9)  # not a hyper-parameter nor an option


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_each_kind_of_check_refuses_in_one_sentence(name):
    value, sentence = REFUSED[name]
    with pytest.raises(ConfigError) as info:
        Declarative(**{name: value})
    assert str(info.value) == sentence


def test_a_subclass_inherits_the_declarations_in_order_and_may_replace_one():
    class Faster(Declarative):
        name = "faster_for_tests"
        lr = Declarative.lr.but(default=2.0)
        extra = Hyperparameter(1.0, rate, "one more, last")

    assert list(Faster.declared) == [*Declarative.declared, "extra"]
    assert Faster().lr == 2.0 and Declarative().lr == 0.5
    assert optimizers.OPTIMIZERS.get("faster_for_tests") is None  # not registered by this


def test_a_class_that_writes_its_own_constructor_keeps_it():
    class Hand(Optimizer):
        name = "hand_for_tests"

        def __init__(self, lr: float = 0.1, **options):
            super().__init__(**options)
            self.lr = rate("lr", lr)

    assert Hand.declared == {} and Hand(lr=0.2).hyperparameters == {"lr": 0.2}
    assert optimizers.base.parameter_names(Hand) == ["lr"]


@pytest.mark.parametrize("name", list(optimizers.OPTIMIZERS))
def test_every_registered_optimizer_declares_what_its_constructor_takes(name):
    cls = optimizers.OPTIMIZERS[name]
    assert list(cls.declared) == list(optimizers.defaults(name))
    assert all(h.doc for h in cls.declared.values()), name
    assert optimizers.defaults(name) == {k: h.default for k, h in cls.declared.items()}
    assert cls.pass_cost > 0


@pytest.mark.parametrize("name", list(optimizers.OPTIMIZERS))
def test_a_huge_int_hyperparameter_is_one_sentence_not_an_overflow(name):
    """Issue 26: ``float(10**400)`` raises OverflowError; every check turns it into a
    ConfigError naming the parameter."""
    for k in optimizers.OPTIMIZERS[name].declared:
        with pytest.raises(ConfigError, match=rf"^{k} must ") as info:
            optimizers.get(name, **{k: 10**400})
        assert "\n" not in str(info.value) and len(str(info.value)) < 100, str(info.value)


def test_the_search_space_is_the_declared_one_with_the_rate_first(monkeypatch):
    monkeypatch.setitem(optimizers.OPTIMIZERS, Declarative.name, Declarative)
    lr, keep = spaces.space(Declarative.name)
    assert (lr.name, lr.low, lr.high, lr.scale) == ("lr", 1e-3, 1.0, "log")
    assert (keep.name, keep.low, keep.high, keep.scale) == ("keep", 0.5, 0.99, "log1m")
    trials = spaces.random(Declarative.name, 5, seed=0)
    assert all(1e-3 <= t["lr"] <= 1.0 and 0.5 <= t["keep"] <= 0.99 for t in trials)


def test_the_spaces_of_the_built_in_optimizers_come_from_their_classes():
    for name, dimensions in spaces.SPACES.items():
        searched = [k for k, h in optimizers.OPTIMIZERS[name].declared.items() if h.search]
        assert [d.name for d in dimensions] == sorted(searched, key=lambda k: k != "lr")
    # a sample of the declared ranges (tests/test_spaces.py holds them to their sources)
    assert spaces.SPACES["adamw"][3] == spaces.Dimension("weight_decay", 1e-5, 1.0)
    assert spaces.SPACES["muon"][1] == spaces.Dimension("weight_decay", 1e-5, 1.0)
    assert spaces.SPACES["muon"][3] == spaces.Dimension("adamw_lr", 1e-4, 1e-1)
    assert spaces.SPACES["rmsprop"][1] == spaces.Dimension("decay", 0.8, 0.999, "log1m")


def test_a_switch_is_a_flag_and_an_integer_an_integer_on_the_command_line():
    parse = build_parser().parse_args
    assert parse(["train", "--nesterov", "false"]).nesterov is False
    assert parse(["train", "--nesterov", "1"]).nesterov is True
    assert parse(["train", "--ns-steps", "7"]).ns_steps == 7
    assert parse(["train", "--ns-steps", "7.0"]).ns_steps == 7  # as a number gave it
    for argv in (["--nesterov", "maybe"], ["--ns-steps", "2.5"]):
        with pytest.raises(SystemExit) as info:
            parse(["train", *argv])
        assert info.value.code == 2


def test_set_takes_a_switch_as_true_or_false():
    from optimlab.cli.experiment_commands import apply_sets

    hyper, options = {"muon": {}, "prodigy": {}}, {"muon": {}, "prodigy": {}}
    apply_sets(["muon.nesterov=false", "prodigy.decouple=1", "muon.lr=0.5"], hyper, options, "x")
    assert hyper == {"muon": {"nesterov": False, "lr": 0.5}, "prodigy": {"decouple": True}}
    with pytest.raises(ConfigError, match="nesterov is true or false, not 'maybe'"):
        apply_sets(["muon.nesterov=maybe"], hyper, options, "x")


def test_a_native_kernel_is_looked_up_on_the_class(monkeypatch):
    """A plugin brings its fast path as a Kernel on its class; the backend compiles it
    (here a stand-in library that recognises NumPy)."""
    kernel = implementations.Kernel(("lr",), ("w",), "w -= lr * g;")
    compiled = []

    def compile_kernel(name, declared):
        compiled.append((name, declared))
        return Declarative.update

    class Fast(Declarative):
        name = "fast_for_tests"
        native = {"stand_in": kernel}

    monkeypatch.setitem(
        implementations._NATIVE, "stand_in", (array_api_compat_is_numpy, compile_kernel)
    )
    implementations.rule.cache_clear()
    try:
        assert implementations.rule(Fast, np_xp) is Declarative.update
        assert compiled == [("fast_for_tests", kernel)]
        assert implementations.rule(Declarative, np_xp) is Declarative.update
        assert len(compiled) == 1  # a class without one runs its portable rule
    finally:
        implementations.rule.cache_clear()


def array_api_compat_is_numpy(xp) -> bool:
    import array_api_compat

    return array_api_compat.is_numpy_namespace(xp)


def test_the_report_rules_declare_their_cupy_kernels_by_name():
    for name in optimizers.REPORT:
        cls = optimizers.OPTIMIZERS[name]
        kernel = cls.native["cupy"]
        assert kernel.outputs[0] == "w" and len(kernel.outputs) == 1 + len(cls.slots)
        hyper = cls().hyperparameters
        step, _ = cls.per_step(1, {k: 1.0 for k in cls.scalars}, **hyper)
        assert set(kernel.inputs) <= {*hyper, *step}, name


def test_the_pass_cost_orders_the_passes():
    from optimlab.experiment import executors

    class Setting:  # what estimated_cost reads
        passes = [[type("T", (), {"optimizer": n})()] for n in ("sgd", "adam", "plugin_x")]

    costs = [executors.estimated_cost(Setting, i) for i in range(3)]
    assert costs == [optimizers.SGD.pass_cost, optimizers.Adam.pass_cost, 3.0]


# -- plugins refused whole (issue 26) -----------------------------------------------------


def _entry(name: str, value: str) -> importlib.metadata.EntryPoint:
    return importlib.metadata.EntryPoint(name=name, value=value, group="optimlab.optimizers")


@pytest.mark.parametrize("name", ["my-opt", "my_opt-", "my_opt\n", "opt.x", "Opt"])
def test_a_name_that_is_not_a_registry_name_is_refused_whole(name):
    """Not by its prefix: ``my-opt`` starts with the valid ``my``."""
    before = dict(optimizers.OPTIMIZERS)
    with pytest.warns(optimizers.PluginWarning) as caught:
        assert optimizers.load_plugins([_entry(name, f"{__name__}:Declarative")]) == {}
    (message,) = [str(w.message) for w in caught]
    assert "its name must be lower-case letters" in message
    assert optimizers.OPTIMIZERS == before


_CLASHING = '''
from optimlab.optimizers.base import Optimizer
from optimlab.optimizers.hyperparameters import Hyperparameter, flag, integer, rate


class Clashing(Optimizer):
    name = "clashing"
    lr = Hyperparameter(0.1, rate, "step size")
    epochs = Hyperparameter(3.0, rate, "named as the command line's --epochs")

    @staticmethod
    def update(xp, w, g, *, t, lr, epochs):
        w -= lr * g
        return w, ()


class Switched(Optimizer):
    name = "switched"
    lr = Hyperparameter(0.1, rate, "step size", search=(1e-3, 1.0))
    sign_only = Hyperparameter(False, flag, "step along the sign")
    warm = Hyperparameter(2, integer(1, 5), "a count")

    @staticmethod
    def update(xp, w, g, *, t, lr, sign_only, warm):
        w -= lr * (xp.sign(g) if sign_only else g)
        return w, ()
'''


@pytest.fixture
def clashing_site(tmp_path) -> Path:
    site = tmp_path / "site"
    info = site / "clashing_plugins-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: clashing-plugins\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        "[optimlab.optimizers]\n"
        "clashing = clashing_plugins:Clashing\nswitched = clashing_plugins:Switched\n"
    )
    (site / "clashing_plugins.py").write_text(_CLASHING)
    return site


def _run(args: list[str], site: Path, cwd: Path) -> subprocess.CompletedProcess:
    path = os.pathsep.join(p for p in (str(site), os.environ.get("PYTHONPATH", "")) if p)
    env = {**os.environ, "PYTHONPATH": path, "PYTHONWARNINGS": "default"}
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def test_a_plugin_named_like_an_option_is_refused_and_the_rest_works(clashing_site, tmp_path):
    """Issue 26: a hyper-parameter ``epochs`` made a second ``--epochs`` and argparse broke
    every command; the plugin is skipped with one sentence, a declared plugin beside it
    gets typed flags."""
    done = _run(["-m", "optimlab", "train", "--help"], clashing_site, tmp_path)
    assert done.returncode == 0, done.stderr
    warned = done.stderr.splitlines()  # one line, as the command line says a warning
    assert len(warned) == 1 and warned[0].startswith("optimlab: warning: "), done.stderr
    sentence = "optimlab: " + warned[0].removeprefix("optimlab: warning: ")
    assert sentence.startswith("optimlab: the optimizer plugin 'clashing' (clashing_plugins:")
    assert "its hyper-parameter 'epochs' is named as the command line's option --epochs" in (
        sentence
    )
    assert sentence.endswith("; it is skipped")
    assert "--sign-only {true,false}" in done.stdout and "--warm N" in done.stdout
    assert "clashing" not in done.stdout.split("hyper-parameters:")[0]
    trained = _run(
        ["-m", "optimlab", "train", "--optimizer", "switched", "--sign-only", "true"]
        + ["--warm", "3", "--epochs", "1", "--limit-train", "100", "--quiet"],
        clashing_site,
        tmp_path,
    )
    assert trained.returncode == 0, trained.stderr
    assert "switched: test accuracy" in trained.stdout


def test_the_library_still_loads_a_plugin_whose_name_clashes_only_on_the_command_line():
    """The clash is the command line's: load_plugins itself accepts ``epochs``."""

    class Epochs(Declarative):
        name = "epochs_for_tests"
        epochs = Hyperparameter(1.0, rate, "a name the command line uses")

    before = dict(optimizers.OPTIMIZERS)
    sys.modules[__name__].Epochs = Epochs
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            added = optimizers.load_plugins([_entry(Epochs.name, f"{__name__}:Epochs")])
        assert added == {Epochs.name: Epochs}
        with pytest.warns(optimizers.PluginWarning, match=r"'epochs_for_tests' .*a reason; it"):
            optimizers.skip_plugin(Epochs.name, "a reason")
        assert Epochs.name not in optimizers.OPTIMIZERS and Epochs.name not in optimizers.PLUGINS
    finally:
        optimizers.OPTIMIZERS.clear()
        optimizers.OPTIMIZERS.update(before)
        optimizers.PLUGINS.pop(Epochs.name, None)
        del sys.modules[__name__].Epochs


def test_numbers_of_numpy_types_are_accepted_and_kept_as_python_floats():
    opt = optimizers.get("sgd", lr=np.float32(0.5))
    assert type(opt.lr) is float and opt.lr == 0.5


def test_the_default_benchmark_leaves_out_only_the_rules_declared_too_slow_for_it():
    chosen = build_parser().parse_args(["benchmark", "--out", "x"]).optimizers
    slow = [n for n, cls in optimizers.OPTIMIZERS.items() if not cls.default_benchmark]
    assert "soap" in slow  # 113 ms a step on the report's network: hours of default benchmark
    assert chosen == [n for n in optimizers.OPTIMIZERS if n not in slow]
    every = build_parser().parse_args(["benchmark", "--out", "x", "--optimizers", "all"])
    assert every.optimizers == list(optimizers.OPTIMIZERS)
