"""Optimizers from other packages: the example plugin of docs/plugins.md, installed from
tests/plugin_example into a folder of its own (the test environment is left alone) and
trained by ``optimlab compare``; and broken plugins, which are skipped with one sentence.
"""

from __future__ import annotations

import importlib.metadata
import json
import math
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from helpers import install_offline, run_with
from optimlab import MLP, fit, load_mnist, optimizers
from optimlab.optimizers.base import Optimizer, rate
from optimlab.testing import check_optimizer

EXAMPLE = Path(__file__).parent / "plugin_example"
GROUP = "optimlab.optimizers"


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The example package, installed with pip into a folder of its own (offline)."""
    return install_offline(EXAMPLE, tmp_path_factory.mktemp("plugin"))


@pytest.fixture
def sign_sgd(site, monkeypatch):
    """The example's class, imported from the installed folder."""
    monkeypatch.syspath_prepend(str(site))
    module = pytest.importorskip("optimlab_signsgd")
    yield module.SignSGD
    sys.modules.pop("optimlab_signsgd", None)


def test_the_example_plugin_conforms(sign_sgd):
    report = check_optimizer(sign_sgd)
    assert all(v == "passed" or v.startswith("skipped") for v in report.values()), report
    assert sign_sgd.name == "signsgd"


def test_the_installed_plugin_is_registered_everywhere(site, tmp_path):
    code = """if True:
        import json, warnings
        warnings.simplefilter("error")  # a plugin that loads warns nothing
        from optimlab import optimizers
        from optimlab.cli.parser import HYPERPARAMETERS
        cls = optimizers.get("signsgd", lr=0.5)
        print(json.dumps({
            "plugins": {k: f"{c.__module__}.{c.__name__}" for k, c in optimizers.PLUGINS.items()},
            "names": list(optimizers.OPTIMIZERS),
            "defaults": optimizers.defaults("signsgd"),
            "got": repr(cls),
            "flags": "lr" in HYPERPARAMETERS,
        }))
    """
    done = run_with(site, ["-c", code], tmp_path)
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert found["plugins"] == {"signsgd": "optimlab_signsgd.SignSGD"}
    assert found["names"][-1] == "signsgd" and found["names"][0] == "sgd"  # built-ins first
    assert found["defaults"] == {"lr": 0.01}
    assert found["got"] == "SignSGD(lr=0.5)"
    helped = run_with(site, ["-m", "optimlab", "compare", "--help"], tmp_path)
    assert helped.returncode == 0, helped.stderr
    assert "signsgd" in " ".join(helped.stdout.split())


def test_compare_trains_the_plugin_beside_sgd(site, sign_sgd, tmp_path):
    out = tmp_path / "out"
    done = run_with(
        site,
        [
            *("-m", "optimlab", "compare", "--optimizers", "sgd,signsgd"),
            *("--epochs", "1", "--limit-train", "2000", "--out", str(out), "--quiet"),
        ],
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert "signsgd" in done.stdout
    results = json.loads((out / "results.json").read_text())
    runs = {r["optimizer"]: r for r in results["runs"]}
    assert set(runs) == {"sgd", "signsgd"}
    assert runs["signsgd"]["hyperparameters"] == {"lr": 0.01}
    assert all(r["status"] == "completed" and len(r["epochs"]) == 1 for r in runs.values())
    # the same run, with the class imported directly and trained by fit()
    train, test = load_mnist()
    for name, optimizer in (("sgd", optimizers.SGD()), ("signsgd", sign_sgd())):
        model = MLP([784, 30, 10], seed=0)
        history = fit(model, optimizer, train.head(2000), epochs=1, batch_size=10, monitor=test)
        record = runs[name]["epochs"][0]
        assert math.isfinite(record["test_loss"]) and 0.1 < record["test_accuracy"] <= 1.0
        # one network alone and a pass of one member round float32 differently
        assert abs(record["test_accuracy"] - history.test_accuracy[-1]) <= 0.003, name
        np.testing.assert_allclose(record["test_loss"], history.test_loss[-1], rtol=5e-3)


# -- broken plugins: skipped with one sentence each, the built-ins unharmed ---------------

_BROKEN_MODULE = """
from optimlab.optimizers.base import Optimizer

NotAnOptimizer = dict


class Misnamed(Optimizer):
    name = "something_else"


class Shadow(Optimizer):
    name = "sgd"


raise_here = 1 / 0 if False else None
"""

_BROKEN_ENTRY_POINTS = """
[optimlab.optimizers]
ghost = no_such_module_for_optimlab:Ghost
notone = broken_optimlab_plugins:NotAnOptimizer
misnamed = broken_optimlab_plugins:Misnamed
sgd = broken_optimlab_plugins:Shadow
"""


@pytest.fixture
def broken_site(tmp_path) -> Path:
    site = tmp_path / "broken"
    info = site / "broken_optimlab_plugins-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: broken-optimlab-plugins\nVersion: 0.1\n"
    )
    (info / "entry_points.txt").write_text(_BROKEN_ENTRY_POINTS)
    (site / "broken_optimlab_plugins.py").write_text(_BROKEN_MODULE)
    return site


