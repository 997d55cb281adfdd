"""Running an experiment: its passes on an executor, every result saved as it arrives."""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .. import datasets, schedules
from .._checks import positive_int
from ..backend import Backend, resolve
from ..errors import ConfigError, OptimlabError
from ..train import History
from ..train.evaluation import check_data
from . import directory, executors
from .data import split_validation
from .passes import PassRecord, PassTask
from .provenance import Environment
from .reporter import Reporter
from .results import DataInfo, Results, load_results
from .resume import require_same_data, require_same_setting
from .settings import Setting, check_memory

__all__ = ["check_fits", "run_experiment"]


def run_experiment(
    setting: Setting,
    out: str | os.PathLike[str],
    *,
    resume: bool = False,
    overwrite: bool = False,
    reporter: Reporter | None = None,
    stop_after: Callable[[int, int], bool] | None = None,
    jobs: int | None = 1,
    scheduler: str | None = None,
) -> Results:
    """Run (or continue) ``setting``, writing its results and models into the directory
    ``out``.

    It draws no figure: once ``results.complete``, draw them from what it saved with
    ``optimlab.figures.draw_experiment(results, out)`` (as ``optimlab compare`` and
    ``sweep`` do).

    Parameters
    ----------
    resume
        Continue the experiment already in ``out`` from the last complete epoch of
        each pass; the setting must be the same.
    overwrite
        Replace an experiment already in ``out``. Without ``resume`` or ``overwrite``,
        a directory that holds anything is refused.
    stop_after
        ``stop_after(pass_index, epoch)`` returning True stops the experiment after that
        epoch has been saved, as an interruption would (for tests and time limits).
    jobs
        Worker processes on this machine: 1 (default) runs the passes one after the
        other in this process, None one per usable core. Every number gives the same
        figures.
    scheduler
        Run the passes as tasks on a Dask cluster instead: a scheduler address
        (``tcp://host:8786``), or ``local:N`` for N Dask worker processes on this
        machine (see :mod:`optimlab.experiment.cluster`).

    Returns
    -------
    Results
        What ``results.json`` holds. A pass that raised (here, in a worker process or
        on Dask) is recorded with its error and the others go on; ``results.complete``
        tells.
    """
    reporter = reporter or Reporter()
    if jobs is not None:
        positive_int("jobs", jobs)
    # Everything that can be checked is checked before the directory is touched.
    folder = directory.OutputDirectory(
        out, directory.kind_of(setting), resume=resume, overwrite=overwrite
    )
    out = folder.path
    backend = resolve(setting.device, library=setting.library)
    train, test = setting.problem.load_data(setting, backend)
    check_fits(setting, backend, train, test)
    files = setting.problem.data_files(setting.data)
    if scheduler is not None:
        from .cluster import check

        check(scheduler)
    if resume and not (out / "results.json").is_file():
        raise ConfigError(f"there is nothing to resume in {out} (no results.json)")
    with folder.locked():
        resuming = folder.prepare(setting)
        results = _open(out, setting, backend, train, test, files, resuming)
        tasks = [
            _task(out, setting, results, i, files)
            for i, p in enumerate(results.passes)
            if not p.complete
        ]
        journal = _Journal(out, setting, results, reporter, stop_after)
        try:
            _run(executors.choose(jobs, scheduler, len(tasks)), tasks, journal, (train, test))
        except _Stop:
            return results
        if results.complete:
            _finish(out, results)
    return results


def check_fits(
    setting: Setting, backend: Backend, train: datasets.Dataset, test: datasets.Dataset
) -> None:
    """A :class:`ConfigError` unless the data fits the setting's network (a one-member
    network of the setting, checked as training would check it).

    The hyper-parameters are the caller's to check (the command line builds every
    optimizer first); one that cannot be built fails its pass alone, as on a worker.
    A schedule's durations are checked here against the real training set's steps.
    """
    members = max(len(trials) for trials in setting.passes)
    check_memory(setting.layers, members, setting.dtype, setting.device)
    model = setting.problem.make_model(setting, [setting.trials[0].seed], backend)
    setting.problem.check(setting, train)
    check_data(model, train, "the training set")
    check_data(model, test, "the test set")
    if setting.validation is not None:
        split_validation(train, setting.validation, setting.split_seed)
    per_epoch = math.ceil((train.n - (setting.validation or 0)) / setting.batch_size)
    for text in {t.options["schedule"] for t in setting.trials if "schedule" in t.options}:
        schedules.parse(text, steps_per_epoch=per_epoch, total_steps=per_epoch * setting.epochs)


class _Stop(Exception):
    """Raised by ``stop_after`` to end the experiment after a saved epoch."""


