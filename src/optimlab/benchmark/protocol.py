"""The benchmark protocol: tune every optimizer with the same budget on a validation
split, select, rerun the selected settings with fresh seeds, and report.

A benchmark lives in one directory: ``benchmark.json`` (what was asked, checked on
``--resume``), per problem the two experiments ``<problem>/tuning`` and
``<problem>/final`` (ordinary experiments: checkpointed after every epoch, resumed
exactly), and the report written once both are complete (:mod:`.report`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .. import optimizers, problems
from .._files import atomic_write
from ..backend import resolve
from ..errors import ConfigError, DataError
from ..experiment import Reporter, Results, Setting, directory, run_experiment
from ..experiment.data import setting_data, split_validation
from ..experiment.resume import require_same_setting
from . import report, selection
from .plan import Benchmark, Outcome

__all__ = ["run_benchmark"]

CONFIG = "benchmark.json"
_FORMAT = "optimlab.benchmark"


def run_benchmark(
    benchmark: Benchmark,
    out: str | os.PathLike[str],
    *,
    resume: bool = False,
    overwrite: bool = False,
    stop_after: Callable[[int, int], bool] | None = None,
    jobs: int | None = None,
    scheduler: str | None = None,
    on_phase: Callable[[str, str, Setting], Reporter | None] | None = None,
) -> Outcome:
    """Run (or continue) ``benchmark`` in directory ``out``; write its report when done.

    ``jobs``, ``scheduler`` and ``stop_after`` are
    :func:`~optimlab.experiment.run_experiment`'s, for each of its experiments
    (``jobs=None``: one worker per usable core); ``on_phase(problem, phase, setting)``
    is told when the tuning or the final runs of a problem start, and may return the
    :class:`~optimlab.experiment.Reporter` of that experiment.

    Everything that can be checked — the optimizers, every trial's hyper-parameters,
    the data and the split, the directory — is checked before ``out`` is touched.

    Raises
    ------
    ConfigError
        Bad input (among it selection by validation accuracy or a target accuracy on a
        problem without accuracy), a directory that holds something else, or
        (``resume``) a benchmark there that was asked with other arguments.
    """
    if resume and overwrite:
        raise ConfigError("--resume and --overwrite exclude each other")
    selection.check_loss_only(benchmark.problems, benchmark.select, benchmark.target)
    out = directory.check_out(out)
    _check(benchmark)
    stored = _stored(out)
    if resume:
        if stored is None:
            raise ConfigError(f"there is no benchmark to resume in {out} (no {CONFIG})")
        require_same_setting(
            stored,
            json.loads(json.dumps(benchmark.to_dict())),
            f"the benchmark in {out}",
            "run the same command to resume it, or pass --overwrite to replace it",
        )
    elif stored is not None and not overwrite:
        raise ConfigError(
            f"{out} already holds a benchmark; pass --resume to continue it or "
            "--overwrite to replace it"
        )
    elif stored is None and out.is_dir() and any(out.iterdir()):
        if not overwrite:
            raise ConfigError(
                f"{out} already holds files; choose an empty or new directory, or pass "
                "--overwrite to write the benchmark beside them"
            )
        clash = [name for name in (*report.FILES, *benchmark.problems) if (out / name).exists()]
        if clash:  # --overwrite replaces a benchmark's own files, never another's
            raise ConfigError(
                f"{out / clash[0]} was not written by a benchmark; move it away "
                "(--overwrite removes only a benchmark's own files)"
            )
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ConfigError(f"cannot create {out}: {error.strerror or error}") from None
    outcome = Outcome(benchmark)
    with directory.lock(out):
        if overwrite and stored is not None:
            _remove(out, stored)
        with atomic_write(out / CONFIG, "w") as f:
            json.dump({"format": _FORMAT, **benchmark.to_dict()}, f, indent=1)
            f.write("\n")
        common = {"stop_after": stop_after, "jobs": jobs}
        for problem in benchmark.problems:
            if not _run_problem(
                benchmark, out / problem, problem, outcome, common, scheduler, overwrite, on_phase
            ):
                return outcome
        report.write(out, outcome)
    return outcome


def _run_problem(
    benchmark: Benchmark,
    folder: Path,
    problem: str,
    outcome: Outcome,
    common: dict[str, Any],
    scheduler: str | None,
    overwrite: bool,
    on_phase: Callable[[str, str, Setting], Reporter | None] | None,
) -> bool:
    """Tune, select and rerun on one problem; False if it stopped before the end."""
    for phase in ("tuning", "final"):
        if phase == "tuning":
            setting = benchmark.tuning(problem)
        else:
            outcome.selected[problem] = _selected(benchmark, outcome.tuning[problem])
            setting = benchmark.final(problem, outcome.selected[problem])
        reporter = on_phase(problem, phase, setting) if on_phase is not None else None
        path = folder / phase
        resume = (path / "results.json").is_file()
        results = run_experiment(
            setting,
            path,
            resume=resume,
            overwrite=overwrite and not resume,  # beside files not ours, once ours are gone
            reporter=reporter,
            scheduler=scheduler,
            figures=False,
            **common,
        )
        getattr(outcome, phase)[problem] = results
        if not results.complete:
            return False
    return True


def _selected(benchmark: Benchmark, tuning: Results) -> dict[str, dict[str, float]]:
    """Each optimizer's selected hyper-parameters, from the tuning's validation figures."""
    chosen = {}
    epochs = tuning.setting.epochs
    for index, name in enumerate(benchmark.optimizers):
        trials = tuning.trials_of(index)
        best = selection.select(
            [t.epochs for t in trials], benchmark.select, benchmark.target, epochs=epochs
        )
        chosen[name] = dict(trials[best].hyperparameters)
    return chosen


def _check(benchmark: Benchmark) -> None:
    """Build every trial's optimizer and each problem's data split: bad input fails
    here, before the directory is touched."""
    for problem in benchmark.problems:
        setting = benchmark.tuning(problem)
        for trial in setting.trials:
            trial.make()
        backend = resolve(setting.device, library=setting.library)
        train, _ = setting_data(setting, backend)
        split_validation(train, setting.validation)
    for name in benchmark.optimizers:
        optimizers.get(name, **benchmark.options.get(name, {}))


def _stored(out: Path) -> dict[str, Any] | None:
    """The benchmark ``out`` holds (its ``benchmark.json``), None if it holds none."""
    path = out / CONFIG
    if not path.is_file():
        return None
    try:
        d = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise DataError(f"{path} is not readable JSON: {error}") from None
    if not isinstance(d, dict) or d.pop("format", None) != _FORMAT:
        raise DataError(f"{path} is not an optimlab benchmark file; move it away")
    return d


def _remove(out: Path, stored: dict[str, Any]) -> None:
    """Remove the benchmark ``stored`` describes: its report and its experiments'
    own files (nothing else in ``out``)."""
    for name in (*report.FILES, CONFIG):
        (out / name).unlink(missing_ok=True)
    for problem in stored.get("problems", []):
        if not isinstance(problem, str) or problem not in problems.PROBLEMS:
            continue
        for phase in ("tuning", "final"):
            directory.remove_experiment(out / problem / phase)
        for name in report.FILES:  # a problem's figures, with several problems
            (out / problem / name).unlink(missing_ok=True)
        for folder in (out / problem,):
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
