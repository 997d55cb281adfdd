"""The benchmark protocol: tune every optimizer with the same budget on a validation
split, select, rerun the selected settings with fresh seeds, and report.

A benchmark lives in one directory: ``benchmark.json`` (what was asked, checked on
``--resume``), per problem and study the two experiments
``<problem>/study-<s>/tuning`` and ``<problem>/study-<s>/final`` (ordinary
experiments: checkpointed after every epoch, resumed exactly; one per study because a
study's validation split is its own, and the members of a pass share one training
set), and the report written once all are complete (:mod:`.report`). A benchmark
written before studies (``<problem>/tuning``, no ``studies`` in ``benchmark.json``)
is not continued: ``--overwrite`` replaces it.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .. import problems
from .._checks import positive_int
from .._files import atomic_write
from ..backend import resolve
from ..errors import ConfigError, DataError, OptimlabError
from ..experiment import Reporter, Results, Setting, cluster, directory, run_experiment
from ..experiment.resume import require_same_setting
from ..experiment.runner import check_fits
from ..experiment.settings import check_memory, make_optimizer
from . import report, selection
from .plan import MAX_STUDIES, Benchmark, Outcome

__all__ = ["experiment_path", "run_benchmark", "saved_epochs"]

CONFIG = "benchmark.json"
_FORMAT = "optimlab.benchmark"
PHASES = ("tuning", "final")


def experiment_path(problem: str, study: int, phase: str) -> str:
    """Where, inside a benchmark's directory, ``phase`` of ``study`` on ``problem`` lies."""
    return f"{problem}/study-{study}/{phase}"


def run_benchmark(
    benchmark: Benchmark,
    out: str | os.PathLike[str],
    *,
    resume: bool = False,
    overwrite: bool = False,
    stop_after: Callable[[int, int], bool] | None = None,
    jobs: int | None = None,
    scheduler: str | None = None,
    on_phase: Callable[[str, int, str, Setting], Reporter | None] | None = None,
) -> Outcome:
    """Run (or continue) ``benchmark`` in directory ``out``; write its report when done.

    ``jobs``, ``scheduler`` and ``stop_after`` are
    :func:`~optimlab.experiment.run_experiment`'s, for each of its experiments
    (``jobs=None``: one worker per usable core); ``on_phase(problem, study, phase,
    setting)`` is told when the tuning or the final runs of a study on a problem start,
    and may return the :class:`~optimlab.experiment.Reporter` of that experiment. The
    studies run one after the other, each tuned, selected and rerun before the next.

    Everything that can be checked — the optimizers, every trial's hyper-parameters,
    the data, the split and the network, the memory of the tuning and final passes,
    the scheduler, the directory — is checked before ``out`` is touched. ``out`` keeps
    the contract of :class:`~optimlab.experiment.directory.OutputDirectory`: it holds
    one benchmark (kind ``benchmark`` in its manifest, which lists the report's files
    and the experiments' directories); ``overwrite`` removes only those, after
    checking that it can; a benchmark with no complete epoch is replaced without it.

    Raises
    ------
    ConfigError
        Bad input (among it selection by validation accuracy or a target accuracy on a
        problem without accuracy), a directory that holds something else, or
        (``resume``) a benchmark there that was asked with other arguments or written
        before studies.
    """
    if jobs is not None:
        positive_int("jobs", jobs)
    selection.check_loss_only(benchmark.problems, benchmark.select, benchmark.target)
    folder = directory.OutputDirectory(out, "benchmark", resume=resume, overwrite=overwrite)
    out = folder.path
    _check(benchmark, scheduler)
    stored = _stored(out)
    started = stored is not None and _started(out, stored)
    if resume:
        if stored is None:
            raise ConfigError(f"there is no benchmark to resume in {out} (no {CONFIG})")
        if "studies" not in stored:
            raise ConfigError(
                f"the benchmark in {out} was written before benchmarks had studies, and "
                "this version cannot continue it: pass --overwrite to replace it, or finish "
                "it with the optimlab version that started it"
            )
        require_same_setting(
            stored,
            json.loads(json.dumps(benchmark.to_dict())),
            f"the benchmark in {out}",
            "run the same command to resume it, or pass --overwrite to replace it",
        )
    elif started and not overwrite:
        raise ConfigError(
            f"{out} already holds a benchmark; pass --resume to continue it or "
            "--overwrite to replace it"
        )
    old = [] if stored is None or resume else _old_files(out, stored)
    if stored is None and out.is_dir():  # a benchmark's own files, never another's
        folder.check_beside(_files(benchmark)[0], folders=benchmark.problems)
    folder.check_removable(old)
    for path in _files(benchmark)[1]:  # its experiments' directories hold no other kind
        directory.OutputDirectory(out / path, _kind(path))
    outcome = Outcome(benchmark)
    with folder.locked():  # what was checked, checked again: another process may have run
        if _stored(out) != stored or (stored is not None and _started(out, stored) != started):
            raise ConfigError(
                f"another optimlab process wrote into {out} while this benchmark was being "
                "checked; run the command again"
            )
        if old:  # --overwrite, or a benchmark with no complete epoch: replaced
            _remove(out, stored or {})
        files, experiments = _files(benchmark)
        folder.write_manifest(files, experiments=experiments)
        with atomic_write(out / CONFIG, "w") as f:
            json.dump({"format": _FORMAT, **benchmark.to_dict()}, f, indent=1)
            f.write("\n")
        common = {"stop_after": stop_after, "jobs": jobs}
        for problem in benchmark.problems:
            if not _run_problem(
                benchmark, out, problem, outcome, common, scheduler, bool(old), on_phase
            ):
                return outcome
        report.write(out, outcome)
    return outcome


