"""A finished benchmark's table and files: results.json and .csv, figures, report.md.

Per optimizer and problem: the hyper-parameters each study selected; test accuracy
and loss of the final runs of every study pooled (mean ± sample std over the runs, and
the mean's 95% bootstrap interval, resampling studies then seeds); the time to the
target (:func:`target`: ``--target``, else the problem's own
:attr:`~optimlab.problems.Problem.target`, else relative to the best optimizer), the
median over the runs of the first evaluation whose *validation* figure reaches it, in
optimizer steps and in training seconds, and in epochs for older readers; the plateau
(the share of a study's tuning trials within 0.5 points of the optimizer's best
validation accuracy there, averaged over studies); the expected best
validation accuracy after k tuning trials of a study, averaged over studies
(``expected_best_validation``); the rank by mean test accuracy
(a run that diverged ranks last, a diverged seed is left out of the mean and
counted), its 95% bootstrap interval, and Welch's test against the best row,
Holm-adjusted (:mod:`.statistics`); and, with several problems, the
performance-profile score.

A loss-only problem (a noisy function: no accuracy, see
:func:`optimlab.experiment.summary.has_accuracy`) goes by the loss instead: its rank
by mean test loss, its target a validation loss (reached by one at most that; without
a target of its own, the best optimizer's mean final validation loss plus 10% of its
absolute value), its
plateau the share of trials within 10% of the best final validation loss; its
accuracy is "—" in the tables, left out of them when no problem has one, and it
gets no ``accuracy.png``.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .. import problems as _problems
from .._files import atomic_write
from ..experiment.results import PassResult, Results
from ..experiment.settings import hyperparameters_json
from ..experiment.summary import has_accuracy
from ..figures import (
    plot_expected_best,
    plot_final_curves,
    plot_profile,
    plot_tuning_sensitivity,
)
from . import selection, spaces, statistics
from .plan import Outcome

__all__ = [
    "FILES",
    "TAUS",
    "Row",
    "format_table",
    "markdown_table",
    "rows",
    "target",
    "target_source",
    "write",
]

#: The files of a benchmark's report (besides its experiments' directories).
FILES = (
    "results.json",
    "results.csv",
    "report.md",
    "sensitivity.png",
    "tuning.png",
    "accuracy.png",
    "loss.png",
    "profile.png",
)
#: The τ at which the performance profile is evaluated: 1 to 4.
TAUS = tuple(float(t) for t in np.linspace(1.0, 4.0, 301))


@dataclass(frozen=True)
class Row:
    """One method (an optimizer, or with ``--schedules`` an optimizer with a schedule)
    on one problem (see the module's docstring)."""

    problem: str
    #: The optimizer's registered name.
    optimizer: str
    #: The hyper-parameters each study selected, in study order.
    selected: tuple[dict[str, float], ...]
    #: The tuned ones as text: ``lr=0.01`` where every study agrees, else each study's
    #: value in study order, ``lr=0.01/0.0316/0.01``.
    tuned: str
    accuracy_mean: float
    accuracy_std: float
    loss_mean: float
    loss_std: float
    #: The median over the final runs of the epoch of the first evaluation that reaches
    #: the target (``inf``: never); kept for readers of older files.
    epochs_to_target: float
    #: The share of a study's tuning trials within 0.5 points (a loss: 10%) of its
    #: best, averaged over studies.
    plateau: float
    #: The final runs that diverged, in all studies.
    diverged: int
    #: In a study, the selected learning rate is the smallest or the largest of the
    #: trials': the best one may lie outside the search range.
    edge: bool = False
    rank: int = 0
    score: float | None = None
    #: The studies whose final runs the figures pool.
    studies: int = 1
    #: The final runs the figures pool (every study's; the diverged left out).
    n: int = 0
    #: 95% hierarchical-bootstrap intervals of the mean test figures (:mod:`.statistics`).
    accuracy_ci95: tuple[float, float] = (math.nan, math.nan)
    loss_ci95: tuple[float, float] = (math.nan, math.nan)
    rank_ci95: tuple[float, float] = (math.nan, math.nan)
    #: Welch's p against the best row, Holm-adjusted; None for the best (and untestable).
    p_vs_best: float | None = None
    #: ``p_vs_best >= 0.05`` (True for the best; None where untestable).
    tied_with_best: bool | None = None
    #: For k = 1 … the trials: the expected best final validation accuracy (a loss-only
    #: problem: lowest validation loss) of k of a study's trials drawn without
    #: replacement, averaged over studies.
    expected_best_validation: tuple[float, ...] = ()
    #: Per study, the final test figures the statistics read (accuracy, or the loss of
    #: a loss-only problem), diverged seeds left out; not written.
    samples: tuple[tuple[float, ...], ...] = ()
    #: The row's name (:attr:`~optimlab.benchmark.plan.Method.label`): ``optimizer``, or
    #: ``optimizer+schedule`` with ``--schedules``; empty: ``optimizer``.
    method: str = ""
    #: The method's schedule with ``--schedules`` (``constant``: none), else None.
    schedule: str | None = None
    #: The median over the final runs of the optimizer steps to the first evaluation
    #: that reaches the target (``inf``: never): the time the profile compares.
    steps_to_target: float = math.inf
    #: The median over the final runs of the training seconds to that evaluation (the
    #: epochs' step time summed, evaluations not counted; ``inf``: never).
    seconds_to_target: float = math.inf

    def __post_init__(self) -> None:
        if not self.method:
            object.__setattr__(self, "method", self.optimizer)


def _own_target(problem: str) -> float | None:
    """The problem's fixed target (:attr:`~optimlab.problems.Problem.target`), None
    where it has none or optimlab does not know it."""
    known = _problems.PROBLEMS.get(problem)
    return None if known is None else known.target


def target(outcome: Outcome, problem: str) -> float:
    """The validation figure the time to target counts to: ``--target`` (an accuracy),
    else the problem's own :attr:`~optimlab.problems.Problem.target`, else the best
    optimizer's mean final validation accuracy (over every study's final runs) less
    :data:`selection.TOLERANCE`; for a loss-only problem a validation loss, without a
    target of its own :func:`selection.loss_target` of the best optimizer's mean final
    validation loss."""
    accuracy = has_accuracy(problem)
    if outcome.benchmark.target is not None and accuracy:
        return outcome.benchmark.target
    own = _own_target(problem)
    if own is not None:
        return own
    finals = outcome.final[problem]
    figure = "validation_accuracy" if accuracy else "validation_loss"
    means = [
        np.mean(
            [
                getattr(t.epochs[-1], figure)
                for final in finals
                for t in final.trials_of(i)
                if _counts(t)
            ]
            or [math.nan]
        )
        for i in range(len(outcome.benchmark.methods))
    ]
    finite = [m for m in means if math.isfinite(m)]
    if not accuracy:
        return selection.loss_target(min(finite) if finite else math.nan)
    return max(finite) - selection.TOLERANCE if finite else math.inf


def target_source(outcome: Outcome, problem: str) -> str:
    """Where :func:`target` took ``problem``'s target from, one phrase."""
    if outcome.benchmark.target is not None and has_accuracy(problem):
        return "--target"
    if _own_target(problem) is not None:
        known = _problems.PROBLEMS[problem]
        return f"the problem's own ({known.target_source or 'no source given'})"
    if has_accuracy(problem):
        return "the best optimizer's mean final validation accuracy less 0.5 points"
    return "the best optimizer's mean final validation loss plus 10% of its absolute value"


def rows(outcome: Outcome) -> list[Row]:
    """The table's rows: per problem, its methods by rank."""
    benchmark = outcome.benchmark
    table: list[Row] = []
    times: dict[str, dict[str, float]] = {}
    for problem in benchmark.problems:
        found = [_row(outcome, problem, index) for index in range(len(benchmark.methods))]
        order = sorted(found, key=_rank if has_accuracy(problem) else _rank_by_loss)
        table += _compared([_with(r, rank=k + 1) for k, r in enumerate(order)], problem)
        times[problem] = {r.method: r.steps_to_target for r in found}
    if len(benchmark.problems) > 1:
        rho = selection.profile(times, TAUS)
        table = [_with(r, score=selection.profile_score(rho[r.method], TAUS)) for r in table]
    return table


def _compared(order: list[Row], problem: str) -> list[Row]:
    """One problem's ranked rows with the rank's interval and the test against the
    best (the first); see :mod:`.statistics`."""
    sign = -1.0 if has_accuracy(problem) else 1.0  # accuracy: the highest ranks first
    ranks = statistics.bootstrap_rank_ci(
        [list(r.samples) for r in order], lambda m: sign * m, [r.diverged > 0 for r in order]
    )
    p = statistics.p_vs_best([_flat(r.samples) for r in order], 0)
    return [
        _with(
            r,
            rank_ci95=ranks[i],
            p_vs_best=p[i],
            tied_with_best=True if i == 0 else None if p[i] is None else p[i] >= statistics.ALPHA,
        )
        for i, r in enumerate(order)
    ]


def _rank(row: Row) -> tuple[bool, float]:
    return row.diverged > 0, -(row.accuracy_mean if math.isfinite(row.accuracy_mean) else -1)


def _rank_by_loss(row: Row) -> tuple[bool, float]:
    return row.diverged > 0, row.loss_mean if math.isfinite(row.loss_mean) else math.inf


def _row(outcome: Outcome, problem: str, index: int) -> Row:
    """Method ``index`` on ``problem``, unranked: every study's final runs pooled."""
    benchmark = outcome.benchmark
    method = benchmark.methods[index]
    name = method.optimizer
    finals, tunings = outcome.final[problem], outcome.tuning[problem]
    accuracy = has_accuracy(problem)
    goal = target(outcome, problem)
    runs = [final.trials_of(index) for final in finals]  # per study
    last = [[r.epochs[-1] for r in study if _counts(r)] for study in runs]
    acc = [[e.test_accuracy for e in study] for study in last] if accuracy else []
    loss = [[e.test_loss for e in study] for study in last]
    figure = "validation_accuracy" if accuracy else "validation_loss"
    tuned = [
        [
            getattr(t.epochs[-1], figure) if t.epochs and not t.diverged else math.nan
            for t in tuning.trials_of(index)
        ]
        for tuning in tunings
    ]
    selected = tuple(chosen[method.label] for chosen in outcome.selected[problem])
    reach = [
        selection.epochs_to_target(r.epochs, goal, loss=not accuracy) if _counts(r) else math.inf
        for study in runs
        for r in study
    ]
    times = [
        selection.time_to_target(r.epochs, goal, _steps_per_epoch(final), loss=not accuracy)
        if _counts(r)
        else (math.inf, math.inf)
        for final, study in zip(finals, runs)
        for r in study
    ]
    plateau = selection.plateau if accuracy else selection.loss_plateau
    return Row(
        problem,
        name,
        selected,
        _tuned_text(benchmark, name, selected),
        _mean(_flat(acc)),
        statistics.sample_std(_flat(acc)),
        _mean(_flat(loss)),
        statistics.sample_std(_flat(loss)),
        float(np.median(reach)),
        _finite_mean([plateau(study) for study in tuned]),
        sum(r.diverged for study in runs for r in study),
        any(_at_edge(chosen, tuning.trials_of(index)) for chosen, tuning in zip(selected, tunings)),
        studies=len(finals),
        n=len(_flat(loss)),
        accuracy_ci95=statistics.bootstrap_ci(acc),
        loss_ci95=statistics.bootstrap_ci(loss),
        expected_best_validation=tuple(_expected_best(tuned, accuracy)),
        samples=tuple(tuple(study) for study in (acc if accuracy else loss)),
        method=method.label,
        schedule=method.schedule,
        steps_to_target=_median([steps for steps, _ in times]),
        seconds_to_target=_median([seconds for _, seconds in times]),
    )


def _steps_per_epoch(results: Any) -> int:
    """Optimizer steps in one epoch of ``results``' runs: its training samples (those
    held out for validation excluded) over the batch size, the last batch cut short."""
    return math.ceil(results.data.train_samples / results.setting.batch_size)


def _median(values: list[float]) -> float:
    """The median of ``values`` (``inf`` counting as the largest); ``inf`` if empty."""
    return float(np.median(values)) if values else math.inf


def _flat(groups: Any) -> list[float]:
    return [v for group in groups for v in group]


def _finite_mean(values: list[float]) -> float:
    """The mean of the finite ``values``; ``nan`` if none is."""
    finite = [v for v in values if math.isfinite(v)]
    return float(np.mean(finite)) if finite else math.nan


def _tuned_text(benchmark: Any, name: str, selected: tuple[dict[str, float], ...]) -> str:
    """The tuned hyper-parameters each study selected: ``lr=0.01`` where the studies
    agree, else ``lr=0.01/0.0316/0.01`` (study 0, 1, 2)."""
    parts = []
    for d in _tuned(benchmark, name):
        values = [f"{chosen[d.name]:.3g}" for chosen in selected]
        parts.append(f"{d.name}={values[0] if len(set(values)) == 1 else '/'.join(values)}")
    return ", ".join(parts)


def _expected_best(studies: list[list[float]], accuracy: bool) -> list[float]:
    """:func:`statistics.expected_best` of each study's final validation figures: a
    trial without one (diverged) counts as accuracy 0, or as the study's worst finite
    loss; none where a study has no finite figure."""
    scored = []
    for figures in studies:
        finite = [v for v in figures if math.isfinite(v)]
        if not finite:
            return []
        worst = 0.0 if accuracy else max(finite)
        scored.append([v if math.isfinite(v) else worst for v in figures])
    return statistics.expected_best(scored, lowest=not accuracy)


def _counts(trial: Any) -> bool:
    """Whether a final run's figures count: it has an epoch and did not diverge (a
    diverged run's accuracy may be finite, but it reached no target)."""
    return bool(trial.epochs) and not trial.diverged


def _at_edge(selected: dict[str, float], trials: list[Any]) -> bool:
    lrs = [t.hyperparameters.get("lr") for t in trials]
    return len(set(lrs)) > 1 and selected.get("lr") in (min(lrs), max(lrs))


def _tuned(benchmark: Any, name: str) -> tuple[spaces.Dimension, ...]:
    dims = spaces.space(name)
    return dims[:1] if benchmark.search == "grid" else dims


def _with(row: Row, **changes: Any) -> Row:
    return Row(**{**row.__dict__, **changes})


def _mean(values: list[float]) -> float:
    return float(np.mean(values)) if values else math.nan


def _pm(mean: float, std: float, scale: float, digits: int, ci: tuple[float, float]) -> str:
    """``mean ± std [lo, hi]`` (the mean's 95% interval); the std and the interval left
    out below two seeds."""
    if not math.isfinite(mean):
        return "—"
    text = f"{scale * mean:.{digits}f}"
    if math.isfinite(std):
        lo, hi = ci
        text += f" ± {scale * std:.{digits}f} [{scale * lo:.{digits}f}, {scale * hi:.{digits}f}]"
    return text


def _versus(row: Row) -> str:
    """The test against the best: "best", "tied (p=…)", "p=…", or "—" (untestable)."""
    if row.rank == 1:
        return "best"
    if row.p_vs_best is None:
        return "—"
    return f"tied (p={row.p_vs_best:.2g})" if row.tied_with_best else f"p={row.p_vs_best:.2g}"


def _cells(row: Row, several: bool, accuracy: bool = True) -> list[str]:
    """A row's cells; ``accuracy``: with the accuracy column ("—" for a loss-only
    problem's row)."""
    cells = [
        *([row.problem] if several else []),
        str(row.rank),
        row.method,
        row.tuned + (" (edge)" if row.edge else ""),
        *([_pm(row.accuracy_mean, row.accuracy_std, 100.0, 2, row.accuracy_ci95)] * accuracy),
        _pm(row.loss_mean, row.loss_std, 1.0, 4, row.loss_ci95),
        _versus(row),
        "–".join(f"{r:g}" for r in row.rank_ci95) if math.isfinite(row.rank_ci95[0]) else "—",
        _time(row),
        "—" if not math.isfinite(row.plateau) else f"{100 * row.plateau:.0f}%",
    ]
    if row.diverged:
        cells[1 + several] += f" ({row.diverged} diverged)"  # the optimizer's cell
    if row.score is not None:
        cells.append(f"{row.score:.3f}")
    return cells


def _time(row: Row) -> str:
    """The time to target: ``steps (seconds s)``, or "never"."""
    if not math.isfinite(row.steps_to_target):
        return "never"
    return f"{row.steps_to_target:.10g} ({row.seconds_to_target:.3g} s)"


def _header(several: bool, scores: bool, accuracy: bool = True) -> list[str]:
    return [
        *(["problem"] if several else []),
        "rank",
        "optimizer",
        "selected",
        *(["test accuracy (%)"] if accuracy else []),
        "test loss",
        "vs best",
        "rank 95%",
        "steps to target (s)",
        "plateau",
        *(["profile score"] if scores else []),
    ]


def _any_accuracy(table: list[Row]) -> bool:
    """Whether the table needs its accuracy column: a row of a problem that has one."""
    return any(has_accuracy(r.problem) for r in table)


def format_table(table: list[Row]) -> str:
    """The table as aligned text, for the terminal."""
    several = len({r.problem for r in table}) > 1
    accuracy = _any_accuracy(table)
    lines = [_header(several, table[0].score is not None, accuracy)]
    lines += [_cells(r, several, accuracy) for r in table]
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    text = ["  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip() for line in lines]
    text.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(text)


def markdown_table(table: list[Row]) -> str:
    """The table in Markdown."""
    several = len({r.problem for r in table}) > 1
    accuracy = _any_accuracy(table)
    header = _header(several, table[0].score is not None, accuracy)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cells(r, several, accuracy)) + " |" for r in table]
    return "\n".join(lines)


