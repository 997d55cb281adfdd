"""A benchmark's studies (issue 24, items 1 and 7): each study tunes with its own seed,
validation split and search sequence, selects its own setting and reruns it with its
own seeds; the table pools every study's final runs, and its statistics are scipy's of
the runs in results.json. A benchmark written before studies still loads, and is
refused by --resume in one sentence."""

from __future__ import annotations

import json
import math
import shutil
from itertools import combinations
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from helpers import assert_refused
from optimlab import MLP, ConfigError, evaluate, load_mnist
from optimlab.benchmark import Benchmark, run_benchmark
from optimlab.cli import main
from optimlab.datasets import Dataset
from optimlab.experiment import Setting, run_experiment
from optimlab.experiment.data import SPLIT_SEED, split_validation
from optimlab.experiment.results import load_results

#: A benchmark written by optimlab before studies existed (revision 2fcbcd0, with
#: ``benchmark --optimizers sgd,adam --grid 2 --seeds 2 --epochs 1 --limit-train 800
#: --validation 300 --layers 784,8,10``): its report and the results of its two
#: experiments (the models and figures left out).
BEFORE = Path(__file__).parent / "data" / "benchmark-before-studies"
BEFORE_ARGS = ["benchmark", "--optimizers", "sgd,adam", "--grid", "2", "--seeds", "2"]
BEFORE_ARGS += ["--epochs", "1", "--limit-train", "800", "--validation", "300"]
BEFORE_ARGS += ["--layers", "784,8,10", "--jobs", "1", "--quiet"]

SMALL = {"epochs": 1, "limit_train": 1500, "layers": [784, 8, 10]}


# ---------------------------------------------------------------- seeds and splits


def test_each_study_has_its_own_seeds_and_no_seed_repeats():
    bench = Benchmark(("sgd", "adam"), search="random", budget=4, seeds=5, study_seed=7)
    assert bench.studies == 3  # AlgoPerf's number, the default
    studies = [bench.study(s) for s in range(3)]
    tuning = [s.tuning_seed for s in studies]
    finals = [seed for s in studies for seed in s.final_seeds]
    assert all(len(s.final_seeds) == 5 for s in studies)
    assert len(set(tuning)) == 3 and len(set(finals)) == 15 and not set(tuning) & set(finals)
    assert len({s.split_seed for s in studies}) == 3
    assert len({s.search_seed for s in studies}) == 3
    other = Benchmark(("sgd",), seeds=5, study_seed=8)  # the next study seed: none shared
    seeds = {other.study(s).tuning_seed for s in range(3)}
    seeds |= {x for s in range(3) for x in other.study(s).final_seeds}
    assert not seeds & {*tuning, *finals}
    for s, study in enumerate(studies):
        setting = bench.tuning("report", s)
        assert setting.split_seed == study.split_seed
        assert {t.seed for t in setting.trials} == {study.tuning_seed}
        final = bench.final("report", {n: bench.trials(n, None, s)[0] for n in ("sgd", "adam")}, s)
        assert final.split_seed == study.split_seed
        assert [t.seed for t in final.passes[0]] == list(study.final_seeds)
    # a random search draws other points in every study; a grid is the grid
    draws = [bench.trials("adam", None, s) for s in range(3)]
    assert draws[0] != draws[1] != draws[2] != draws[0]
    grid = Benchmark(("adam",), budget=4)
    assert grid.trials("adam", None, 0) == grid.trials("adam", None, 2)
    with pytest.raises(ConfigError, match=r"study must lie in 0\.\.2, not 3"):
        bench.study(3)


def test_study_0_of_study_seed_0_has_the_seeds_of_a_benchmark_before_studies():
    first = Benchmark(("sgd",), seeds=5).study(0)
    assert (first.tuning_seed, first.final_seeds, first.split_seed) == (
        0,
        (1, 2, 3, 4, 5),
        20190423,
    )
    assert SPLIT_SEED == 20190423  # the split every benchmark before studies held out


def _indexed(n: int) -> Dataset:
    """``n`` samples whose one feature is their index."""
    return Dataset(np.arange(n, dtype=np.float32)[:, None], np.zeros(n, dtype=np.int64), 1)


