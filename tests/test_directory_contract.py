"""One contract for every directory optimlab writes (issue 26): one kind of experiment
per directory, a manifest of the files written, a lock that is a regular file,
validation before anything is touched, and no dead ends."""

from __future__ import annotations

import contextlib
import shutil

import pytest

from helpers import assert_refused
from optimlab.cli import main

BENCHMARK = ["benchmark", "--optimizers", "sgd", "--grid", "2", "--seeds", "1", "--epochs", "1"]
BENCHMARK += ["--limit-train", "800", "--validation", "300", "--layers", "784,8,10"]
BENCHMARK += ["--jobs", "1", "--quiet"]
COMPARE = ["compare", "--optimizers", "sgd", "--epochs", "1", "--limit-train", "300"]
COMPARE += ["--layers", "784,8,10", "--seeds", "1", "--jobs", "1", "--quiet"]
TRAJECTORIES = ["trajectories", "--problem", "branin", "--optimizers", "sgd", "--steps", "2"]


def snapshot(out):
    """Every file under ``out`` (the lock included) with its bytes."""
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def kinds(tmp_path_factory):
    """A finished benchmark, compare experiment and trajectories, each in its directory."""
    root = tmp_path_factory.mktemp("kinds")
    assert main([*BENCHMARK, "--out", str(root / "benchmark")]) == 0
    assert main([*COMPARE, "--out", str(root / "experiment")]) == 0
    assert main([*TRAJECTORIES, "--out", str(root / "trajectories")]) == 0
    # a benchmark written before manifests named the kind: its benchmark.json tells
    shutil.copytree(root / "benchmark", root / "old-benchmark")
    (root / "old-benchmark" / ".optimlab-manifest.json").unlink(missing_ok=True)
    return root


BENCHMARK_THERE = r"benchmark holds a benchmark \(\.optimlab-manifest\.json\), not "
EXPERIMENT_THERE = r"experiment holds a compare or sweep experiment \(\.optimlab-manifest\.json\)"


@pytest.mark.parametrize(
    ("where", "argv", "message"),
    [
        ("benchmark", [*COMPARE, "--overwrite"], BENCHMARK_THERE + "a compare or sweep"),
        ("benchmark", [*COMPARE, "--resume"], BENCHMARK_THERE + "a compare or sweep"),
        ("benchmark", [*TRAJECTORIES, "--overwrite"], BENCHMARK_THERE + "trajectories"),
        (
            "old-benchmark",
            [*COMPARE, "--overwrite"],
            r"old-benchmark holds a benchmark \(benchmark\.json\), not a compare",
        ),
        (
            "benchmark/report/study-0/tuning",
            [*COMPARE, "--overwrite"],
            r"tuning holds a benchmark's tuning runs \(\.optimlab-manifest\.json\), not a comp",
        ),
        ("experiment", [*BENCHMARK, "--resume"], EXPERIMENT_THERE + ", not a benchmark"),
        ("experiment", [*BENCHMARK, "--overwrite"], EXPERIMENT_THERE + ", not a benchmark"),
        ("experiment", [*TRAJECTORIES, "--overwrite"], EXPERIMENT_THERE + ", not trajectories"),
        ("trajectories", [*COMPARE, "--overwrite"], r"trajectories holds trajectories \(\."),
        ("trajectories", [*BENCHMARK, "--resume"], r"trajectories holds trajectories \(\."),
    ],
    ids=[
        "compare-overwrite-benchmark",
        "compare-resume-benchmark",
        "trajectories-benchmark",
        "compare-benchmark-without-manifest",
        "compare-benchmark-tuning",
        "benchmark-resume-compare",
        "benchmark-overwrite-compare",
        "trajectories-compare",
        "compare-trajectories",
        "benchmark-trajectories",
    ],
)
def test_a_directory_holds_one_kind_of_experiment(kinds, where, argv, message, capsys):
    out = kinds / where
    before = snapshot(out)
    err = assert_refused(main([*argv, "--out", str(out)]), capsys, message)
    assert "choose another --out" in err
    assert snapshot(out) == before  # nothing touched, the lock included


# -- trajectories: the lock, and only its own animation removed ---------------------------


def test_trajectories_takes_the_directorys_lock(tmp_path, capsys):
    from optimlab.experiment import directory

    out = tmp_path / "paths"
    out.mkdir()
    with directory.lock(out):  # another run at work in it
        assert_refused(main([*TRAJECTORIES, "--out", str(out)]), capsys, "in use by optimlab")
    assert sorted(p.name for p in out.iterdir()) == [".optimlab.lock"]