def _pooled(studies: list[Results]) -> tuple[Results, list[int]]:
    """Every study's runs of one phase as one :class:`Results`: one pass per optimizer,
    its runs of study 0, then of study 1, ...; and each run's study.

    Its setting is study 0's but for the passes (the studies differ only in their
    seeds, split and selected settings, which ``results.json`` records per study); a
    pass's time is the sum over studies. What ``compare``'s figures and ``plot`` read.
    """
    first = studies[0]
    count = len(first.setting.passes)
    passes = [[t for r in studies for t in r.setting.passes[i]] for i in range(count)]
    trials, study_of = [], []
    for i in range(count):
        for s, results in enumerate(studies):
            trials += [dataclasses.replace(t, pass_index=i) for t in results.trials_of(i)]
            study_of += [s] * len(results.trials_of(i))
    records = [
        PassResult(
            seconds=sum(r.passes[i].seconds for r in studies),
            complete=all(r.passes[i].complete for r in studies),
            error=next((r.passes[i].error for r in studies if r.passes[i].error), None),
        )
        for i in range(count)
    ]
    return (
        Results(
            first.kind,
            dataclasses.replace(first.setting, passes=passes),
            first.data,
            first.environment,
            records,
            trials,
            _sum_seconds(studies),
        ),
        study_of,
    )