def test_the_studies_hold_out_different_samples():
    """The held-out indices of each study's seed, against the permutation its seed draws
    (written out here, not taken from the code under test)."""
    bench = Benchmark(("sgd",), studies=3, study_seed=2)
    held = []
    for s in range(3):
        seed = bench.study(s).split_seed
        kept, out = split_validation(_indexed(1000), 200, seed)
        rows = np.asarray(out.images)[:, 0].astype(int)
        expected = np.sort(np.random.default_rng(seed).permutation(1000)[:200])
        np.testing.assert_array_equal(rows, expected)
        assert not set(rows) & set(np.asarray(kept.images)[:, 0].astype(int))
        held.append(set(rows))
    for a, b in combinations(held, 2):
        assert a != b and len(a & b) < 100  # independent draws share about 200 * 0.2 = 40
    assert split_validation(_indexed(1000), 200)[1].n == 200  # None: SPLIT_SEED, as before
    with pytest.raises(ConfigError, match="split_seed must be an integer >= 0, not -1"):
        Setting("benchmark-tuning", [[]], validation=10, split_seed=-1)


def test_every_study_trains_and_validates_on_its_own_split(tmp_path):
    """The tuning's saved networks of each study, scored on that study's held-out
    samples (recomputed here), give the validation figures the study recorded; on the
    other study's samples they do not."""
    bench = Benchmark(("sgd",), budget=2, seeds=1, studies=2, validation=500, setting=SMALL)
    outcome = run_benchmark(bench, tmp_path / "b", jobs=1)
    train = load_mnist()[0].head(1500)
    images, labels = np.asarray(train.images), np.asarray(train.labels)

    def held_out(study):
        rows = np.sort(np.random.default_rng(SPLIT_SEED + study).permutation(1500)[:500])
        return Dataset(images[rows], labels[rows], train.num_classes)

    for study, other in ((0, 1), (1, 0)):
        model = MLP.load(
            tmp_path / "b" / "report" / f"study-{study}" / "tuning" / "models" / "pass-0.npz"
        )
        recorded = [t.epochs[-1] for t in outcome.tuning["report"][study].trials]
        own = evaluate(model, held_out(study))
        assert own.accuracy == pytest.approx([e.validation_accuracy for e in recorded])
        assert own.loss == pytest.approx([e.validation_loss for e in recorded], rel=1e-5)
        assert evaluate(model, held_out(other)).loss != pytest.approx(own.loss, rel=1e-5)


# ---------------------------------------------------------------- selection and the table


@pytest.fixture(scope="module")
def random_studies(tmp_path_factory):
    """Three optimizers, a random search of three trials, three seeds, two studies."""
    out = tmp_path_factory.mktemp("studies") / "b"
    bench = Benchmark(
        ("sgd", "adam", "rmsprop"),
        search="random",
        budget=3,
        seeds=3,
        studies=2,
        study_seed=5,
        validation=500,
        setting=SMALL,
    )
    outcome = run_benchmark(bench, out, jobs=1)
    assert outcome.complete
    return out, json.loads((out / "results.json").read_text())


def test_each_study_selects_from_its_own_trials_and_reruns_with_its_own_seeds(random_studies):
    _, d = random_studies
    assert [s["study"] for s in d["studies"]] == [0, 1]
    for name in ("sgd", "adam", "rmsprop"):
        chosen = d["selected"][name]
        assert len(chosen) == 2 and chosen[0] != chosen[1]  # two draws: two settings
        for study in (0, 1):
            trials = [t for t in d["trials"] if t["optimizer"] == name and t["study"] == study]
            assert {t["seed"] for t in trials} == {d["studies"][study]["tuning_seed"]}
            best = min(trials, key=lambda t: t["validation_loss"][-1])  # --select val_loss
            assert chosen[study] == best["hyperparameters"]
            runs = [r for r in d["runs"] if r["optimizer"] == name and r["study"] == study]
            assert [r["seed"] for r in runs] == d["studies"][study]["final_seeds"]
            assert all(r["hyperparameters"] == chosen[study] for r in runs)
        row = next(r for r in d["table"] if r["optimizer"] == name)
        assert row["selected"] == chosen and "/" in row["tuned"]  # each study's value


