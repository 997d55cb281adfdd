"""What a benchmark asks (:class:`Benchmark`) and what came out of it (:class:`Outcome`)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from .. import problems, schedules
from .._checks import positive_int
from ..errors import ConfigError
from ..experiment import Results, Setting, Trial
from ..experiment.data import SPLIT_SEED
from . import selection, spaces

__all__ = [
    "CONSTANT",
    "MAX_STUDIES",
    "MAX_STUDY_SEED",
    "PROBLEMS",
    "SEARCHES",
    "Benchmark",
    "Method",
    "Outcome",
    "Study",
]

#: The problems a benchmark runs on unless told: the report's network on MNIST.
PROBLEMS = (problems.DEFAULT,)
#: The most trials per optimizer (``budget``) and final seeds a benchmark takes.
MAX_COUNT = 100_000
#: The most studies a benchmark takes, and the largest study seed: with them every seed
#: a study derives stays below 2**53, exact in any JSON reader.
MAX_STUDIES = 100
MAX_STUDY_SEED = 999_999
SEARCHES = ("grid", "random")
#: The schedule of ``Benchmark.schedules`` that is no schedule: the optimizer's constant
#: rate (its options then hold none, so it trains as the optimizer alone does).
CONSTANT = "constant"


@dataclass(frozen=True)
class Method:
    """What a benchmark tunes, selects and reports as one row: an optimizer with its
    options (among them, with :attr:`Benchmark.schedules`, a schedule)."""

    #: The row's name: the optimizer's, or ``optimizer+schedule`` (``adam+cosine``).
    label: str
    optimizer: str
    options: dict[str, Any]
    #: The schedule's text when the benchmark compares schedules, else None.
    schedule: str | None = None


@dataclass(frozen=True)
class Study:
    """One repetition of the tuning and the selection, and the final runs of what it
    selected: the seeds it draws with (see :meth:`Benchmark.study`)."""

    #: 0-based, within its benchmark.
    index: int
    #: The seed of every tuning trial (network initialization and shuffles).
    tuning_seed: int
    #: The seeds of the final runs of each selected setting.
    final_seeds: tuple[int, ...]
    #: The seed of the validation split (:attr:`optimlab.experiment.Setting.split_seed`).
    split_seed: int
    #: The seed of the quasi-random search (:func:`optimlab.benchmark.spaces.random`).
    search_seed: int

    def to_dict(self) -> dict[str, Any]:
        """Plain values for ``results.json`` (``index`` as ``study``, as in its runs)."""
        d = asdict(self)
        return {"study": d.pop("index"), **d, "final_seeds": list(self.final_seeds)}


@dataclass(frozen=True)
class Benchmark:
    """What a benchmark runs: optimizers, budget, selection, and the common setting.

    ``budget`` trials per optimizer: log-spaced learning rates (``search="grid"``) or
    quasi-random points of its whole search space (``"random"``); see
    :mod:`optimlab.benchmark.spaces`. The tuning, the selection and the final runs are
    repeated in ``studies`` independent studies, each with its own seeds, validation
    split and search sequence, derived from ``study_seed`` (:meth:`study`); the
    reported figures pool every study's final runs. ``setting`` holds the
    keyword arguments of :class:`~optimlab.experiment.Setting` shared by every run
    (epochs, batch size, dtype, device, ...); ``options`` an optimizer's options
    (``{"adam": {"schedule": "cosine"}}``). ``schedules`` (none: each optimizer is one
    method) makes each optimizer with each schedule a method of its own
    (:attr:`methods`), with the full budget, its own selection and final runs, and a row
    named ``optimizer+schedule``. ``validation``: training samples a network
    problem holds out (None: each problem's own :attr:`~optimlab.problems.Problem.validation`,
    recorded as one number when they agree); a function problem always holds out its own.
    """

    optimizers: tuple[str, ...]
    search: str = "grid"
    budget: int = 8
    seeds: int = 5
    validation: int | None = None
    select: str = "val_loss"
    target: float | None = None
    problems: tuple[str, ...] = PROBLEMS
    search_seed: int = 0
    options: dict[str, dict[str, Any]] = field(default_factory=dict)
    setting: dict[str, Any] = field(default_factory=dict)
    studies: int = 3
    study_seed: int = 0
    schedules: tuple[str, ...] = ()

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
        for name in ("budget", "seeds"):
            positive_int(name, getattr(self, name))
        for name in ("budget", "seeds"):  # bounded before a trial or a seed is made
            if getattr(self, name) > MAX_COUNT:
                raise ConfigError(
                    f"{name} must be at most {MAX_COUNT:,} (the members of one pass), "
                    f"not {getattr(self, name):,}"
                )
        if (
            isinstance(self.search_seed, bool)
            or not isinstance(self.search_seed, int)
            or self.search_seed < 0
        ):
            raise ConfigError(f"search_seed must be an integer >= 0, not {self.search_seed!r}")
        positive_int("studies", self.studies)
        if self.studies > MAX_STUDIES:
            raise ConfigError(f"studies must be at most {MAX_STUDIES}, not {self.studies:,}")
        if (
            isinstance(self.study_seed, bool)
            or not isinstance(self.study_seed, int)
            or not 0 <= self.study_seed <= MAX_STUDY_SEED
        ):
            raise ConfigError(
                f"study_seed must be an integer from 0 to {MAX_STUDY_SEED:,}, "
                f"not {self.study_seed!r}"
            )
        if self.select not in selection.SELECT:
            raise ConfigError(
                f"select must be one of {', '.join(selection.SELECT)}, not {self.select!r}"
            )
        if self.target is not None and not 0 < self.target <= 1:
            raise ConfigError(f"the target accuracy must lie in (0, 1], not {self.target!r}")
        if not self.problems:
            raise ConfigError("a benchmark needs at least one problem")
        for problem in self.problems:
            if not problems.get(problem).trains_network:  # a point: no network to shape
                given = [n for n in ("layers", "activation", "output") if n in self.setting]
                if given:
                    raise ConfigError(
                        f"{given[0]} does not apply to {problem}: it trains a point, not a network"
                    )
        if len(set(self.problems)) != len(self.problems):
            raise ConfigError("each problem may be named once in a benchmark")
        object.__setattr__(self, "schedules", _schedules(self.schedules, self.options))
        if self.validation is None:  # each network problem's own; one number if they agree
            own = {p.validation for p in map(problems.get, self.problems) if p.trains_network}
            object.__setattr__(self, "validation", own.pop() if len(own) == 1 else None)
        if self.validation is not None:
            positive_int("validation", self.validation)

    @property
    def methods(self) -> tuple[Method, ...]:
        """What is tuned and reported, in pass order: each optimizer with its options;
        with ``schedules``, each optimizer with each schedule (optimizer-major),
        labelled ``optimizer+schedule`` (``constant`` too: the optimizer's own constant
        rate, no schedule in its options)."""
        return _methods(self.optimizers, self.options, self.schedules)

    def study(self, index: int) -> Study:
        """Study ``index`` (0-based) and its seeds.

        Study ``index`` of study seed ``S`` is study number
        ``i = S * MAX_STUDIES + index`` of all, which no other ``(S, index)`` shares.
        Its tuning seed is ``i * (MAX_COUNT + 1)`` and its final seeds the next
        ``seeds`` integers, so no seed repeats within a benchmark or across study seeds
        (nor does a final run repeat a tuning trial); its validation split is drawn by
        ``SPLIT_SEED + i`` and its quasi-random search by ``search_seed + i``. NumPy
        hashes every integer seed through ``SeedSequence``, so consecutive seeds draw
        independent streams. Study 0 of study seed 0 has the seeds of a benchmark from
        before studies: tuning seed 0, final seeds 1..N, the split of ``SPLIT_SEED``.
        """
        if not 0 <= index < self.studies:
            raise ConfigError(f"study must lie in 0..{self.studies - 1}, not {index!r}")
        number = self.study_seed * MAX_STUDIES + index
        tuning = number * (MAX_COUNT + 1)
        return Study(
            index,
            tuning,
            tuple(range(tuning + 1, tuning + 1 + self.seeds)),
            SPLIT_SEED + number,
            self.search_seed + number,
        )

    def trials(
        self, name: str, problem: str | None = None, study: int = 0
    ) -> list[dict[str, float]]:
        """The hyper-parameters of optimizer ``name``'s tuning trials on ``problem`` in
        ``study`` (the rest at their defaults; see :func:`optimlab.benchmark.spaces.space`):
        a grid is the same in every study, a random search draws with the study's seed."""
        if self.search == "grid":
            return spaces.grid(name, self.budget, problem)
        return spaces.random(name, self.budget, self.study(study).search_seed, problem)

    def tuning(self, problem: str, study: int = 0) -> Setting:
        """``study``'s tuning experiment: one pass per method, its trials as the
        members; only the study's validation split is evaluated."""
        chosen = self.study(study)
        passes = [
            [
                Trial(m.optimizer, hyper, chosen.tuning_seed, dict(m.options))
                for hyper in self.trials(m.optimizer, problem, study)
            ]
            for m in self.methods
        ]
        return self._setting(problem, "benchmark-tuning", passes, "validation", chosen)

    def final(self, problem: str, selected: dict[str, dict[str, float]], study: int = 0) -> Setting:
        """``study``'s final runs: one pass per method, the setting the study selected
        (``selected[label]``) with the study's final seeds; the study's validation split
        and the test set are evaluated."""
        chosen = self.study(study)
        passes = [
            [
                Trial(m.optimizer, selected[m.label], seed, dict(m.options))
                for seed in chosen.final_seeds
            ]
            for m in self.methods
        ]
        return self._setting(problem, "benchmark-final", passes, "both", chosen)

    def _setting(
        self, problem: str, kind: str, passes: list[list[Trial]], evaluate: str, study: Study
    ) -> Setting:
        """The problem's network, batch size and data, with what ``setting`` overrides
        (the epochs: every problem trains as long); a noisy function holds out its own
        validation samples (:attr:`optimlab.problems.Problem.validation`)."""
        chosen = problems.get(problem)
        data = chosen.data_directory(self.setting.get("data"))
        common = {
            "problem": chosen,
            **chosen.setting(),
            **self.setting,
            "data": data,
            "validation": chosen.validation
            if self.validation is None or not chosen.trains_network
            else self.validation,
            "evaluate": evaluate,
            "split_seed": study.split_seed,
        }
        return Setting(kind, passes, **common)

    def to_dict(self) -> dict[str, Any]:
        """Plain values for ``benchmark.json`` (``schedules`` only where given, so a
        benchmark written before them resumes)."""
        d = asdict(self)
        if not self.schedules:
            del d["schedules"]
        return {
            **d,
            "optimizers": list(self.optimizers),
            "problems": list(self.problems),
            **({"schedules": list(self.schedules)} if self.schedules else {}),
        }


