"""``optimlab compare``, ``sweep`` and ``plot``: experiments and their figures."""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path
from typing import Any

from .. import optimizers, problems, schedules
from ..backend import resolve
from ..errors import ConfigError, OptimlabError
from ..experiment import (
    Setting,
    compare_setting,
    load_results,
    run_experiment,
    summarize,
    sweep_setting,
)
from ..experiment.executors import usable_cores
from ..experiment.settings import make_optimizer
from ..figures import draw_experiment, plot_results
from .display import ExperimentDisplay, print_table
from .parser import HYPERPARAMETERS, optimizer_options, setting_options

__all__ = ["compare_command", "plot_command", "sweep_command"]


def compare_command(args: argparse.Namespace) -> int:
    """The chosen optimizers side by side, one pass each."""
    unknown = [n for n in args.optimizers if n not in optimizers.OPTIMIZERS]
    if unknown or not args.optimizers:
        raise ConfigError(
            f"unknown optimizer {unknown[0] if unknown else '(none)'!r}: "
            f"choose from {', '.join(optimizers.OPTIMIZERS)}"
        )
    problem = problems.get(args.problem)
    overrides: dict[str, dict[str, float]] = {
        name: {} if problem.learning_rate(name) is None else {"lr": problem.learning_rate(name)}
        for name in args.optimizers
    }
    options = {name: optimizer_options(args) for name in args.optimizers}
    apply_sets(args.set, overrides, options, "compared")
    hyper = {
        name: make_optimizer(name, o, options[name]).hyperparameters
        for name, o in overrides.items()
    }
    setting = compare_setting(
        hyper,
        list(range(args.seeds)),
        one_pass=args.one_pass,
        options={name: _shown(o) for name, o in options.items()},
        **setting_options(args),
    )
    return _experiment(args, setting)


def sweep_command(args: argparse.Namespace) -> int:
    """One optimizer over learning rates x seeds."""
    fixed = {
        k: getattr(args, k) for k in HYPERPARAMETERS if k != "lr" and getattr(args, k) is not None
    }
    options = optimizer_options(args)
    for lr in args.lr:  # validate every combination before any training
        make_optimizer(args.optimizer, {**fixed, "lr": lr}, options)
    hyper = optimizers.get(args.optimizer, **fixed).hyperparameters
    setting = sweep_setting(
        args.optimizer,
        hyper,
        args.lr,
        list(range(args.seeds)),
        max_members=args.max_members,
        options=options,
        **setting_options(args),
    )
    return _experiment(args, setting)


def apply_sets(
    items: list[str],
    hyper: dict[str, dict[str, float]],
    options: dict[str, dict[str, Any]],
    verb: str,
) -> None:
    """Apply ``--set NAME.PARAM=VALUE`` items to each optimizer's hyper-parameters or
    options (both by name); a name not among those run (``hyper``'s) is refused."""
    given: dict[tuple[str, str], str] = {}
    for item in items:
        name, param, value = _parse_set(item)
        if (name, param) in given:  # the last would win silently
            raise ConfigError(
                f"--set {name}.{param} is given twice ({given[name, param]}, {item})"
            )
        given[name, param] = item
        if name not in optimizers.OPTIMIZERS:
            raise ConfigError(
                f"--set {item}: unknown optimizer {name!r}: choose from "
                f"{', '.join(optimizers.OPTIMIZERS)}"
            )
        if name not in hyper:
            raise ConfigError(
                f"--set {item}: {name} is not among the optimizers {verb} ({', '.join(hyper)})"
            )
        declared = optimizers.OPTIMIZERS[name].declared.get(param)
        if param in optimizers.OPTIONS:
            options[name][param] = _option(item, param, value)
        elif declared is not None and declared.type is bool:  # a switch: true/false, 1/0
            hyper[name][param] = _switch(item, param, value)
        else:
            hyper[name][param] = _number(item, value)


def plot_command(args: argparse.Namespace) -> int:
    """Draw a results file's figures again."""
    _refuse_benchmark_summary(Path(args.results))
    results = load_results(args.results)
    if results.setting.evaluate == "validation":  # a benchmark's tuning: no test figures
        final = Path(args.results).parent.parent / "final" / "results.json"
        raise ConfigError(
            f"{args.results} holds a benchmark's tuning trials, evaluated on the validation "
            f"split only, so it has no test curves to draw: plot the final runs, {final}"
        )
    out = Path(args.out) if args.out else Path(args.results).parent
    if not out.is_dir():
        raise ConfigError(f"cannot draw into {out}: it is not a directory")
    for path in plot_results(results, out):
        print(f"drew {path}")
    return 0


