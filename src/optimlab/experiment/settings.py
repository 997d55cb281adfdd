"""What an experiment trains: its trials, grouped into passes, and the common setting.

A *trial* is one optimizer with its hyper-parameters and a seed. A *pass* is a
group of trials trained side by side as the members of one model (one array of
parameters per member, one step for all); it is the unit an executor runs.
``compare`` makes one pass per optimizer, its seeds being the members, so each
optimizer's wall time is its own; ``sweep`` packs a grid of learning rates and
seeds into passes of at most ``max_members`` members.
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from .. import optimizers, problems, schedules
from ..errors import ConfigError

__all__ = [
    "Setting",
    "Trial",
    "check_memory",
    "compare_setting",
    "make_optimizer",
    "sweep_setting",
]

#: Arrays of a network's size one member keeps while it trains: the parameters, the
#: gradient, up to three optimizer accumulators, and one temporary.
_COPIES = 6


@dataclass(frozen=True)
class Trial:
    """One trained network: an optimizer (registry name), its hyper-parameters and a seed.

    The seed initializes the network and draws its shuffles.
    """

    optimizer: str
    hyperparameters: dict[str, float]
    seed: int
    #: The optimizer's options that differ from their defaults, as the command line
    #: spells them: ``{"schedule": "warmup_cosine:warmup=1", "clip_norm": 1.0,
    #: "decay_biases": False}``; a schedule's durations are in epochs.
    options: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Hyper-parameters added after a setting was saved take their defaults (which
        # keep the old rule: the seven's weight_decay is 0), so old work still resumes.
        hyper = hyperparameters_from_json(self.hyperparameters)
        if self.optimizer in optimizers.OPTIMIZERS:
            hyper = {**optimizers.defaults(self.optimizer), **hyper}
        object.__setattr__(self, "hyperparameters", hyper)

    def make(
        self, steps_per_epoch: int | None = None, total_steps: int | None = None
    ) -> optimizers.Optimizer:
        """The optimizer this trial trains with, for a run of ``total_steps`` updates,
        ``steps_per_epoch`` per epoch (a schedule's epochs become steps, and it lasts the
        run by default). Without them (the data not loaded yet) the hyper-parameters and
        the schedule's form only are checked: see :func:`make_optimizer`."""
        return make_optimizer(
            self.optimizer, self.hyperparameters, self.options, steps_per_epoch, total_steps
        )

    @property
    def label(self) -> str:
        """``"adam (lr=0.01, beta1=0.9, ...)"``: the setting, without the seed."""
        return optimizers.describe(self.optimizer, self.hyperparameters, self.options)


def hyperparameters_json(hyperparameters: dict[str, Any]) -> dict[str, Any]:
    """Hyper-parameters for strict JSON: an infinite value (Prodigy's ``growth_rate``) as
    the string ``"inf"`` or ``"-inf"``."""
    return {
        k: ("inf" if v > 0 else "-inf") if isinstance(v, float) and math.isinf(v) else v
        for k, v in hyperparameters.items()
    }


def hyperparameters_from_json(hyperparameters: dict[str, Any]) -> dict[str, Any]:
    """The inverse of :func:`hyperparameters_json`."""
    return {k: float(v) if v in ("inf", "-inf") else v for k, v in hyperparameters.items()}


def make_optimizer(
    name: str,
    hyperparameters: dict[str, float],
    options: dict[str, Any],
    steps_per_epoch: int | None = None,
    total_steps: int | None = None,
) -> optimizers.Optimizer:
    """The optimizer ``name`` with its hyper-parameters and the command line's options (a
    schedule as ``NAME[:key=value,...]``, durations in epochs).

    The schedule is made once, here, against the run's real steps: ``steps_per_epoch``
    and ``total_steps`` (:func:`schedules.parse`). With ``total_steps=None`` the
    run is not known yet (before the data is loaded): the schedule's form only is
    checked (:func:`schedules.check`; a ``steps_per_epoch`` given then is not used) and
    the optimizer, built to check the hyper-parameters and options, holds a constant
    schedule in its place (so one without a learning rate still refuses a schedule):
    train with the optimizer made once the run is known.
    """
    options = dict(options)
    if "schedule" in options:
        if total_steps is None:
            schedules.check(options["schedule"])
            options["schedule"] = schedules.Constant()
        else:
            options["schedule"] = schedules.parse(
                options["schedule"], steps_per_epoch=steps_per_epoch, total_steps=total_steps
            )
    return optimizers.get(name, **hyperparameters, **options)


#: What an experiment can evaluate after every epoch (see :attr:`Setting.evaluate`).
EVALUATE = ("test", "validation", "both")
#: Fields added after results files were first written, with their defaults: left
#: out of :meth:`Setting.to_dict` at the default, so older experiments still resume.
_ADDED: dict[str, Any] = {
    "validation": None,
    "evaluate": "test",
    "init": "uniform",
    "problem": "report",
    "noise": None,
    "split_seed": None,
}