def _schedules(texts: Any, options: dict[str, dict[str, Any]]) -> tuple[str, ...]:
    """``texts`` (a benchmark's ``schedules``), each a schedule's text
    (:func:`optimlab.schedules.check`), stripped; refused if one is named twice or the
    ``options`` hold a schedule beside them."""
    for text in texts:
        schedules.check(text, option="--schedules")
    found = tuple(text.strip() for text in texts)
    if len(set(found)) != len(found):
        raise ConfigError("each schedule may be named once in --schedules")
    if found and any("schedule" in o for o in options.values()):
        raise ConfigError(
            "--schedule and --schedules exclude each other: name every schedule in --schedules"
        )
    return found


def _methods(
    optimizers: tuple[str, ...], options: dict[str, dict[str, Any]], texts: tuple[str, ...]
) -> tuple[Method, ...]:
    """:attr:`Benchmark.methods`."""
    if not texts:
        return tuple(Method(name, name, dict(options.get(name, {}))) for name in optimizers)
    return tuple(
        Method(
            f"{name}+{text}",
            name,
            {**options.get(name, {}), **({} if text == CONSTANT else {"schedule": text})},
            text,
        )
        for name in optimizers
        for text in texts
    )


@dataclass
class Outcome:
    """Where a benchmark stands: per problem, per study (in study order, those begun so
    far), its tuning and final results and the settings it selected; and whether every
    part is complete."""

    benchmark: Benchmark
    tuning: dict[str, list[Results]] = field(default_factory=dict)
    final: dict[str, list[Results]] = field(default_factory=dict)
    #: ``selected[problem][study][label]``: the hyper-parameters that study selected for
    #: each method (:attr:`Method.label`: the optimizer's name without schedules).
    selected: dict[str, list[dict[str, dict[str, float]]]] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return all(
            len(self.final.get(p, [])) == self.benchmark.studies
            and all(r.complete for r in self.final[p])
            for p in self.benchmark.problems
        )

    def failed(self) -> list[str]:
        """The passes that raised, as ``"<problem>/study-<s>/<phase> pass N: <error>"``."""
        found = []
        for phase, results in (("tuning", self.tuning), ("final", self.final)):
            for problem, studies in results.items():
                found += [
                    f"{problem}/study-{s}/{phase} pass {i}: {p.error}"
                    for s, r in enumerate(studies)
                    for i, p in enumerate(r.passes)
                    if p.error is not None
                ]
        return found