def _problem_json(outcome: Outcome, problem: str, table: list[Row]) -> dict[str, Any]:
    """One problem's part of results.json: every study's final runs in compare's format
    (each with its ``study``), the settings each study selected, each study's seeds,
    every tuning trial with its validation curve and study, and the table."""
    benchmark = outcome.benchmark
    finals, tunings = outcome.final[problem], outcome.tuning[problem]
    final, study_of = _pooled(finals)
    labels = [m.label for m in benchmark.methods]
    document = final.to_dict()
    document["runs"] = [
        {**run, "study": s, "method": labels[t.pass_index]}
        for run, s, t in zip(document["runs"], study_of, final.trials)
    ]
    return {
        **document,
        "selected": {
            label: [hyperparameters_json(chosen[label]) for chosen in outcome.selected[problem]]
            for label in labels
        },
        "studies": [benchmark.study(s).to_dict() for s in range(len(finals))],
        "target": _finite(target(outcome, problem)),
        "target_source": target_source(outcome, problem),
        "trials": [
            {
                "optimizer": t.optimizer,
                "method": labels[t.pass_index],
                **({"options": dict(t.options)} if t.options else {}),
                "hyperparameters": hyperparameters_json(t.hyperparameters),
                "seed": t.seed,
                "study": s,
                "status": t.status,
                "validation_accuracy": [_finite(e.validation_accuracy) for e in t.epochs],
                "validation_loss": [_finite(e.validation_loss) for e in t.epochs],
            }
            for s, tuning in enumerate(tunings)
            for t in tuning.trials
        ],
        "tuning_seconds": _sum_seconds(tunings),
        "table": [
            {
                **{k: _json(v) for k, v in r.__dict__.items() if k != "samples"},
                "selected": [hyperparameters_json(chosen) for chosen in r.selected],
            }
            for r in table
            if r.problem == problem
        ],
    }