def test_the_table_pools_both_studies_and_its_statistics_are_scipy_s(random_studies):
    """Every row's figures recomputed from the runs and trials in results.json: the
    pooled mean, n, sample std, Welch's p against the best Holm-adjusted by hand, the
    tie, the expected best after k trials of one study averaged over studies."""
    out, d = random_studies
    table = d["table"]
    assert [r["rank"] for r in table] == [1, 2, 3]

    def finals(name, study=None):
        return [
            r["epochs"][-1]["test_accuracy"]
            for r in d["runs"]
            if r["optimizer"] == name and r["status"] == "completed"
            and study in (None, r["study"])
        ]  # fmt: skip

    best = finals(table[0]["optimizer"])
    raw = {}
    for row in table:
        acc = finals(row["optimizer"])
        assert row["studies"] == 2 and row["n"] == len(acc) == 6
        assert row["accuracy_mean"] == pytest.approx(np.mean(acc))
        assert row["accuracy_std"] == pytest.approx(np.std(acc, ddof=1))
        loss = [
            r["epochs"][-1]["test_loss"] for r in d["runs"] if r["optimizer"] == row["optimizer"]
        ]
        assert row["loss_mean"] == pytest.approx(np.mean(loss))
        assert row["loss_std"] == pytest.approx(np.std(loss, ddof=1))
        lo, hi = row["accuracy_ci95"]
        assert min(acc) <= lo <= np.mean(acc) <= hi <= max(acc)
        assert 1 <= row["rank_ci95"][0] <= row["rank_ci95"][1] <= 3
        tuned = [
            [
                t["validation_accuracy"][-1]
                for t in d["trials"]
                if t["optimizer"] == row["optimizer"] and t["study"] == study
            ]
            for study in (0, 1)
        ]
        curve = row["expected_best_validation"]
        assert len(curve) == 3
        for k, got in enumerate(curve, start=1):
            per_study = [np.mean([max(c) for c in combinations(t, k)]) for t in tuned]
            assert got == pytest.approx(np.mean(per_study))
        if row["rank"] > 1:
            raw[row["optimizer"]] = stats.ttest_ind(acc, best, equal_var=False).pvalue
    # Holm by hand over the two rows tested: the smaller p times 2, the larger times 1,
    # and never below the one before it
    (low, p_low), (high, p_high) = sorted(raw.items(), key=lambda item: item[1])
    expected = {low: min(1.0, 2 * p_low)}
    expected[high] = max(expected[low], min(1.0, p_high))
    for row in table:
        if row["rank"] == 1:
            assert row["p_vs_best"] is None and row["tied_with_best"] is True
        else:
            assert row["p_vs_best"] == pytest.approx(expected[row["optimizer"]])
            assert row["tied_with_best"] == (expected[row["optimizer"]] >= 0.05)
    text = (out / "report.md").read_text()
    assert "**Studies:** 2 (study seed 5)" in text and "resampling studies then seeds" in text


# ---------------------------------------------------------------- the command line


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--studies", "0"], "studies must be a positive integer, not 0"),
        (["--studies", "-2"], "studies must be a positive integer, not -2"),
        (["--studies", "101"], "studies must be at most 100, not 101"),
        (["--study-seed", "-1"], "study_seed must be an integer from 0 to 999,999, not '-1'"),
        (["--study-seed", "1.5"], "study_seed must be an integer from 0 to 999,999, not '1.5'"),
    ],
)
def test_bad_studies_are_one_sentence(tmp_path, capsys, extra, message):
    try:
        code = main([*BEFORE_ARGS, *extra, "--out", str(tmp_path / "b")])
    except SystemExit as exit_:
        code = exit_.code
    assert_refused(code, capsys, message)
    assert not (tmp_path / "b").exists()