def _run(
    executor: executors.Executor,
    tasks: list[PassTask],
    journal: _Journal,
    data: tuple[datasets.Dataset, datasets.Dataset],
) -> None:
    """Run ``tasks`` on ``executor``. In this process (:class:`executors.Serial`) a pass
    that raises (a plugin's step, say) fails alone, as it does in a worker process: its
    error is recorded and reported, and the next pass runs. An error of the journal
    itself (a stop, an interruption), the user's input refused by a pass (an
    :class:`OptimlabError`, such as another run's checkpoint), a file the system refuses
    to write (a full disk) and a lack of memory end the experiment."""
    if not isinstance(executor, executors.Serial):
        executor.run(tasks, journal, data)
        return
    for task in tasks:
        guard = _Guard(journal)
        try:
            executor.run([task], guard, data)
        except (OptimlabError, OSError, MemoryError):
            raise  # the input, the disk, the memory: said in one sentence by the caller
        except Exception as error:
            if error is not guard.raised:
                journal.pass_failed(task.index, error)
                continue
            raise


class _Guard:
    """A listener that passes every call on to ``listener`` and remembers what it raised."""

    def __init__(self, listener: Any) -> None:
        self.listener = listener
        self.raised: BaseException | None = None

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.listener, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            try:
                return method(*args, **kwargs)
            except BaseException as error:
                self.raised = error
                raise

        return call


def _open(
    out: Path,
    setting: Setting,
    backend: Backend,
    train: datasets.Dataset,
    test: datasets.Dataset,
    files: dict[str, str],
    resume: bool,
) -> Results:
    """The results so far (resuming), or new ones, saved at once."""
    if resume:
        results = load_results(out / "results.json")
        remedy = "run the same command to resume it, or pass --overwrite to replace it"
        require_same_setting(
            results.setting.to_dict(), setting.to_dict(), f"the experiment in {out}", remedy
        )
        require_same_data(
            results.data.files,
            files,
            f"the experiment in {out}",
            "pass --overwrite to start it again on this data, or restore the files it used",
        )
        return results
    data = DataInfo(train.name or "idx", train.n - (setting.validation or 0), test.n, files)
    results = Results.start(setting, data, Environment.collect(backend))
    directory.save_results(out, results)
    return results


def _task(
    out: Path, setting: Setting, results: Results, index: int, files: dict[str, str]
) -> PassTask:
    """Pass ``index`` as a task: checkpointed into its own file, continued from it."""
    path = directory.checkpoint_file(out, index)
    resume_from = path if path.exists() else directory.legacy_checkpoint(out, index)
    return PassTask(
        setting,
        index,
        checkpoint=str(path),
        resume_from=None if resume_from is None else str(resume_from),
        seconds_so_far=results.passes[index].seconds,
        data_files=files,
    )


class _Journal:
    """The executor's listener: saves every piece of news, then tells the reporter."""

    def __init__(
        self,
        out: Path,
        setting: Setting,
        results: Results,
        reporter: Reporter,
        stop_after: Callable[[int, int], bool] | None,
    ) -> None:
        self.out, self.setting, self.results = out, setting, results
        self.reporter, self.stop_after = reporter, stop_after

    def progress(self, done: int, total: int) -> None:
        self.reporter.progress(done, total)

    def pass_started(self, index: int, resumed_at: int) -> None:
        self.reporter.pass_started(index, self.setting.passes[index], resumed_at)

    def epoch_done(self, index: int, epoch: int, seconds: float, histories: list[History]) -> None:
        self.results.passes[index].seconds = seconds
        self.results.record(index, histories)
        directory.save_results(self.out, self.results)
        last = [
            (trial, h.epochs[-1])
            for trial, h in zip(self.setting.passes[index], histories)
            if h.epochs and h.epochs[-1].epoch == epoch
        ]
        self.reporter.epoch_done(index, epoch, last)
        if self.stop_after is not None and self.stop_after(index, epoch):
            raise _Stop

    def pass_done(self, record: PassRecord) -> None:
        index = record.index
        passed = self.results.passes[index]
        passed.seconds, passed.complete, passed.error = record.seconds, True, None
        self.results.record(index, record.histories)
        if not all(t.diverged for t in self.results.trials_of(index)):
            # a pass whose every member diverged trained nothing: no model is saved
            directory.save_model(self.out, self.setting, record)
        directory.save_results(self.out, self.results)
        directory.remove_checkpoints(self.out, index)
        self.reporter.pass_done(index, record.seconds)

    def pass_failed(self, index: int, error: BaseException) -> None:
        self.results.passes[index].error = f"{type(error).__name__}: {error}"
        directory.save_results(self.out, self.results)
        self.reporter.pass_failed(index, self.setting.passes[index], error)


def _finish(out: Path, results: Results) -> None:
    """Every pass is done: the total time saved, the empty checkpoints folder gone."""
    results.wall_seconds = sum(p.seconds for p in results.passes)
    directory.save_results(out, results)
    _drop_empty(out)


def _drop_empty(out: Path) -> None:
    with_checkpoints = out / "checkpoints"
    if with_checkpoints.is_dir() and not any(with_checkpoints.iterdir()):
        with_checkpoints.rmdir()