def _run_problem(
    benchmark: Benchmark,
    out: Path,
    problem: str,
    outcome: Outcome,
    common: dict[str, Any],
    scheduler: str | None,
    overwrite: bool,
    on_phase: Callable[[str, int, str, Setting], Reporter | None] | None,
) -> bool:
    """Tune, select and rerun on one problem, study after study; False if it stopped
    before the end."""
    for name in ("tuning", "final", "selected"):
        getattr(outcome, name)[problem] = []
    for study in range(benchmark.studies):
        for phase in PHASES:
            if phase == "tuning":
                setting = benchmark.tuning(problem, study)
            else:
                chosen = _selected(benchmark, outcome.tuning[problem][study])
                outcome.selected[problem].append(chosen)
                setting = benchmark.final(problem, chosen, study)
            reporter = on_phase(problem, study, phase, setting) if on_phase is not None else None
            path = out / experiment_path(problem, study, phase)
            resume = (path / "results.json").is_file()
            results = run_experiment(
                setting,
                path,
                resume=resume,
                overwrite=overwrite and not resume,  # beside files not ours, once ours are gone
                reporter=reporter,
                scheduler=scheduler,
                **common,
            )
            getattr(outcome, phase)[problem].append(results)
            if not results.complete:
                return False
    return True


def _selected(benchmark: Benchmark, tuning: Results) -> dict[str, dict[str, float]]:
    """Each method's selected hyper-parameters (by its label), from the tuning's
    validation figures."""
    chosen = {}
    epochs = tuning.setting.epochs
    for index, method in enumerate(benchmark.methods):
        trials = tuning.trials_of(index)
        best = selection.select(
            [t.epochs for t in trials], benchmark.select, benchmark.target, epochs=epochs
        )
        chosen[method.label] = dict(trials[best].hyperparameters)
    return chosen


def _check(benchmark: Benchmark, scheduler: str | None) -> None:
    """Build every trial's optimizer, each problem's data split and one network of it,
    and check that the tuning and the final passes fit in memory and that the scheduler
    answers: bad input fails here, before the directory is touched."""
    for problem in benchmark.problems:
        setting = benchmark.tuning(problem)
        # the final runs train the seeds as the members of one pass
        check_memory(setting.layers, benchmark.seeds, setting.dtype, setting.device)
        for study in range(benchmark.studies):  # a random search draws per study
            for trial in benchmark.tuning(problem, study).trials:
                trial.make()
        backend = resolve(setting.device, library=setting.library)
        train, test = setting.problem.load_data(setting, backend)
        check_fits(setting, backend, train, test)  # the split's size: the same in every study
    for method in benchmark.methods:
        make_optimizer(method.optimizer, {}, method.options, 1, None)  # a schedule's text
    if scheduler is not None:
        cluster.check(scheduler)


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