@dataclass
class Setting:
    """Everything that determines an experiment's results (so: what a resume must match)."""

    kind: str
    passes: list[list[Trial]]
    layers: list[int] = field(default_factory=lambda: [784, 30, 10])
    activation: str = "sigmoid"
    output: str = "sigmoid"
    epochs: int = 40
    batch_size: int = 10
    dtype: str = "float32"
    device: str = "cpu"
    library: str | None = None  # None: NumPy on cpu, CuPy on cuda
    data: str | None = None  # an IDX directory; None: the packaged MNIST
    limit_train: int | None = None
    #: Training samples held out as a validation set (``optimlab benchmark``): drawn
    #: once by :attr:`split_seed`, never trained on.
    validation: int | None = None
    #: What is evaluated after every epoch besides the training loss: ``"test"``,
    #: ``"validation"`` (the test set is never read) or ``"both"``.
    evaluate: str = "test"
    #: How the networks are initialized (:data:`optimlab.nn.layout.INITS`).
    init: str = "uniform"
    #: The test problem (:mod:`optimlab.problems`), given by name or as the object and
    #: kept as the object (resolved once, here); results files record its name. A
    #: function problem trains a point (loss only: every accuracy is nan); a network
    #: problem's network is the fields above.
    problem: problems.Problem = "report"  # type: ignore[assignment]
    #: A noisy function's noise level (the standard deviation of its samples); None: the
    #: problem's own (DeepOBS's ``noise_level``).
    noise: float | None = None
    #: The seed that draws the validation split
    #: (:func:`~optimlab.experiment.data.split_validation`); None:
    #: :data:`~optimlab.experiment.data.SPLIT_SEED`, as in every setting written before
    #: a benchmark's studies drew splits of their own.
    split_seed: int | None = None

    def __post_init__(self) -> None:
        self.problem = problems.get(self.problem)
        if self.evaluate not in EVALUATE:
            raise ConfigError(
                f"evaluate must be one of {', '.join(EVALUATE)}, not {self.evaluate!r}"
            )
        if self.evaluate != "test" and self.validation is None:
            raise ConfigError(f"evaluate={self.evaluate!r} needs a validation split")
        if self.split_seed is not None and (
            isinstance(self.split_seed, bool)
            or not isinstance(self.split_seed, int)
            or self.split_seed < 0
        ):
            raise ConfigError(f"split_seed must be an integer >= 0, not {self.split_seed!r}")

    @property
    def trials(self) -> list[Trial]:
        """Every trial, pass after pass."""
        return [trial for trials in self.passes for trial in trials]

    def model_name(self, index: int) -> str:
        """The file name (without ``.npz``) of pass ``index``'s trained model.

        A comparison's pass of one optimizer is named after it (``adam``); any
        other pass is ``pass-<index>``.
        """
        names = {trial.optimizer for trial in self.passes[index]}
        if self.kind == "compare" and len(names) == 1:
            return names.pop()
        return f"pass-{index}"

    def to_dict(self) -> dict[str, Any]:
        """Plain Python values, ready for JSON (the ``setting`` of ``results.json``)."""
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        d["problem"] = self.problem.name
        d["layers"] = list(self.layers)
        for name, default in _ADDED.items():  # as settings were written before them
            if d[name] == default:
                del d[name]
        d["passes"] = [
            [
                {**asdict(t), "hyperparameters": hyperparameters_json(t.hyperparameters)}
                for t in trials
            ]
            for trials in self.passes
        ]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Setting:
        """The setting :meth:`to_dict` described."""
        d = dict(d)
        d["passes"] = [[Trial(**trial) for trial in trials] for trials in d["passes"]]
        return cls(**d)


def compare_setting(
    hyperparameters: dict[str, dict[str, float]],
    seeds: Sequence[int],
    *,
    one_pass: bool = False,
    options: dict[str, dict[str, Any]] | None = None,
    **common: Any,
) -> Setting:
    """One pass per optimizer (``name -> its hyper-parameters``), its seeds as the members;
    ``options``: ``name -> its options`` (see :attr:`Trial.options`).

    With ``one_pass``, every optimizer and seed are the members of a single pass: the
    fastest on a GPU, where a step costs little more for 35 members than for one,
    but then the optimizers share one wall time.
    """
    options = options or {}
    passes = [
        [Trial(name, dict(hyper), int(s), dict(options.get(name, {}))) for s in seeds]
        for name, hyper in hyperparameters.items()
    ]
    if one_pass:
        passes = [[trial for trials in passes for trial in trials]]
    return Setting("compare", passes, **common)


def sweep_setting(
    optimizer: str,
    hyperparameters: dict[str, float],
    lrs: Sequence[float],
    seeds: Sequence[int],
    *,
    max_members: int = 128,
    options: dict[str, Any] | None = None,
    **common: Any,
) -> Setting:
    """Every learning rate x seed as members of as few passes as ``max_members`` allows;
    ``options`` apply to every trial (see :attr:`Trial.options`)."""
    trials = [
        Trial(optimizer, {**hyperparameters, "lr": float(lr)}, int(s), dict(options or {}))
        for lr in lrs
        for s in seeds
    ]
    passes = [trials[i : i + max_members] for i in range(0, len(trials), max_members)]
    return Setting("sweep", passes, **common)


def check_memory(layers: Sequence[int], members: int, dtype: str, device: str) -> None:
    """Refuse, before anything is allocated, a pass that cannot fit in this machine's memory.

    The estimate is ``members x parameters x itemsize x 6`` (parameters, gradient,
    up to three optimizer accumulators, one temporary), against the physical memory
    (on the CPU only: a GPU's memory is the library's to report).

    Raises
    ------
    ConfigError
        With the bytes needed and the bytes the machine has.
    """
    if device != "cpu" or not hasattr(os, "sysconf"):
        return
    try:
        physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        return
    parameters = sum((a + 1) * b for a, b in itertools.pairwise(layers))
    needed = members * parameters * (8 if dtype == "float64" else 4) * _COPIES
    if needed > physical:
        raise ConfigError(
            f"{members} member(s) of a {'-'.join(map(str, layers))} network need about "
            f"{needed / 2**30:.1f} GiB to train, and this machine has "
            f"{physical / 2**30:.1f} GiB: "
            + ("use smaller layers" if members == 1 else "use fewer seeds or smaller layers")
        )