def test_broken_plugins_are_skipped_with_one_sentence_each(broken_site, tmp_path):
    code = """if True:
        from optimlab import optimizers
        print(optimizers.get("sgd", lr=0.5), sorted(optimizers.PLUGINS))
    """
    done = run_with(broken_site, ["-c", code], tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "sgd (lr=0.5, weight_decay=0) []"
    sentences = [
        line.split("PluginWarning: ", 1)[1]
        for line in done.stderr.splitlines()
        if "PluginWarning: " in line
    ]
    assert len(sentences) == 4, done.stderr
    package = "from the package broken-optimlab-plugins 0.1"
    for name, reason in (
        ("ghost", "ModuleNotFoundError: No module named 'no_such_module_for_optimlab'"),
        ("notone", "it is the class dict, not a subclass of optimlab.optimizers.Optimizer"),
        ("misnamed", "has the name 'something_else', not the entry point's 'misnamed'"),
        ("sgd", "'sgd' is the name of a built-in optimizer"),
    ):
        (sentence,) = [
            s for s in sentences if s.startswith(f"optimlab: the optimizer plugin {name!r} ")
        ]
        assert package in sentence and reason in sentence, sentence
        assert sentence.endswith("; it is skipped"), sentence
    # the command line still works, with the built-in optimizers only
    helped = run_with(broken_site, ["-m", "optimlab", "compare", "--help"], tmp_path)
    assert helped.returncode == 0, helped.stderr
    assert "ghost" not in helped.stdout and "nesterov" in helped.stdout
    refused = run_with(
        broken_site, ["-m", "optimlab", "train", "--optimizer", "ghost", "--epochs", "1"], tmp_path
    )
    assert refused.returncode == 2 and "ghost" in refused.stderr


def test_the_command_line_says_each_skipped_plugin_in_one_line_of_its_own(broken_site, tmp_path):
    """Issue 26: the warnings of loading the plugins at import reached the terminal as
    Python prints them ("/.../optimizers/__init__.py:244: PluginWarning: ..." and the
    source line after it), since they came before the command line had started."""
    for argv in (
        ["compare", "--help"],
        ["train", "--epochs", "1", "--limit-train", "50", "--layers", "784,4,10", "--quiet"],
    ):
        done = run_with(broken_site, ["-m", "optimlab", *argv], tmp_path)
        assert done.returncode == 0, done.stderr
        lines = done.stderr.splitlines()
        assert len(lines) == 4, done.stderr
        for name in ("ghost", "notone", "misnamed", "sgd"):
            (line,) = [
                x
                for x in lines
                if x.startswith(f"optimlab: warning: the optimizer plugin {name!r} (")
            ]
            assert line.endswith("; it is skipped"), line
        assert ".py:" not in done.stderr and "PluginWarning" not in done.stderr


# -- load_plugins in this process, with entry points made here ----------------------------


class Good(Optimizer):
    name = "good_plugin_for_tests"

    def __init__(self, lr: float = 0.1, **options):
        super().__init__(**options)
        self.lr = rate("lr", lr)

    @staticmethod
    def update(xp, w, g, *, t, lr):
        w -= lr * g
        return w, ()


class Required(Good):
    name = "required_plugin_for_tests"

    def __init__(self, lr: float, **options):
        super().__init__(lr, **options)


def _entry(name: str, value: str) -> importlib.metadata.EntryPoint:
    return importlib.metadata.EntryPoint(name=name, value=value, group=GROUP)


def test_load_plugins_registers_validates_and_stays_idempotent():
    before = dict(optimizers.OPTIMIZERS)
    good = _entry(Good.name, f"{__name__}:Good")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert optimizers.load_plugins([good]) == {Good.name: Good}
            assert optimizers.load_plugins([good]) == {}  # already there: nothing new
        assert optimizers.get(Good.name, lr=0.5) == Good(lr=0.5)
        assert optimizers.defaults(Good.name) == {"lr": 0.1}
        cases = [
            (_entry("Good", f"{__name__}:Good"), "its name must be lower-case letters"),
            (_entry(Good.name, f"{__name__}:Required"), "has the name 'required_plugin_for"),
            (_entry(Required.name, f"{__name__}:Required"), "'lr' has no default"),
            (_entry("adam", f"{__name__}:Good"), "'adam' is the name of a built-in optimizer"),
            (_entry("nothing", f"{__name__}:Nothing"), "AttributeError: module"),
        ]
        for entry, reason in cases:
            with pytest.warns(optimizers.PluginWarning) as caught:
                assert optimizers.load_plugins([entry]) == {}
            (message,) = [str(w.message) for w in caught]
            assert message.startswith(
                f"optimlab: the optimizer plugin {entry.name!r} ({entry.value})"
            )
            assert reason in message and message.endswith("; it is skipped"), message
            assert "\n" not in message
        assert optimizers.OPTIMIZERS[Good.name] is Good  # the clash left the first one
    finally:
        optimizers.OPTIMIZERS.clear()
        optimizers.OPTIMIZERS.update(before)
        optimizers.PLUGINS.pop(Good.name, None)


def test_a_plugin_that_exits_at_its_import_is_skipped_and_the_command_goes_on(
    tmp_path, monkeypatch
):
    (tmp_path / "exits_at_import.py").write_text("import sys\nsys.exit(3)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.warns(optimizers.PluginWarning) as caught:
        assert optimizers.load_plugins([_entry("exiter", "exits_at_import:Opt")]) == {}
    (message,) = [str(w.message) for w in caught]
    assert "'exiter'" in message and "SystemExit: 3" in message, message
    assert message.endswith("; it is skipped") and "exiter" not in optimizers.OPTIMIZERS


def test_the_docs_show_the_example_package_as_it_is():
    docs = (Path(__file__).parents[1] / "docs" / "plugins.md").read_text()
    for path in ("pyproject.toml", "src/optimlab_signsgd/__init__.py"):
        text = (EXAMPLE / path).read_text()
        assert f"\n{text}```" in docs, f"docs/plugins.md does not show {path} as it is"


def test_a_script_that_imports_the_plugin_before_optimlab_still_gets_it(site, tmp_path):
    """The plugin's module is importing when optimlab lists the entry points (it imports
    optimlab at its top): the entry point waits, and is loaded when its name is asked
    for, without a warning."""
    code = """if True:
        import warnings
        warnings.simplefilter("error")
        import optimlab_signsgd
        from optimlab import optimizers
        print(optimizers.get("signsgd").name)
    """
    done = run_with(site, ["-c", code], tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["signsgd"] and done.stderr == ""