def _refuse_benchmark_summary(path: Path) -> None:
    """A benchmark's own results.json (format ``optimlab.benchmark-results``) holds the
    table, not curves: name the per-problem files ``plot`` draws instead."""
    try:
        with open(path, encoding="utf-8") as f:
            found = json.load(f)
    except (OSError, ValueError):
        return  # load_results says what is wrong with it
    if isinstance(found, dict) and found.get("format") == "optimlab.benchmark-results":
        finals = sorted(  # one per study; before studies, one per problem
            str(p)
            for pattern in ("*/study-*/final/results.json", "*/final/results.json")
            for p in path.parent.glob(pattern)
        )
        raise ConfigError(
            f"{path} is a benchmark's summary, not curves: plot its final runs"
            + (f", {' or '.join(finals)}" if finals else " (report/study-0/final/results.json)")
        )


def _experiment(args: argparse.Namespace, setting: Setting) -> int:
    """Run ``setting`` with a live display; print the table; 1 if a pass failed."""
    if args.scheduler is not None and args.jobs is not None:
        raise ConfigError(
            "--jobs and --scheduler exclude each other: with --scheduler the cluster's "
            "workers run the passes (local:N starts N of them)"
        )
    # a missing GPU or library is reported before the directory is touched
    resolve(setting.device, library=setting.library)
    jobs = usable_cores() if args.jobs is None else args.jobs
    parallel = args.scheduler is not None or min(jobs, len(setting.passes)) > 1
    display = ExperimentDisplay(args.quiet, setting, parallel=parallel)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # statuses are in the table
            results = run_experiment(
                setting,
                args.out,
                resume=args.resume,
                overwrite=args.overwrite,
                reporter=display,
                jobs=jobs,
                scheduler=args.scheduler,
            )
            if results.complete:  # drawn from results.json and the models just saved
                draw_experiment(results, args.out)
    except KeyboardInterrupt:
        display.close()
        print(f"optimlab {args.command}: interrupted; {_saved(Path(args.out))}", file=sys.stderr)
        return 130
    display.close()
    print_table(summarize(results), results)
    print(f"results, figures and models in {args.out}")
    failed = [i for i, p in enumerate(results.passes) if not p.complete]
    if failed:
        print(
            f"optimlab {args.command}: {len(failed)} pass(es) failed (see above and "
            f"results.json); run the same command with --resume to run them again",
            file=sys.stderr,
        )
        return 1
    if all(t.diverged for t in results.trials):
        print(
            f"optimlab {args.command}: every run diverged (see the table); "
            "try smaller learning rates",
            file=sys.stderr,
        )
        return 1
    return 0


def _saved(out: Path) -> str:
    """What an interrupted experiment left, and what to run next."""
    try:
        results = load_results(out / "results.json")
    except OptimlabError:
        results = None
    if results is None or not any(t.epochs for t in results.trials):
        return "no epoch was complete, so nothing is saved: run the same command to start again"
    return (
        f"the epochs completed are saved in {out}: run the same command with --resume to continue"
    )


def _parse_set(item: str) -> tuple[str, str, str]:
    key, equals, value = item.partition("=")
    name, dot, param = key.partition(".")
    if not equals or not dot or not name or not param:
        raise ConfigError(f"--set takes NAME.PARAM=VALUE such as adam.lr=0.001, not {item!r}")
    return name.strip().lower(), param.strip(), value.strip()


def _number(item: str, value: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise ConfigError(f"--set {item}: {value!r} is not a number") from None


def _switch(item: str, param: str, value: str) -> bool:
    words = {"true": True, "1": True, "1.0": True, "false": False, "0": False, "0.0": False}
    if value.lower() not in words:
        raise ConfigError(f"--set {item}: {param} is true or false, not {value!r}")
    return words[value.lower()]


def _option(item: str, param: str, value: str) -> Any:
    """The value of ``--set NAME.<option>=VALUE``, checked as its own option is."""
    if param in ("decay_biases", "flush_subnormals"):
        if value.lower() not in ("true", "false"):
            raise ConfigError(f"--set {item}: {param} is true or false, not {value!r}")
        return value.lower() == "true"
    if param == "clip_norm":
        return _number(item, value)
    schedules.check(value, option=f"--set {item}")
    return value


def _shown(options: dict[str, Any]) -> dict[str, Any]:
    """The options that are not their defaults (``decay_biases=true`` is the default)."""
    return {k: v for k, v in options.items() if v != optimizers.OPTIONS[k]}