def _sum_seconds(studies: list[Results]) -> float | None:
    walls = [r.wall_seconds for r in studies]
    return None if None in walls else sum(walls)


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _json(value: Any) -> Any:
    """A row's field for results.json: a non-finite float as null, a tuple as a list."""
    if isinstance(value, float):
        return _finite(value)
    if isinstance(value, tuple):
        return [_json(v) for v in value]
    return value


def write(out: Path, outcome: Outcome) -> list[Row]:
    """Write the report of the complete benchmark ``outcome`` into ``out``."""
    benchmark = outcome.benchmark
    table = rows(outcome)
    problems = {p: _problem_json(outcome, p, table) for p in benchmark.problems}
    if len(problems) == 1:
        document = {**next(iter(problems.values())), "benchmark": benchmark.to_dict()}
    else:
        document = {
            "format": "optimlab.benchmark-results",
            "benchmark": benchmark.to_dict(),
            "problems": problems,
        }
    with atomic_write(out / "results.json", "w") as f:
        json.dump(document, f, indent=1, allow_nan=False)
        f.write("\n")
    _write_csv(out / "results.csv", outcome)
    several = len(benchmark.problems) > 1
    labels = [m.label for m in benchmark.methods]
    for problem in benchmark.problems:  # with several, each problem's in its folder
        folder = out / problem if several else out
        tuning = _pooled(outcome.tuning[problem])[0]  # every study's trials
        # a noisy function holds out its own validation samples (Problem.validation)
        held_out = tuning.setting.validation or benchmark.validation
        plot_tuning_sensitivity(
            tuning,
            benchmark.search,
            held_out,
            folder / "sensitivity.png",
            studies=len(outcome.tuning[problem]),
            labels=labels,
        )
        rows_of = [r for r in table if r.problem == problem]
        plot_expected_best(
            {r.method: r.expected_best_validation for r in rows_of},
            has_accuracy(problem),
            folder / "tuning.png",
            studies=len(outcome.tuning[problem]),
        )
        final = _pooled(outcome.final[problem])[0]
        for figure, name in _curves(problem):
            plot_final_curves(final, figure, folder / name, rows_of, labels=labels)
    if len(benchmark.problems) > 1:
        times = {
            p: {r.method: r.steps_to_target for r in table if r.problem == p}
            for p in benchmark.problems
        }
        plot_profile(selection.profile(times, TAUS), TAUS, out / "profile.png")
    with atomic_write(out / "report.md", "w") as f:
        f.write(_markdown(outcome, table))
    return table