def _files(benchmark: Benchmark) -> tuple[list[str], list[str]]:
    """The files ``benchmark`` writes (its report's, and ``benchmark.json``) and the
    directories of its experiments (each with its own manifest)."""
    files = [CONFIG, *report.FILES]
    if len(benchmark.problems) > 1:  # each problem's figures in its folder
        files += [f"{p}/{name}" for p in benchmark.problems for name in report.FILES]
    experiments = [
        experiment_path(p, study, phase)
        for p in benchmark.problems
        for study in range(benchmark.studies)
        for phase in PHASES
    ]
    return files, experiments


def _kind(path: str) -> str:
    """The kind of the experiment at ``path`` (``.../tuning`` or ``.../final``)."""
    return f"benchmark-{path.rpartition('/')[2]}"


def _experiments(out: Path, stored: dict[str, Any]) -> list[str]:
    """The directories of the experiments of the benchmark in ``out``: its manifest's,
    else those of the problems and studies ``benchmark.json`` names (one study in
    ``<problem>/tuning`` and ``/final`` where it names none: written before studies)."""
    manifest = directory.OutputDirectory(out, "benchmark")
    listed = manifest.listed("experiments")
    if listed is not None:
        return listed
    names = [p for p in stored.get("problems", []) if isinstance(p, str) and p in problems.PROBLEMS]
    studies = stored.get("studies")
    if studies is None:
        return [f"{p}/{phase}" for p in names for phase in PHASES]
    count = studies if isinstance(studies, int) and 0 < studies <= MAX_STUDIES else 0
    return [experiment_path(p, s, phase) for p in names for s in range(count) for phase in PHASES]


def _old_files(out: Path, stored: dict[str, Any]) -> list[str]:
    """Every file of the benchmark in ``out`` that replacing it removes."""
    folder = directory.OutputDirectory(out, "benchmark")
    old = set(folder.own_files()) or set(_files_of(stored))
    for path in _experiments(out, stored):
        phase = directory.OutputDirectory(out / path, _kind(path))
        names = phase.own_files() | {"results.json", "results.csv", directory.MANIFEST}
        old |= {f"{path}/{name}" for name in names}
    return sorted(name for name in old if (out / name).exists())


def _files_of(stored: dict[str, Any]) -> list[str]:
    """The report's files of a benchmark written before manifests."""
    names = [p for p in stored.get("problems", []) if isinstance(p, str) and p in problems.PROBLEMS]
    return [*report.FILES, *(f"{p}/{name}" for p in names for name in report.FILES)]


def _started(out: Path, stored: dict[str, Any]) -> bool:
    """Whether the benchmark in ``out`` has a complete epoch (else nothing is lost by
    running it again from the start)."""
    return any(directory.started_experiment(out / path) for path in _experiments(out, stored))


def saved_epochs(out: str | os.PathLike[str]) -> bool:
    """Whether ``out`` holds a benchmark with a complete epoch: one that ``--resume``
    continues (one without is replaced by the same command run again)."""
    try:
        stored = _stored(Path(out))
        return stored is not None and _started(Path(out), stored)
    except OptimlabError:
        return False


def _remove(out: Path, stored: dict[str, Any]) -> None:
    """Remove the benchmark in ``out``: its report and its experiments' own files
    (nothing else in ``out``); ``benchmark.json`` is replaced, never removed first."""
    folder = directory.OutputDirectory(out, "benchmark")
    experiments = _experiments(out, stored)
    folder.remove((folder.own_files() or set(_files_of(stored))) - {CONFIG})
    for path in experiments:
        directory.remove_experiment(out / path, _kind(path))
    parents = {parent for path in experiments for parent in Path(path).parents}
    for parent in sorted(parents - {Path(".")}, key=lambda p: len(p.parts), reverse=True):
        with contextlib.suppress(OSError):  # left where it holds files not ours
            (out / parent).rmdir()