def test_trajectories_overwrite_removes_only_an_animation_optimlab_wrote(tmp_path, capsys):
    out = tmp_path / "paths"
    assert main([*TRAJECTORIES, "--out", str(out)]) == 0
    (out / "trajectories.gif").write_bytes(b"my own animation")
    assert main([*TRAJECTORIES, "--out", str(out), "--overwrite", "--seed", "3"]) == 0
    assert (out / "trajectories.gif").read_bytes() == b"my own animation"
    (out / "trajectories.gif").unlink()
    assert main([*TRAJECTORIES, "--out", str(out), "--overwrite", "--gif"]) == 0
    assert main([*TRAJECTORIES, "--out", str(out), "--overwrite"]) == 0
    assert not (out / "trajectories.gif").exists()  # ours: it showed other paths


# -- the lock is a regular file ------------------------------------------------------------


@pytest.mark.parametrize("command", [COMPARE, TRAJECTORIES], ids=["compare", "trajectories"])
@pytest.mark.parametrize("dangling", [False, True], ids=["to-a-file", "dangling"])
def test_a_lock_that_is_a_symbolic_link_is_refused_not_followed(
    tmp_path, capsys, command, dangling
):
    target = tmp_path / "precious.txt"
    if not dangling:
        target.write_text("my data")
    out = tmp_path / "run"
    out.mkdir()
    (out / ".optimlab.lock").symlink_to(target)
    message = r"\.optimlab\.lock is not a regular file"
    assert_refused(main([*command, "--out", str(out)]), capsys, message)
    assert target.read_text() == "my data" if not dangling else not target.exists()
    assert [p.name for p in out.iterdir()] == [".optimlab.lock"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--steps", "99999999999999999999"], "steps must be at most 10,000,000, not 99,999,"),
        (["--out", ""], "--out is empty: name the directory"),
    ],
    ids=["huge-steps", "empty-out"],
)
def test_refused_trajectories_write_nothing(tmp_path, capsys, monkeypatch, extra, message):
    monkeypatch.chdir(tmp_path)  # an empty --out must not mean the current directory
    assert_refused(main([*TRAJECTORIES, "--out", "paths", *extra]), capsys, message)
    assert list(tmp_path.iterdir()) == []


# -- what was checked is checked again once the lock is held --------------------------------


def _another_run_before_the_lock(monkeypatch, capsys, argv):
    """The first lock any command takes comes after ``argv`` has run to its end in the same
    directory, as another process may between a command's checks and its lock. Returns
    the snapshot of ``argv``'s files, taken then."""
    from optimlab.experiment import directory

    original, snapshots = directory.OutputDirectory.locked, []

    @contextlib.contextmanager
    def locked(self):
        if not snapshots:
            snapshots.append(None)  # the other run's own locks are plain ones
            assert main(argv) == 0
            capsys.readouterr()
            snapshots[0] = snapshot(self.path)
        with original(self) as held:
            yield held

    monkeypatch.setattr(directory.OutputDirectory, "locked", locked)
    return snapshots


@pytest.mark.parametrize(
    ("command", "other", "message"),
    [
        (COMPARE, TRAJECTORIES, "holds trajectories"),
        (TRAJECTORIES, COMPARE, "holds a compare or sweep experiment"),
        (BENCHMARK, COMPARE, "holds a compare or sweep experiment"),
    ],
    ids=["compare-after-trajectories", "trajectories-after-compare", "benchmark-after-compare"],
)
def test_the_kind_is_checked_again_once_the_lock_is_held(
    tmp_path, capsys, monkeypatch, command, other, message
):
    """Issue 26 (item 5 of its last round): the kind was checked before the lock only, so a
    compare that found an empty directory removed the trajectories another process had
    written there meanwhile (their manifest's files, as if they were its own)."""
    out = tmp_path / "out"
    before = _another_run_before_the_lock(monkeypatch, capsys, [*other, "--out", str(out)])
    assert_refused(main([*command, "--out", str(out)]), capsys, message)
    assert snapshot(out) == before[0]


def test_a_benchmark_checks_its_directory_again_once_the_lock_is_held(
    tmp_path, capsys, monkeypatch
):
    """A benchmark that found no benchmark in ``out`` wrote its benchmark.json and manifest
    over one another process had run there meanwhile (with another grid): a directory whose
    report said one benchmark and whose runs were another's."""
    out = tmp_path / "out"
    other = [*BENCHMARK, "--grid", "3", "--out", str(out)]
    before = _another_run_before_the_lock(monkeypatch, capsys, other)
    message = "another optimlab process wrote into .* while this benchmark was being checked"
    assert_refused(main([*BENCHMARK, "--out", str(out)]), capsys, message)
    assert snapshot(out) == before[0]