def test_the_command_runs_the_studies_it_is_told(tmp_path, capsys):
    out = tmp_path / "b"
    argv = [*BEFORE_ARGS, "--optimizers", "sgd", "--seeds", "1", "--out", str(out)]
    assert main([*argv, "--studies", "2", "--study-seed", "3"]) == 0
    capsys.readouterr()
    d = json.loads((out / "results.json").read_text())
    assert d["benchmark"]["studies"] == 2 and d["benchmark"]["study_seed"] == 3
    assert [s["tuning_seed"] for s in d["studies"]] == [300 * 100_001, 301 * 100_001]
    manifest = json.loads((out / ".optimlab-manifest.json").read_text())
    assert manifest["experiments"] == [
        f"report/study-{s}/{phase}" for s in (0, 1) for phase in ("tuning", "final")
    ]
    err = assert_refused(main([*argv, "--resume", "--studies", "3"]), capsys, "studies = 2")
    assert "this command has studies = 3" in err


# ---------------------------------------------------------------- before studies


def test_study_0_reruns_the_final_runs_of_a_benchmark_before_studies(tmp_path):
    """The final setting of study 0 of study seed 0, given what the old benchmark
    selected, is the old final setting (its split seed written out), and trains to the
    old figures."""
    old = json.loads((BEFORE / "results.json").read_text())
    bench = Benchmark(
        ("sgd", "adam"), budget=2, seeds=2, validation=300, studies=1, setting=dict(
            epochs=1, limit_train=800, layers=[784, 8, 10]
        )
    )  # fmt: skip
    setting = bench.final("report", old["selected"], 0)
    assert setting.split_seed == SPLIT_SEED
    before = Setting.from_dict(old["setting"])
    assert before.split_seed is None  # SPLIT_SEED, the split of every benchmark then
    setting.split_seed = None
    assert setting.to_dict() == before.to_dict()
    setting.split_seed = SPLIT_SEED
    results = run_experiment(setting, tmp_path / "again", jobs=1)
    for new, run in zip(results.trials, old["runs"], strict=True):
        assert (new.optimizer, new.seed) == (run["optimizer"], run["seed"])
        last = run["epochs"][-1]
        assert new.epochs[-1].test_accuracy == pytest.approx(last["test_accuracy"], abs=2e-3)
        assert new.epochs[-1].test_loss == pytest.approx(last["test_loss"], rel=1e-3)
        assert new.epochs[-1].validation_loss == pytest.approx(last["validation_loss"], rel=1e-3)


def test_results_written_before_studies_still_load_and_plot(tmp_path, capsys):
    for path in (BEFORE / "report" / "tuning", BEFORE / "report" / "final", BEFORE):
        results = load_results(path / "results.json")
        assert results.setting.split_seed is None and results.trials
    assert main(["plot", str(BEFORE / "results.json"), "--out", str(tmp_path)]) == 0
    assert "drew" in capsys.readouterr().out
    assert (tmp_path / "accuracy.png").stat().st_size > 10_000


def test_a_benchmark_before_studies_is_refused_by_resume_and_replaced_by_overwrite(
    tmp_path, capsys
):
    out = tmp_path / "old"
    shutil.copytree(BEFORE, out)
    (out / "notes.txt").write_text("mine")
    (out / "report" / "tuning" / "mine.txt").write_text("mine too")
    before = {str(p): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    argv = [*BEFORE_ARGS, "--out", str(out)]
    message = (
        "was written before benchmarks had studies, and this version cannot continue it: "
        "pass --overwrite to replace it"
    )
    assert_refused(main([*argv, "--resume", "--studies", "1"]), capsys, message)
    assert_refused(main(argv), capsys, "already holds a benchmark; pass --resume")
    assert {str(p): p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert main([*argv, "--overwrite", "--studies", "1"]) == 0
    capsys.readouterr()
    assert (out / "notes.txt").read_text() == "mine"
    assert sorted(p.name for p in (out / "report" / "tuning").iterdir()) == ["mine.txt"]
    assert not (out / "report" / "final").exists()
    assert (out / "report" / "study-0" / "final" / "results.json").is_file()
    d = json.loads((out / "results.json").read_text())
    assert d["benchmark"]["studies"] == 1 and {r["study"] for r in d["runs"]} == {0}
    assert math.isfinite(d["table"][0]["accuracy_mean"])