def _curves(problem: str) -> tuple[tuple[str, str], ...]:
    """The curves drawn for ``problem``: (figure, file); no accuracy for a loss-only one."""
    if not has_accuracy(problem):
        return (("test_loss", "loss.png"),)
    return (("test_accuracy", "accuracy.png"), ("test_loss", "loss.png"))


def _write_csv(path: Path, outcome: Outcome) -> None:
    """Every epoch of every study's final runs; the accuracy columns only where a
    problem has an accuracy (empty in a loss-only problem's rows)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    accuracies = ("validation_accuracy", "test_accuracy")
    figures = [
        "train_loss",
        "validation_accuracy",
        "validation_loss",
        "test_accuracy",
        "test_loss",
        "seconds",
    ]
    if not any(has_accuracy(problem) for problem in outcome.final):
        figures = [name for name in figures if name not in accuracies]
    writer.writerow(
        [
            "problem",
            "study",
            "optimizer",
            "method",
            "hyperparameters",
            "seed",
            "epoch",
            *figures,
            "status",
        ]
    )
    labels = [m.label for m in outcome.benchmark.methods]
    for problem, studies in outcome.final.items():
        blank = () if has_accuracy(problem) else accuracies
        for study, results in enumerate(studies):
            for t in results.trials:
                hyper = json.dumps(hyperparameters_json(t.hyperparameters), sort_keys=True)
                for e in t.epochs:
                    values = ["" if name in blank else getattr(e, name) for name in figures]
                    writer.writerow(
                        [
                            problem,
                            study,
                            t.optimizer,
                            labels[t.pass_index],
                            hyper,
                            t.seed,
                            e.epoch,
                            *values,
                            t.status,
                        ]
                    )
    with atomic_write(path, "w") as f:
        f.write(buffer.getvalue())


def _markdown(outcome: Outcome, table: list[Row]) -> str:
    benchmark = outcome.benchmark
    final = outcome.final[benchmark.problems[0]][0]
    s, env = final.setting, final.environment
    budget = (
        f"{benchmark.budget} log-spaced learning rates"
        if benchmark.search == "grid"
        else f"{benchmark.budget} quasi-random points of the search space"
    )
    select = (
        f"fewest epochs to {100 * benchmark.target:.2f}% validation accuracy, "
        f"then {benchmark.select}"
        if benchmark.target is not None
        else f"{benchmark.select} at the last epoch"
    )
    seconds = sum(
        (r.wall_seconds or 0.0)
        for phase in (outcome.tuning, outcome.final)
        for studies in phase.values()
        for r in studies
    )
    studies = [benchmark.study(i) for i in range(benchmark.studies)]
    seeds = "; ".join(
        f"study {st.index}: tuning seed {st.tuning_seed}, final seeds "
        f"{st.final_seeds[0]}–{st.final_seeds[-1]}, split seed {st.split_seed}"
        + (f", search seed {st.search_seed}" if benchmark.search == "random" else "")
        for st in studies
    )
    goals = ", ".join(_goal(outcome, p) for p in benchmark.problems)
    described = "; ".join(
        _described(p, r[0], benchmark.validation) for p, r in outcome.final.items()
    )
    lines = [
        "# optimlab benchmark",
        "",
        f"- **Problems:** {described}.",
        f"- **Budget per {'method' if benchmark.schedules else 'optimizer'} and study:** "
        f"{budget}, {s.epochs} epochs each.",
        *(
            [
                f"- **Schedules:** {', '.join(benchmark.schedules)}; each optimizer with each "
                "is a method of its own (its row `optimizer+schedule`), tuned, selected and "
                "rerun with the full budget (`constant`: the optimizer's constant rate)."
            ]
            if benchmark.schedules
            else []
        ),
        f"- **Studies:** {benchmark.studies} (study seed {benchmark.study_seed}), each "
        "with its own tuning seed, validation split"
        + (" and search sequence" if benchmark.search == "random" else "")
        + f", selection and final seeds ({seeds}).",
        f"- **Selection** (each study on its validation split only): {select}; the "
        "selected column shows each study's choice where they differ (study 0/1/...).",
        f"- **Final runs:** each study's selected setting with {benchmark.seeds} seeds of "
        f"its own; test figures after the last epoch of every study's runs pooled, mean ± "
        f"sample std [the mean's 95% bootstrap interval, resampling studies then seeds, "
        f"{statistics.RESAMPLES} resamples]; a diverged seed is left out of the mean and "
        "counted beside the optimizer.",
        f"- **Target** of the time to target (the median over the final runs of the "
        f"optimizer steps, and training seconds, to the first validation evaluation that "
        f"reaches it; the profile compares the steps): {goals}.",
        f"- **Training time:** {seconds:.0f} s summed over passes; optimlab "
        f"{env.versions.get('optimlab', '?')}, revision {env.git_revision or 'unknown'}, "
        f"{env.device_name}, {env.date}.",
        "",
        markdown_table(table),
        "",
        _legend(benchmark.problems),
        "",
    ]
    for problem in benchmark.problems:
        at = f"{problem}/" if len(benchmark.problems) > 1 else ""
        lines += [
            *([f"## {problem}", ""] if at else []),
            f"![sensitivity]({at}sensitivity.png)",
            "",
            f"![expected best validation figure after k tuning trials]({at}tuning.png)",
            "",
        ]
        for figure, name in _curves(problem):
            lines += [f"![{figure.replace('_', ' ')}]({at}{name})", ""]
    if len(benchmark.problems) > 1:
        lines += ["![performance profile](profile.png)", ""]
    return "\n".join(lines)


def _goal(outcome: Outcome, problem: str) -> str:
    goal, source = target(outcome, problem), target_source(outcome, problem)
    if has_accuracy(problem):
        return f"{problem}: {100 * goal:.2f}% validation accuracy, {source}"
    return f"{problem}: validation loss at most {goal:.4g}, {source}"


def _described(problem: str, results: Any, validation: int) -> str:
    """One problem's line: the network (or a noisy function) and its data."""
    s, data = results.setting, results.data
    held_out = s.validation or validation
    what = (
        f"{'-'.join(map(str, s.layers))} {s.activation}/{s.output}"
        if has_accuracy(problem)
        else "a noisy function, loss only"
    )
    return (
        f"{problem} ({what}, batch {s.batch_size}, {s.dtype}, on "
        f"{data.name}: {data.train_samples} training samples, {held_out} "
        f"held out for validation, {data.test_samples} test)"
    )


