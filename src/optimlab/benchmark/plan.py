"""What a benchmark asks (:class:`Benchmark`) and what came out of it (:class:`Outcome`)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from .. import problems
from .._checks import positive_int
from ..errors import ConfigError
from ..experiment import Results, Setting, Trial
from . import selection, spaces

__all__ = ["PROBLEMS", "SEARCHES", "TUNING_SEED", "Benchmark", "Outcome"]

#: The problems a benchmark runs on unless told: the report's network on MNIST.
PROBLEMS = (problems.DEFAULT,)
#: The most trials per optimizer (``budget``) and final seeds a benchmark takes.
MAX_COUNT = 100_000
#: The seed of every tuning trial; the final runs take seeds 1..N, so no final run
#: repeats the trial its setting was selected by.
TUNING_SEED = 0
SEARCHES = ("grid", "random")


@dataclass(frozen=True)
class Benchmark:
    """What a benchmark runs: optimizers, budget, selection, and the common setting.

    ``budget`` trials per optimizer: log-spaced learning rates (``search="grid"``) or
    quasi-random points of its whole search space (``"random"``, seeded by
    ``search_seed``); see :mod:`optimlab.benchmark.spaces`. ``setting`` holds the
    keyword arguments of :class:`~optimlab.experiment.Setting` shared by every run
    (epochs, batch size, dtype, device, ...); ``options`` an optimizer's options
    (``{"adam": {"schedule": "cosine"}}``). ``validation``: training samples a network
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
                        f"{given[0]} does not apply to {problem}: it trains a point, "
                        "not a network"
                    )
        if len(set(self.problems)) != len(self.problems):
            raise ConfigError("each problem may be named once in a benchmark")
        if self.validation is None:  # each network problem's own; one number if they agree
            own = {p.validation for p in map(problems.get, self.problems) if p.trains_network}
            object.__setattr__(self, "validation", own.pop() if len(own) == 1 else None)
        if self.validation is not None:
            positive_int("validation", self.validation)

    def trials(self, name: str, problem: str | None = None) -> list[dict[str, float]]:
        """The hyper-parameters of optimizer ``name``'s tuning trials on ``problem`` (the
        rest at their defaults; see :func:`optimlab.benchmark.spaces.space`)."""
        if self.search == "grid":
            return spaces.grid(name, self.budget, problem)
        return spaces.random(name, self.budget, self.search_seed, problem)

    def tuning(self, problem: str) -> Setting:
        """The tuning experiment: one pass per optimizer, its trials as the members;
        only the validation split is evaluated."""
        passes = [
            [
                Trial(name, hyper, TUNING_SEED, dict(self.options.get(name, {})))
                for hyper in self.trials(name, problem)
            ]
            for name in self.optimizers
        ]
        return self._setting(problem, "benchmark-tuning", passes, "validation")

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
        return self._setting(problem, "benchmark-final", passes, "both")

    def _setting(
        self, problem: str, kind: str, passes: list[list[Trial]], evaluate: str
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
        }
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
