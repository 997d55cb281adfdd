"""``optimlab benchmark``: every optimizer tuned with the same budget, then compared."""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path
from typing import Any

from .. import problems
from ..backend import resolve
from ..benchmark import Benchmark, format_table, rows, run_benchmark, selection
from ..benchmark.protocol import saved_epochs
from ..errors import ConfigError
from ..experiment import Setting, Trial
from ..experiment.executors import usable_cores
from ..experiment.summary import has_accuracy
from ..train import EpochRecord
from .display import ExperimentDisplay, mean_std
from .parser import BUDGET, EPOCHS, optimizer_options, setting_options

__all__ = ["benchmark_command"]


def _benchmark(
    args: argparse.Namespace, setting: dict[str, Any], options: dict[str, Any]
) -> Benchmark:
    if args.search == "grid" and args.trials is not None:
        raise ConfigError("--trials is the budget of --search random; a grid takes --grid N")
    if args.search == "random" and args.grid is not None:
        raise ConfigError("--grid is the budget of --search grid; a random search takes --trials N")
    if args.search == "grid" and args.search_seed is not None:
        raise ConfigError("--search-seed seeds --search random; a grid search draws nothing")
    if args.validation is not None and not any(problems.get(p).has_accuracy for p in args.problems):
        raise ConfigError(
            f"--validation does not apply to {args.problems[0]}: a loss-only problem holds "
            "out its own validation samples"
        )
    if args.schedules and "schedule" in options:
        raise ConfigError(
            "--schedule and --schedules exclude each other: name every schedule in --schedules"
        )
    budget = (args.grid if args.search == "grid" else args.trials) or BUDGET
    return Benchmark(
        tuple(args.optimizers),
        search=args.search,
        budget=budget,
        seeds=args.seeds,
        validation=args.validation,
        select=args.select,
        target=args.target,
        problems=tuple(args.problems),
        search_seed=args.search_seed or 0,
        studies=args.studies,
        study_seed=args.study_seed,
        schedules=tuple(args.schedules or ()),
        options={name: dict(options) for name in args.optimizers} if options else {},
        setting=setting,
    )


def benchmark_command(args: argparse.Namespace) -> int:
    """Run the benchmark with a live display; print its table; 1 if a pass failed."""
    if args.scheduler is not None and args.jobs is not None:
        raise ConfigError("--jobs and --scheduler exclude each other")
    # what the command line says; the rest is each problem's
    setting = {k: v for k, v in setting_options(args).items() if v is not None}
    setting["epochs"] = args.epochs or EPOCHS
    benchmark = _benchmark(args, setting, optimizer_options(args))
    selection.check_loss_only(benchmark.problems, benchmark.select, benchmark.target)
    resolve(args.device, library=args.backend)  # before the directory is touched
    jobs = usable_cores() if args.jobs is None else args.jobs
    parallel = args.scheduler is not None or jobs > 1
    displays: list[_Display] = []

    def on_phase(problem: str, study: int, phase: str, experiment: Setting) -> _Display:
        if displays:
            displays[-1].close()
        if not args.quiet:
            trials = len(experiment.passes[0])
            what = "tuning trials" if phase == "tuning" else "final runs (seeds)"
            print(
                f"{problem}/study-{study} (of {benchmark.studies}): {phase} — "
                f"{len(experiment.passes)} {'method' if benchmark.schedules else 'optimizer'}(s) "
                f"x {trials} {what}, "
                f"{experiment.epochs} epoch(s) each",
                file=sys.stderr,
            )
        displays.append(_Display(args.quiet, experiment, parallel=parallel))
        return displays[-1]

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # statuses are in the table
            outcome = run_benchmark(
                benchmark,
                args.out,
                resume=args.resume,
                overwrite=args.overwrite,
                jobs=jobs,
                scheduler=args.scheduler,
                on_phase=on_phase,
            )
    except KeyboardInterrupt:
        saved = (
            f"the epochs completed are saved in {args.out}: run the same command with "
            "--resume to continue"
            if saved_epochs(args.out)
            else "no epoch was complete, so nothing is saved: run the same command to start again"
        )
        print(f"optimlab benchmark: interrupted; {saved}", file=sys.stderr)
        return 130
    finally:
        if displays:
            displays[-1].close()
    failed = outcome.failed()
    if failed or not outcome.complete:
        print(
            f"optimlab benchmark: {len(failed)} pass(es) failed ({'; '.join(failed)}); "
            "run the same command with --resume to run them again",
            file=sys.stderr,
        )
        return 1
    table = rows(outcome)
    print(format_table(table))
    print(f"report, results and figures in {Path(args.out)} (report.md)")
    if all(row.diverged and not row.n for row in table):
        print(
            "optimlab benchmark: every final run diverged (see the table); "
            "try smaller learning rates",
            file=sys.stderr,
        )
        return 1
    return 0


class _Display(ExperimentDisplay):
    """One line per pass and epoch: the best validation accuracy of the tuning trials,
    or the final runs' validation and test accuracy over the seeds; for a loss-only
    problem the lowest validation loss, or the validation and test loss."""

    def pass_started(self, index: int, trials: list[Trial], resumed_at: int) -> None:
        resumed = f", resuming after epoch {resumed_at}" if resumed_at else ""
        self.bar.line(f"  {_name(trials[0])}: {len(trials)} members{resumed}")

    def pass_done(self, index: int, seconds: float) -> None:
        self.bar.line(f"  {_name(self.setting.passes[index][0])} done in {seconds:.1f} s")

    def epoch_done(self, index: int, epoch: int, records: list[tuple[Trial, EpochRecord]]) -> None:
        if not records:
            return
        name = _name(records[0][0])
        shown = _figures(self.setting, [r for _, r in records], has_accuracy(self.setting))
        self.bar.line(
            f"  {name:<10} epoch {epoch:3d}/{self.setting.epochs}  {shown}  "
            f"{records[0][1].seconds:6.2f} s"
        )


def _name(trial: Trial) -> str:
    """A pass's name on the display: its optimizer, ``+schedule`` where it has one."""
    schedule = trial.options.get("schedule")
    return f"{trial.optimizer}+{schedule}" if isinstance(schedule, str) else trial.optimizer


def _figures(setting: Setting, records: list[EpochRecord], accuracy: bool) -> str:
    """The epoch's validation (and test) figures of a pass's trials: accuracies, or
    losses for a loss-only problem."""
    kind = "accuracy" if accuracy else "loss"
    validation = [getattr(r, f"validation_{kind}") for r in records]
    if setting.evaluate == "validation":
        finite = [v for v in validation if v == v]
        if not finite:
            return "diverged"
        if accuracy:
            return f"best validation accuracy {100 * max(finite):.2f}%"
        return f"lowest validation loss {min(finite):.4f}"
    test = [getattr(r, f"test_{kind}") for r in records]
    if accuracy:
        return f"validation {mean_std(validation, 100, '.2f')}%  test {mean_std(test, 100, '.2f')}%"
    return f"validation loss {mean_std(validation, 1, '.4f')}  test loss {mean_std(test, 1, '.4f')}"