def _legend(problems: tuple[str, ...]) -> str:
    """What the table's plateau, rank, tests and (edge) mean, for these problems."""
    loss_only = [p for p in problems if not has_accuracy(p)]
    text = []
    if len(loss_only) < len(problems):
        text.append(
            "Plateau: the share of an optimizer's tuning trials within 0.5 points of its "
            "best validation accuracy (in each study, averaged over studies). Rank: by mean "
            "test accuracy; a setting with a diverged seed ranks last."
        )
    if loss_only:
        which = f"For {', '.join(loss_only)} (no accuracy): t" if len(text) else "T"
        text.append(
            f"{which}he plateau: the share of an optimizer's tuning trials whose final "
            "validation loss is within 10% (of its absolute value) of its best one's. Rank: "
            "by mean test loss; a setting with a diverged seed ranks last."
        )
    text.append(
        "Vs best: Welch's t-test of the final test figures (every study's runs) against the "
        "best row's, Holm-adjusted over the rows; tied: p >= 0.05 (— : fewer than two runs, "
        "or no spread). Rank 95%: the rank's bootstrap interval (studies, then seeds)."
    )
    text.append(
        "(edge): a study's selected learning rate is the smallest or the largest tried, so "
        "the best one may lie outside the search range."
    )
    return " ".join(text)
