"""compare and sweep on the paths no other test took (issue 17, row 3 and "also untested").

``--resume`` is checked by the epochs actually trained after it (the epoch lines
printed, and the recorded figures of the epochs done before, timings included, which a
run that started again would replace); ``--one-pass`` and ``--max-members`` by the
passes they make and by figures equal to those of the other grouping; ``--overwrite``
by what is left in the directory; a failed pass by the exit code; ``--backend torch``
by what the run records and by figures close to NumPy's.
"""

from __future__ import annotations

import contextlib
import io
import json
import re

import numpy as np
import pytest

from optimlab import MLP, optimizers
from optimlab.cli import main
from optimlab.experiment import compare_setting, load_results, run_experiment, sweep_setting

COMMON = ["--limit-train", "500", "--layers", "784,8,10"]


def run(args: list[str]) -> tuple[int, str, str]:
    """``optimlab ARGS`` in this process: exit code, standard output, standard error."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(args)
    return code, out.getvalue(), err.getvalue()


def figures(results) -> list[list[tuple[float, float, float]]]:
    return [
        [(e.train_loss, e.test_loss, e.test_accuracy) for e in t.epochs] for t in results.trials
    ]


EPOCH_LINE = re.compile(r"^\s+(?:pass\s+\d+\s+)?(\S.*?)\s+epoch\s+(\d+)/(\d+)\s+test accuracy")


def epochs_trained(printed: str) -> dict[str, list[int]]:
    """Setting (as the epoch lines name it) -> the epochs whose lines were printed."""
    trained: dict[str, list[int]] = {}
    for line in printed.splitlines():
        match = EPOCH_LINE.match(line)
        if match:
            trained.setdefault(match[1], []).append(int(match[2]))
    return trained


# -- row 3: --resume continues from the checkpoints ---------------------------------------


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_compare_resume_trains_only_the_epochs_not_yet_done(tmp_path, jobs):
    out = tmp_path / "run"
    setting = compare_setting(
        {
            "sgd": optimizers.get("sgd").hyperparameters,
            "adam": optimizers.get("adam").hyperparameters,
        },
        [0, 1],
        epochs=3,
        limit_train=500,
        layers=[784, 8, 10],
    )
    # stopped after epoch 1 of the first pass (sgd); adam not started
    run_experiment(setting, out, stop_after=lambda p, e: (p, e) == (0, 1))
    before = load_results(out / "results.json")
    assert [len(t.epochs) for t in before.trials] == [1, 1, 0, 0]

    args = ["compare", "--optimizers", "sgd,adam", "--epochs", "3", "--seeds", "2", *COMMON]
    code, printed, err = run([*args, "--out", str(out), "--resume", "--jobs", jobs])
    assert code == 0, err
    assert epochs_trained(printed) == {"sgd": [2, 3], "adam": [1, 2, 3]}, printed
    assert re.search(r"pass 1/2: sgd .*\(2 members\), resuming after epoch 1", printed), printed
    assert not re.search(r"pass 2/2: adam .*resuming", printed), printed

    after = load_results(out / "results.json")
    assert all(t.status == "completed" and len(t.epochs) == 3 for t in after.trials)
    # the first epoch's record, its timing included, is the one written before the stop
    assert [t.epochs[0] for t in after.trials[:2]] == [t.epochs[0] for t in before.trials[:2]]
    assert not (out / "checkpoints").exists()


def test_sweep_resume_trains_only_the_epochs_not_yet_done(tmp_path):
    out = tmp_path / "run"
    hyper = optimizers.get("adam").hyperparameters
    setting = sweep_setting(
        "adam", hyper, [0.001, 0.01], [0], max_members=1, epochs=3, limit_train=500,
        layers=[784, 8, 10],
    )  # fmt: skip
    run_experiment(setting, out, stop_after=lambda p, e: (p, e) == (0, 2))
    before = load_results(out / "results.json")
    assert [len(t.epochs) for t in before.trials] == [2, 0]

    args = ["sweep", "--optimizer", "adam", "--lr", "0.001,0.01", "--seeds", "1", *COMMON]
    code, printed, err = run(
        [*args, "--epochs", "3", "--max-members", "1", "--out", str(out), "--resume", "--jobs", "1"]
    )
    assert code == 0, err
    assert epochs_trained(printed) == {"adam lr=0.001": [3], "adam": [1, 2, 3]}, printed
    after = load_results(out / "results.json")
    assert after.trials[0].epochs[:2] == before.trials[0].epochs
    assert [len(t.epochs) for t in after.trials] == [3, 3]


# -- --one-pass and --max-members: other groupings, the same figures ------------------------


def test_one_pass_trains_every_optimizer_and_seed_as_members_of_one_pass(tmp_path):
    args = ["compare", "--optimizers", "sgd,adam", "--epochs", "2", "--seeds", "2", *COMMON]
    args += ["--jobs", "1", "--quiet"]
    code, _, err = run([*args, "--out", str(tmp_path / "apart")])
    assert code == 0, err
    code, printed, err = run([*args, "--one-pass", "--out", str(tmp_path / "one")])
    assert code == 0, err

    one, apart = (load_results(tmp_path / name / "results.json") for name in ("one", "apart"))
    assert len(one.passes) == 1 and len(apart.passes) == 2
    assert [t.pass_index for t in one.trials] == [0, 0, 0, 0]
    assert [(t.optimizer, t.seed) for t in one.trials] == [
        (t.optimizer, t.seed) for t in apart.trials
    ]
    # the members do not interfere: each trial's figures are those it has trained alone
    assert figures(one) == figures(apart)  # bit for bit on the CPU
    models = sorted(p.name for p in (tmp_path / "one" / "models").iterdir())
    assert models == ["pass-0.npz"]
    together = MLP.load(tmp_path / "one" / "models" / "pass-0.npz")
    assert together.members == 4 and together.seeds == [0, 1, 0, 1]
    for k, name in ((0, "sgd"), (2, "adam")):
        alone = MLP.load(tmp_path / "apart" / "models" / f"{name}.npz")
        np.testing.assert_array_equal(together.params[k : k + 2], alone.params)
    # the optimizers shared one pass, and the table says so
    assert "together with others" in printed


def test_sweep_max_members_splits_the_grid_into_passes_with_the_same_figures(tmp_path):
    args = ["sweep", "--optimizer", "sgd", "--lr", "0.1,1", "--seeds", "2", "--epochs", "1"]
    args += [*COMMON, "--quiet"]
    code, _, err = run([*args, "--out", str(tmp_path / "one"), "--jobs", "1"])
    assert code == 0, err
    code, printed, err = run(
        [*args, "--out", str(tmp_path / "split"), "--max-members", "3", "--jobs", "2"]
    )
    assert code == 0, err
    assert "best learning rate for sgd: 1 " in printed

    one, split = (load_results(tmp_path / name / "results.json") for name in ("one", "split"))
    assert [len(p) for p in split.setting.passes] == [3, 1] and split.complete
    assert [t.pass_index for t in split.trials] == [0, 0, 0, 1]
    assert [(t.hyperparameters["lr"], t.seed) for t in split.trials] == [
        (0.1, 0), (0.1, 1), (1.0, 0), (1.0, 1),
    ]  # fmt: skip
    assert figures(split) == figures(one)  # bit for bit on the CPU
    assert len(one.passes) == 1
    first = MLP.load(tmp_path / "split" / "models" / "pass-0.npz")
    second = MLP.load(tmp_path / "split" / "models" / "pass-1.npz")
    assert (first.members, first.seeds, second.members, second.seeds) == (3, [0, 1, 0], 1, [1])
    whole = MLP.load(tmp_path / "one" / "models" / "pass-0.npz").params
    joined = np.concatenate([first.params, second.params])
    np.testing.assert_array_equal(joined, whole)


# -- --overwrite ----------------------------------------------------------------------------


def test_overwrite_replaces_the_experiment_and_keeps_files_not_ours(tmp_path):
    out = tmp_path / "run"
    sweep = ["sweep", "--optimizer", "sgd", "--lr", "0.5,1", "--seeds", "1", "--epochs", "1"]
    code, _, err = run([*sweep, *COMMON, "--out", str(out), "--jobs", "1", "--quiet"])
    assert code == 0, err
    (out / "notes.txt").write_text("mine")
    (out / "models" / "mine.npz").write_bytes(b"my own model")
    old = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    assert {"sensitivity.png", "results.csv", "misclassified.png"} <= set(old)

    compare = ["compare", "--optimizers", "adam", "--epochs", "2", "--seeds", "1", *COMMON]
    args = [*compare, "--out", str(out), "--jobs", "1", "--quiet"]
    code, _, err = run(args)
    assert code == 2 and "already holds an experiment" in err  # not without --overwrite
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == old

    code, _, err = run([*args, "--overwrite"])
    assert code == 0, err
    results = load_results(out / "results.json")
    assert results.kind == "compare" and [t.optimizer for t in results.trials] == ["adam"]
    assert [len(t.epochs) for t in results.trials] == [2]
    # the sweep's own files are gone; the new experiment's are there
    assert not (out / "sensitivity.png").exists()
    assert sorted(p.name for p in (out / "models").iterdir()) == ["adam.npz", "mine.npz"]
    csv_text = (out / "results.csv").read_text()
    assert "sgd" not in csv_text and csv_text.count("\nadam,") == 2
    for name in ("accuracy.png", "loss.png", "misclassified.png"):
        assert (out / name).read_bytes() != old[name], name
    # files optimlab did not write are kept as they were
    assert (out / "notes.txt").read_text() == "mine"
    assert (out / "models" / "mine.npz").read_bytes() == b"my own model"
    manifest = json.loads((out / ".optimlab-manifest.json").read_text())
    assert "notes.txt" not in manifest["files"] and "models/mine.npz" not in manifest["files"]


# -- a failed pass --------------------------------------------------------------------------


def test_a_failed_pass_exits_1_and_the_other_passes_finish(tmp_path):
    """Pass 1's checkpoint is damaged: on --resume that pass fails in its worker, exit 1."""
    out = tmp_path / "run"
    setting = compare_setting(
        {
            "sgd": optimizers.get("sgd").hyperparameters,
            "adam": optimizers.get("adam").hyperparameters,
        },
        [0],
        epochs=2,
        limit_train=500,
        layers=[784, 8, 10],
    )
    run_experiment(setting, out, stop_after=lambda p, e: (p, e) == (0, 1))
    (out / "checkpoints" / "pass-0.npz").write_bytes(b"damaged")

    args = ["compare", "--optimizers", "sgd,adam", "--epochs", "2", "--seeds", "1", *COMMON]
    code, printed, err = run([*args, "--out", str(out), "--resume", "--jobs", "2"])
    assert code == 1, (printed, err)
    assert re.search(r"^pass 1 \(sgd; seeds 0\) failed: DataError: .*pass-0\.npz", err, re.M), err
    assert err.strip().splitlines()[-1] == (
        "optimlab compare: 1 pass(es) failed (see above and results.json); run the same "
        "command with --resume to run them again"
    )
    results = load_results(out / "results.json")
    assert [p.complete for p in results.passes] == [False, True]
    assert "pass-0.npz" in results.passes[0].error
    assert [len(t.epochs) for t in results.trials] == [1, 2]
    assert (out / "models" / "adam.npz").exists() and not (out / "models" / "sgd.npz").exists()


