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
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .. import optimizers
from .._checks import positive_int
from .._files import atomic_write
from ..backend import resolve
from ..errors import ConfigError, DataError
from ..experiment import Reporter, Results, Setting, Trial, directory, load_results, run_experiment
from ..experiment.data import setting_data, split_validation
from ..experiment.resume import require_same_setting
from . import selection, spaces

__all__ = ["PROBLEMS", "Benchmark", "Outcome", "run_benchmark"]

#: The problems a benchmark can run on (the report's network on MNIST, until the
#: problem registry of "Test problems beyond the report's network" lands).
PROBLEMS = ("report",)
#: The seed of every tuning trial; the final runs take seeds 1..N, so no final run
#: repeats the trial its setting was selected by.
TUNING_SEED = 0
SEARCHES = ("grid", "random")
CONFIG = "benchmark.json"
_FORMAT = "optimlab.benchmark"


@dataclass(frozen=True)
class Benchmark:
    """What a benchmark runs: optimizers, budget, selection, and the common setting.

    ``budget`` trials per optimizer: log-spaced learning rates (``search="grid"``) or
    quasi-random points of its whole search space (``"random"``, seeded by
    ``search_seed``); see :mod:`optimlab.benchmark.spaces`. ``setting`` holds the
    keyword arguments of :class:`~optimlab.experiment.Setting` shared by every run
    (epochs, batch size, dtype, device, ...); ``options`` an optimizer's options
    (``{"adam": {"schedule": "cosine"}}``).
    """

    optimizers: tuple[str, ...]
    search: str = "grid"
    budget: int = 8
    seeds: int = 5
    validation: int = 10_000
    select: str = "val_loss"
    target: float | None = None
    problems: tuple[str, ...] = PROBLEMS
    search_seed: int = 0
    options: dict[str, dict[str, Any]] = field(default_factory=dict)
    setting: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "optimizers", tuple(self.optimizers))
        object.__setattr__(self, "problems", tuple(self.problems))
        if not self.optimizers:
            raise ConfigError("a benchmark needs at least one optimizer")
        for name in self.optimizers:
            spaces.space(name)  # an unknown name, or a plugin without an lr
        if len(set(self.optimizers)) != len(self.optimizers):
            raise ConfigError("each optimizer may be named once in a benchmark")
        if self.search not in SEARCHES:
            raise ConfigError(f"search must be one of {', '.join(SEARCHES)}, not {self.search!r}")
        for name in ("budget", "seeds", "validation"):
            positive_int(name, getattr(self, name))
        if self.select not in selection.SELECT:
            raise ConfigError(
                f"select must be one of {', '.join(selection.SELECT)}, not {self.select!r}"
            )
        if self.target is not None and not 0 < self.target <= 1:
            raise ConfigError(f"the target accuracy must lie in (0, 1], not {self.target!r}")
        unknown = [p for p in self.problems if p not in PROBLEMS]
        if unknown or not self.problems:
            raise ConfigError(
                f"unknown problem {unknown[0] if unknown else ''!r}; choose from "
                f"{', '.join(PROBLEMS)}"
            )

    def trials(self, name: str) -> list[dict[str, float]]:
        """The hyper-parameters of optimizer ``name``'s tuning trials (the rest at their
        defaults)."""
        if self.search == "grid":
            return spaces.grid(name, self.budget)
        return spaces.random(name, self.budget, self.search_seed)

    def tuning(self, problem: str) -> Setting:
        """The tuning experiment: one pass per optimizer, its trials as the members;
        only the validation split is evaluated."""
        passes = [
            [
                Trial(name, hyper, TUNING_SEED, dict(self.options.get(name, {})))
                for hyper in self.trials(name)
            ]
            for name in self.optimizers
        ]
        return self._setting("benchmark-tuning", passes, "validation")

    def final(self, problem: str, selected: dict[str, dict[str, float]]) -> Setting:
        """The final runs: one pass per optimizer, its selected setting with seeds
        ``1..seeds``; the validation split and the test set are evaluated."""
        passes = [
            [
                Trial(name, selected[name], seed, dict(self.options.get(name, {})))
                for seed in range(1, self.seeds + 1)
            ]
            for name in self.optimizers
        ]
        return self._setting("benchmark-final", passes, "both")

    def _setting(self, kind: str, passes: list[list[Trial]], evaluate: str) -> Setting:
        common = {**self.setting, "validation": self.validation, "evaluate": evaluate}
        return Setting(kind, passes, **common)

    def to_dict(self) -> dict[str, Any]:
        """Plain values for ``benchmark.json``."""
        return {
            **asdict(self),
            "optimizers": list(self.optimizers),
            "problems": list(self.problems),
        }


@dataclass
class Outcome:
    """Where a benchmark stands: per problem its tuning and final results (None where
    not run yet), the selected settings, and whether every part is complete."""

    benchmark: Benchmark
    tuning: dict[str, Results] = field(default_factory=dict)
    final: dict[str, Results] = field(default_factory=dict)
    selected: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return all(p in self.final and self.final[p].complete for p in self.benchmark.problems)

    def failed(self) -> list[str]:
        """The passes that raised, as ``"<problem>/<phase> pass N: <error>"``."""
        found = []
        for phase, results in (("tuning", self.tuning), ("final", self.final)):
            for problem, r in results.items():
                found += [
                    f"{problem}/{phase} pass {i}: {p.error}"
                    for i, p in enumerate(r.passes)
                    if p.error is not None
                ]
        return found


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
        Bad input, a directory that holds something else, or (``resume``) a benchmark
        there that was asked with other arguments.
    """
    from . import report

    if resume and overwrite:
        raise ConfigError("--resume and --overwrite exclude each other")
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
    elif stored is None and out.is_dir() and any(out.iterdir()) and not overwrite:
        raise ConfigError(
            f"{out} already holds files; choose an empty or new directory, or pass "
            "--overwrite to write the benchmark beside them"
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
    """Build every trial's optimizer and the data split: bad input fails here, before
    the directory is touched."""
    setting = benchmark.tuning(benchmark.problems[0])
    for trial in setting.trials:
        trial.make()
    backend = resolve(setting.device, library=setting.library)
    train, _ = setting_data(setting, backend)
    split_validation(train, benchmark.validation)
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
    from . import report

    for name in (*report.FILES, CONFIG):
        (out / name).unlink(missing_ok=True)
    for problem in stored.get("problems", []):
        if not isinstance(problem, str) or problem not in PROBLEMS:
            continue
        for phase in ("tuning", "final"):
            directory.remove_experiment(out / problem / phase)
        for folder in (out / problem,):
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()


def finished(out: str | os.PathLike[str], benchmark: Benchmark) -> Outcome:
    """The outcome of the complete benchmark in ``out`` (for the report of a finished one)."""
    out = Path(out)
    outcome = Outcome(benchmark)
    for problem in benchmark.problems:
        outcome.tuning[problem] = load_results(out / problem / "tuning" / "results.json")
        outcome.final[problem] = load_results(out / problem / "final" / "results.json")
        outcome.selected[problem] = _selected(benchmark, outcome.tuning[problem])
    return outcome


def describe(selected: dict[str, float], tuned: Sequence[spaces.Dimension]) -> str:
    """The tuned hyper-parameters of a selected setting: ``"lr=0.00193, beta1=0.9"``."""
    return ", ".join(f"{d.name}={selected[d.name]:.3g}" for d in tuned if d.name in selected)