# -- --backend torch -----------------------------------------------------------------------


def test_backend_torch_from_the_command_line(tmp_path):
    torch = pytest.importorskip("torch")
    args = ["compare", "--optimizers", "sgd,adam", "--epochs", "1", "--seeds", "1", *COMMON]
    args += ["--jobs", "1", "--quiet"]
    code, _, err = run([*args, "--backend", "torch", "--out", str(tmp_path / "torch")])
    assert code == 0, err
    code, _, err = run([*args, "--out", str(tmp_path / "numpy")])
    assert code == 0, err
    on_torch = load_results(tmp_path / "torch" / "results.json")
    on_numpy = load_results(tmp_path / "numpy" / "results.json")
    assert on_torch.setting.library == "torch" and on_numpy.setting.library is None
    assert "torch" in on_torch.environment.backend.lower()
    assert on_torch.environment.versions.get("torch") == torch.__version__
    assert "torch" not in on_numpy.environment.backend.lower()
    # the same training in float32 on another library: the same figures but for rounding
    np.testing.assert_allclose(figures(on_torch), figures(on_numpy), rtol=2e-3, atol=2e-3)

    # evaluate --backend torch scores the saved model as NumPy does
    model = tmp_path / "torch" / "models" / "adam.npz"
    code, scored_torch, err = run(["evaluate", str(model), "--backend", "torch"])
    assert code == 0, err
    code, scored_numpy, err = run(["evaluate", str(model)])
    assert code == 0, err
    accuracy = [float(s.split("test accuracy ")[1][:5]) for s in (scored_torch, scored_numpy)]
    assert accuracy[0] == pytest.approx(accuracy[1], abs=0.011)
