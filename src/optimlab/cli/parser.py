"""The command line's arguments: one parser with a sub-command each.

Argument types check their value with the library's own checks
(:mod:`optimlab._checks`) and turn a refusal into argparse's error: one sentence,
exit code 2.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

from .. import _checks, optimizers, problems, schedules, trajectories
from .._checks import positive_int, seeds
from .._version import __version__
from ..benchmark.plan import MAX_STUDIES, MAX_STUDY_SEED, PROBLEMS, SEARCHES
from ..benchmark.selection import SELECT
from ..errors import ConfigError
from ..nn import activations, losses
from ..optimizers.base import parameter_names
from ..problems import DEFAULT, surfaces

__all__ = ["HYPERPARAMETERS", "build_parser", "optimizer_options", "setting_options"]

#: Every hyper-parameter of the registered optimizers, in order of first appearance (set
#: at the end of this module, once plugins whose names clash with an option are refused).
HYPERPARAMETERS: tuple[str, ...] = ()


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _positive(name: str) -> Callable[[str], int]:
    """An argument type: a positive integer, checked as the library checks ``name``."""

    def parse(text: str) -> int:
        try:
            value: Any = int(text)
        except ValueError:
            value = text
        try:
            return positive_int(name, value)
        except ConfigError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    return parse


def _seed(text: str) -> int:
    try:
        value: Any = int(text)
    except ValueError:
        value = text
    try:
        return seeds(value, None, "seeds")[0]
    except ConfigError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _schedule(text: str) -> str:
    """An argument type: a schedule ``NAME[:key=value,...]``, its form checked now (its
    durations in epochs become steps once the training set's size is known)."""
    try:
        schedules.check(text)
    except ConfigError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text


def _schedules(text: str) -> list[str]:
    """An argument type: schedules separated by commas, ``constant,warmup_cosine:warmup=1``;
    a piece ``key=value`` without a name continues the schedule before it
    (``wsd:warmup=0.5,decay=2,cosine`` is wsd's two arguments, then cosine). Each is
    checked as ``--schedule``'s text is."""
    found: list[str] = []
    for piece in text.split(","):
        if "=" in piece and ":" not in piece and found:
            found[-1] += f",{piece}"
        else:
            found.append(piece.strip())
    try:
        for schedule in found:
            schedules.check(schedule, option="--schedules")
    except ConfigError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    if len(set(found)) != len(found):
        raise argparse.ArgumentTypeError("each schedule may be named once in --schedules")
    return found


def _clip(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = None
    if value is None or not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"--clip-norm takes a number > 0, not {text!r}")
    return value


def _layers(text: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--layers takes comma-separated integers such as 784,30,10, not {text!r}"
        ) from None


def _numbers(text: str) -> list[float]:
    try:
        numbers = [float(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated numbers such as 0.001,0.01, not {text!r}"
        ) from None
    return _unique(numbers, text)


def _names(text: str, example: str = "sgd,adam") -> list[str]:
    names = [part.strip().lower() for part in text.split(",") if part.strip()]
    if not names:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated names such as {example}, not {text!r}"
        )
    return _unique(names, text)


def _unique(values: list[Any], text: str) -> list[Any]:
    """``values``, refused if one is given twice (it would count as another trial)."""
    for k, value in enumerate(values):
        if value in values[:k]:
            shown = format(value, "g") if isinstance(value, float) else value
            raise argparse.ArgumentTypeError(f"{shown} is given twice in {text!r}")
    return values


def build_parser() -> argparse.ArgumentParser:
    """The ``optimlab`` parser; ``args.command`` names the sub-command chosen."""
    parser = _Parser(
        prog="optimlab",
        description="Compare neural-network optimizers on MNIST, on NumPy (cpu) or CuPy (cuda).",
    )
    parser.add_argument("--version", action="version", version=f"optimlab {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    _add_train(commands)
    _add_compare(commands)
    _add_sweep(commands)
    _add_plot(commands)
    _add_evaluate(commands)
    _add_benchmark(commands)
    _add_trajectories(commands)
    return parser


def _registered() -> str:
    """The registered optimizers' names, as the parser is built (clashing plugins out)."""
    return ", ".join(optimizers.OPTIMIZERS)


def _add_train(commands: Any) -> None:
    train = commands.add_parser(
        "train",
        help="train one network with one optimizer",
        description="Train one MLP with one optimizer and report test accuracy and loss per "
        "epoch. The defaults are the lab report's setting: 784-30-10 sigmoid network, batch 10, "
        "40 epochs.",
    )
    _add_setting(train)
    train.add_argument(
        "--optimizer", default="sgd", type=str.lower, help=f"one of {_registered()}; default sgd"
    )
    _add_hyperparameters(
        train, "Unset ones take the report's values for the chosen optimizer.", HYPERPARAMETERS
    )
    train.add_argument(
        "--seed", type=_seed, default=0, help="seed of initialization and shuffles (0)"
    )
    train.add_argument("--save", metavar="FILE", help="write the trained model (.npz, or .json)")
    train.add_argument(
        "--checkpoint", metavar="FILE", help="save where training stands after every epoch (.npz)"
    )
    train.add_argument(
        "--resume",
        action="store_true",
        help="continue from --checkpoint FILE, bit for bit, up to --epochs",
    )
    train.add_argument(
        "--limit-train",
        type=_positive("limit_train"),
        metavar="N",
        help="train on the first N training samples only",
    )
    train.add_argument("--quiet", action="store_true", help="print only the final figures")


def _add_compare(commands: Any) -> None:
    compare = commands.add_parser(
        "compare",
        help="the report's experiment: several optimizers side by side",
        description="Train every chosen optimizer (default: all seven with the report's "
        "hyper-parameters) for several seeds, and write results.json, results.csv, "
        "accuracy.png, loss.png and misclassified.png into DIR. The seeds of one optimizer "
        "train together as the members of one pass; the passes run in parallel on every "
        "usable core (--jobs).",
    )
    _add_setting(compare)
    compare.add_argument(
        "--optimizers",
        type=_names,
        default=list(optimizers.REPORT),
        help=f"comma-separated, from {_registered()} (the report's seven)",
    )
    compare.add_argument(
        "--seeds",
        type=_positive("seeds"),
        default=1,
        help="seeds per optimizer: 0, 1, ..., N-1 (1)",
    )
    compare.add_argument(
        "--one-pass",
        action="store_true",
        help="train every optimizer and seed as members of one pass (fastest on a GPU; the "
        "optimizers then share one wall time)",
    )
    compare.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME.PARAM=VALUE",
        help="override one hyper-parameter or option of one optimizer, e.g. adam.lr=0.001, "
        "adamw.schedule=cosine, sgd.clip_norm=1, adamw.decay_biases=false (repeatable)",
    )
    _add_output(compare)


def _add_sweep(commands: Any) -> None:
    sweep = commands.add_parser(
        "sweep",
        help="one optimizer over a grid of learning rates and seeds",
        description="Train one optimizer for every learning rate and seed, all as members of "
        "one pass (in chunks of --max-members), and report the mean and spread per learning "
        "rate, the best one first. Writes what compare writes, plus sensitivity.png.",
    )
    _add_setting(sweep)
    sweep.add_argument("--optimizer", required=True, type=str.lower, help=f"one of {_registered()}")
    sweep.add_argument(
        "--lr", type=_numbers, required=True, metavar="X,Y,...", help="learning rates to try"
    )
    _add_hyperparameters(
        sweep,
        "Fixed for every trial; unset ones take the report's values.",
        [name for name in HYPERPARAMETERS if name != "lr"],
    )
    sweep.add_argument(
        "--seeds",
        type=_positive("seeds"),
        default=5,
        help="seeds per learning rate: 0, ..., N-1 (5)",
    )
    sweep.add_argument(
        "--max-members",
        type=_positive("max_members"),
        default=128,
        help="most trials trained in one pass (128); a smaller value makes more passes to "
        "spread over --jobs",
    )
    _add_output(sweep)


def _add_plot(commands: Any) -> None:
    plot = commands.add_parser(
        "plot",
        help="draw the figures of a results.json again, without training",
        description="Draw accuracy.png and loss.png (and a sweep's sensitivity.png) from a "
        "results.json written by compare or sweep.",
    )
    plot.add_argument("results", metavar="RESULTS", help="a results.json")
    plot.add_argument("--out", metavar="DIR", help="where to draw (default: beside RESULTS)")


def _add_evaluate(commands: Any) -> None:
    evaluate = commands.add_parser(
        "evaluate",
        help="score a saved model on the test set",
        description="Score a model saved by train --save or compare (the portable .npz "
        "format, or the report's JSON format) on the test set.",
    )
    evaluate.add_argument("model", metavar="MODEL", help="a .npz or .json model file")
    evaluate.add_argument("--device", default="cpu", help="cpu or cuda (cpu)")
    evaluate.add_argument("--backend", choices=["numpy", "cupy", "torch"], help="array library")
    evaluate.add_argument("--data-dir", metavar="DIR", help="IDX directory instead of MNIST")


#: The default budget of ``--grid`` and ``--trials``.
BUDGET = 8
#: The default epochs of every trial and final run: the default benchmark of every
#: registered optimizer fits in 15 minutes on two cores (docs/benchmark.md).
EPOCHS = 3


def _add_schedules(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--schedules",
        type=_schedules,
        metavar="S1,S2,...",
        help="compare schedules: each optimizer with each schedule is a method of its own, "
        "tuned, selected and rerun with the full budget, its row named optimizer+schedule "
        "(constant: the optimizer's constant rate); e.g. constant,cosine,warmup_cosine:warmup=1 "
        "(docs/benchmark.md, Schedules)",
    )


def _add_benchmark(commands: Any) -> None:
    parser = commands.add_parser(
        "benchmark",
        help="a fair comparison: every optimizer tuned with the same budget on a "
        "validation split, then rerun with fresh seeds",
        description="Hold out --validation training samples; give every optimizer the same "
        "budget of tuning trials (--grid log-spaced learning rates, or --trials quasi-random "
        "points of its search space), all trained for --epochs; select each optimizer's "
        "setting from validation figures only (--select, or --target); rerun it with --seeds "
        "fresh seeds. All of it is repeated in --studies independent studies (their own "
        "seeds, split and search sequence, from --study-seed); the report pools their "
        "test accuracy and loss. Writes results.json, results.csv, sensitivity.png, "
        "accuracy.png, loss.png and report.md into DIR.",
    )
    _add_setting(parser, problem=False, epochs=f"{EPOCHS}, every trial and final run")
    parser.add_argument(
        "--optimizers",
        type=lambda text: list(optimizers.OPTIMIZERS) if text.strip() == "all" else _names(text),
        default=[n for n, cls in optimizers.OPTIMIZERS.items() if cls.default_benchmark],
        help="comma-separated names, or all (default: every registered optimizer but those "
        "whose step is too slow for it on the CPU, as soap's)",
    )
    parser.add_argument(
        "--search", choices=SEARCHES, default="grid", help="grid (learning rate only) or random"
    )
    parser.add_argument(
        "--grid",
        type=_positive("grid"),
        metavar="N",
        help=f"learning rates per optimizer ({BUDGET})",
    )
    parser.add_argument(
        "--trials",
        type=_positive("trials"),
        metavar="N",
        help=f"trials per optimizer with --search random ({BUDGET})",
    )
    parser.add_argument(
        "--search-seed",
        type=int,
        metavar="S",
        help="added to each study's seed of the random search (0); a grid takes none",
    )
    parser.add_argument(
        "--seeds",
        type=_positive("seeds"),
        default=5,
        help="final runs per optimizer and study, with seeds of the study's own (5)",
    )
    parser.add_argument(
        "--studies",
        type=_positive("studies"),
        default=3,
        metavar="N",
        help="repeat the tuning, the selection and the final runs N times, each study with "
        "its own seeds, validation split and search sequence; the table pools them "
        f"(3, as AlgoPerf; at most {MAX_STUDIES})",
    )
    parser.add_argument(
        "--study-seed",
        type=_study_seed,
        default=0,
        metavar="S",
        help="the seed every study's seeds derive from (0; docs/benchmark.md, Studies)",
    )
    parser.add_argument(
        "--validation",
        type=_positive("validation"),
        metavar="N",
        help="training samples held out for tuning and selection (the problem's own: "
        "10000 on MNIST); a "
        "loss-only problem holds out its own",
    )
    parser.add_argument(
        "--select",
        choices=SELECT,
        default="val_loss",
        help="selection at the last epoch (val_loss)",
    )
    parser.add_argument(
        "--target",
        type=_accuracy,
        metavar="ACC",
        help="select by the fewest epochs to this validation accuracy (0.97 or 97%%), and "
        "time every optimizer to it instead of each problem's own target",
    )
    _add_schedules(parser)
    parser.add_argument(
        "--problems",
        type=lambda text: _names(text, "report,mnist_mlp"),
        default=list(PROBLEMS),
        help=f"comma-separated, from {', '.join(problems.PROBLEMS)} (report); with several, "
        "a performance profile across them",
    )
    _add_output(parser)


def _study_seed(text: str) -> int:
    """An argument type: an integer from 0 to :data:`MAX_STUDY_SEED`."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= MAX_STUDY_SEED:
        raise argparse.ArgumentTypeError(
            f"study_seed must be an integer from 0 to {MAX_STUDY_SEED:,}, not {text!r}"
        )
    return value


def _accuracy(text: str) -> float:
    value = text.strip()
    percent = value.endswith("%")
    try:
        number = float(value.removesuffix("%"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an accuracy such as 0.97 or 97%"
        ) from None
    number = number / 100 if percent else number
    if not 0 < number <= 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not an accuracy in (0, 1] or (0%, 100%]")
    return number


def _add_trajectories(commands: Any) -> None:
    parser = commands.add_parser(
        "trajectories",
        help="optimizers' paths on a 2-D test function (rosenbrock, beale, branin)",
        description="Run each optimizer from the function's DeepOBS starting point and "
        "write trajectories.json (the points of every path, the start first), "
        "trajectories.png (the paths over the function's contours) and, with --gif, "
        "trajectories.gif into DIR. The gradient carries DeepOBS's noise: the mean of a "
        "batch of 128 of its 10,000 normal draws, scaled by --noise.",
    )
    parser.add_argument(
        "--problem",
        dest="surface",
        default="rosenbrock",
        metavar="NAME",
        help=f"the function: {', '.join(surfaces.SURFACES)} (rosenbrock)",
    )
    parser.add_argument(
        "--optimizers",
        type=_names,
        default=list(trajectories.DEFAULT_OPTIMIZERS),
        metavar="NAMES",
        help=f"comma-separated, from {', '.join(optimizers.OPTIMIZERS)} "
        f"({','.join(trajectories.DEFAULT_OPTIMIZERS)}); "
        "each with the problem's default learning rate",
    )
    parser.add_argument(
        "--steps",
        type=_positive("steps"),
        default=surfaces.DEFAULT_STEPS,
        metavar="N",
        help=f"steps per optimizer ({surfaces.DEFAULT_STEPS}; "
        f"{trajectories.STEPS_PER_EPOCH} steps are one DeepOBS epoch)",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME.PARAM=VALUE",
        help="override one hyper-parameter or option of one optimizer, e.g. sgd.lr=0.001 "
        "or adam.schedule=cosine (repeatable)",
    )
    parser.add_argument(
        "--noise",
        type=float,
        default=1.0,
        metavar="X",
        help="standard deviation of DeepOBS's data (1.0, its noise_level); 0: the exact function",
    )
    parser.add_argument(
        "--seed",
        type=_seed,
        default=0,
        metavar="S",
        help="seed of the batches' order (0); same seed, same paths",
    )
    parser.add_argument("--gif", action="store_true", help="also write trajectories.gif")
    parser.add_argument(
        "--out", metavar="DIR", required=True, help="directory for the files (created)"
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="replace trajectory files already in DIR"
    )


def _add_setting(
    parser: argparse.ArgumentParser, *, problem: bool = True, epochs: str = "report: 40"
) -> None:
    """The options every training command shares; the network, its batch size and epochs
    default to the problem's (``--problem``, the report's network unless named)."""
    if problem:
        parser.add_argument(
            "--problem",
            default=DEFAULT,
            choices=list(problems.PROBLEMS),
            help="test problem: its network, data, batch size and epochs are the defaults "
            "of the options below (report: the lab report's network on MNIST); "
            "quadratic_deep, rosenbrock, beale and branin train a point on a noisy function",
        )
        parser.add_argument(
            "--noise",
            type=float,
            metavar="X",
            help="a noisy function's noise level, the standard deviation of its samples "
            "(DeepOBS's: quadratic_deep 0.6, the 2-D functions 1.0); 0: the exact function",
        )
    parser.add_argument(
        "--backend",
        choices=["numpy", "cupy", "torch"],
        help="array library (default: numpy on cpu, cupy on cuda; torch on cuda replays "
        "each training step as a captured CUDA graph)",
    )
    parser.add_argument("--device", default="cpu", help="cpu (NumPy) or cuda (CuPy); default cpu")
    parser.add_argument(
        "--epochs", type=_positive("epochs"), help=f"passes over the training set ({epochs})"
    )
    parser.add_argument(
        "--batch-size", type=_positive("batch_size"), help="samples per step (report: 10)"
    )
    parser.add_argument("--layers", type=_layers, help="layer sizes (report: 784,30,10)")
    parser.add_argument(
        "--activation",
        choices=list(activations.ACTIVATIONS),
        help="hidden activation (report: sigmoid)",
    )
    parser.add_argument(
        "--output",
        choices=list(losses.OUTPUTS),
        help="output layer and cost: sigmoid + binary cross-entropy (the report's) or softmax",
    )
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        help="directory with the four IDX files (train-images-idx3-ubyte[.gz], "
        "...) instead of the problem's data set (the packaged MNIST for report)",
    )
    _add_optimizer_options(parser)


#: The options a problem gives defaults to, and its fields of the same meaning.
_PROBLEM_FIELDS = ("layers", "activation", "output", "batch_size", "epochs")


def resolve_problem(args: argparse.Namespace) -> None:
    """Fill in what the command line left to ``args.problem``: the network, batch size,
    epochs, initialization (``args.init``) and data directory (a data set other than
    MNIST is fetched into the cache once; see :func:`optimlab.datasets.fetch`)."""
    problem = problems.get(args.problem)
    if args.noise is not None:  # None: the problem's own level
        if not problem.noisy:  # even 0: a network problem has no noise to set
            raise ConfigError(f"--noise does not apply to {problem.name}: it has no noise model")
        args.noise = _checks.noise(problem.name, args.noise, True)
    if not problem.trains_network:  # a point, not a network: no network options apply
        given = [n for n in ("layers", "activation", "output") if getattr(args, n) is not None]
        if given:
            raise ConfigError(
                f"--{given[0]} does not apply to {problem.name}: it trains a point, not a network"
            )
    defaults = problem.setting()
    for name in _PROBLEM_FIELDS:
        if getattr(args, name, None) is None:
            setattr(args, name, defaults[name])
    args.init = defaults["init"]
    args.data_dir = problem.data_directory(args.data_dir)


def _add_optimizer_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "optimizer options",
        "For every optimizer trained (compare: --set NAME.schedule=... for one).",
    )
    group.add_argument(
        "--schedule",
        type=_schedule,
        metavar="NAME[:K=V,...]",
        help="learning-rate schedule: constant, step, multistep, exponential, cosine, linear, "
        "one_cycle, warmup_cosine, wsd; durations in epochs (fractions allowed), e.g. "
        "warmup_cosine:warmup=1 or wsd:warmup=0.5,decay=2; total defaults to the run",
    )
    group.add_argument(
        "--clip-norm",
        type=_clip,
        metavar="X",
        help="clip each step's gradient to global norm X (as torch's clip_grad_norm_)",
    )
    group.add_argument(
        "--no-decay-biases",
        dest="decay_biases",
        action="store_false",
        help="apply --weight-decay to the weight matrices only, not the biases",
    )
    group.add_argument(
        "--keep-subnormals",
        dest="flush_subnormals",
        action="store_false",
        help="strict IEEE arithmetic of the accumulators: by default, on a CPU, their entries "
        "below the dtype's smallest normal number are set to 0 every 64 steps (a CPU computes "
        "slowly on them; results are the same but for sign-based rules such as Lion)",
    )


def optimizer_options(args: argparse.Namespace) -> dict[str, Any]:
    """The optimizer options given on the command line (only those not at their defaults)."""
    options: dict[str, Any] = {}
    if args.schedule is not None:
        options["schedule"] = args.schedule
    if args.clip_norm is not None:
        options["clip_norm"] = args.clip_norm
    if not args.decay_biases:
        options["decay_biases"] = False
    if not args.flush_subnormals:
        options["flush_subnormals"] = False
    return options


def _add_hyperparameters(parser: argparse.ArgumentParser, title: str, names: Any) -> None:
    group = parser.add_argument_group("hyper-parameters", title)
    takers = {
        name: [o for o, cls in optimizers.OPTIMIZERS.items() if name in parameter_names(cls)]
        for name in names
    }
    for name in names:  # weight_decay is --weight-decay, as options are spelled
        flag = f"--{name.replace('_', '-')}"
        kind = _declared_type(name)
        some = takers[name] if len(takers[name]) <= 4 else []  # a few: name them
        group.add_argument(
            flag,
            dest=name,
            type={bool: _switch, int: _integer}.get(kind, float)(flag) if kind else float,
            metavar={bool: "{true,false}", int: "N"}.get(kind, "X"),
            help=f"({', '.join(some)})" if some else None,
        )


def _declared_type(name: str) -> type | None:
    """What the optimizers that declare ``name`` take: ``bool`` or ``int`` where all that
    take it declare so, else None (a number)."""
    kinds = {
        cls.declared[name].type if name in cls.declared else float
        for cls in optimizers.OPTIMIZERS.values()
        if name in parameter_names(cls)
    }
    return kinds.pop() if len(kinds) == 1 and kinds != {float} else None


def _switch(flag: str) -> Callable[[str], bool]:
    """An argument type: a switch, ``true``/``false`` (or ``1``/``0``, ``yes``/``no``)."""

    def parse(text: str) -> bool:
        word = text.strip().lower()
        if word in ("true", "1", "1.0", "yes", "on"):
            return True
        if word in ("false", "0", "0.0", "no", "off"):
            return False
        raise argparse.ArgumentTypeError(f"{flag} takes true or false, not {text!r}")

    return parse


def _integer(flag: str) -> Callable[[str], int]:
    """An argument type: an integer (``5`` or ``5.0``); its range is the optimizer's check."""

    def parse(text: str) -> int:
        try:
            return int(text)
        except ValueError:
            pass
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not value.is_integer():
            raise argparse.ArgumentTypeError(f"{flag} takes an integer, not {text!r}")
        return int(value)

    return parse


def _option_names(parser: argparse.ArgumentParser) -> set[str]:
    """The destinations and spellings (without dashes, ``_`` for ``-``) of every option of
    ``parser`` and its sub-commands."""
    names: set[str] = set()
    for action in parser._actions:
        names.add(action.dest)
        names.update(s.lstrip("-").replace("-", "_") for s in action.option_strings)
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                names |= _option_names(sub)
    return names


def _refuse_clashing_plugins() -> tuple[str, ...]:
    """Skip (with a ``PluginWarning``) each plugin with a hyper-parameter named as an option
    of the commands (``--epochs``, ``--seed``, ``--help``): its flag would break every
    command. Returns every hyper-parameter of the optimizers left, in order."""
    reserved = _option_names(build_parser())  # built without hyper-parameter flags
    builtin = [c for n, c in optimizers.OPTIMIZERS.items() if n not in optimizers.PLUGINS]
    reserved -= {k for cls in builtin for k in parameter_names(cls)}  # sweep's --lr X,Y,...
    for name, cls in list(optimizers.PLUGINS.items()):
        clash = [k for k in parameter_names(cls) if k in reserved]
        if clash:
            optimizers.skip_plugin(
                name,
                f"its hyper-parameter {clash[0]!r} is named as the command line's option "
                f"--{clash[0].replace('_', '-')}",
            )
    return tuple(
        dict.fromkeys(k for cls in optimizers.OPTIMIZERS.values() for k in parameter_names(cls))
    )


def _add_output(parser: argparse.ArgumentParser) -> None:
    """The options of the experiment commands: where the passes run, where results go."""
    parser.add_argument(
        "--jobs",
        type=_positive("jobs"),
        metavar="N",
        help="worker processes that run the passes here (default: one per usable core); "
        "--jobs 1 runs them one after the other in this process. The figures are the same",
    )
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run the passes on a Dask cluster instead: tcp://host:8786, or local:N for N "
        "Dask worker processes here (pip install 'optimlab[distributed]'); excludes --jobs",
    )
    parser.add_argument(
        "--out",
        metavar="DIR",
        required=True,
        help="directory for results.json, results.csv, figures and models",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue the experiment in DIR from the last complete epoch of each pass",
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="replace an experiment already in DIR"
    )
    parser.add_argument(
        "--limit-train",
        type=_positive("limit_train"),
        metavar="N",
        help="train on the first N training samples only (quick looks, tests)",
    )
    parser.add_argument("--quiet", action="store_true", help="print only the final table")


def setting_options(args: argparse.Namespace) -> dict[str, Any]:
    """The options every training command shares, as a setting's fields."""
    return {
        "layers": args.layers,
        "activation": args.activation,
        "output": args.output,
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "dtype": args.dtype,
        "device": args.device,
        "library": args.backend,
        "limit_train": args.limit_train,
        "data": str(Path(args.data_dir).resolve()) if args.data_dir else None,
        # left out at the report's, so that older checkpoints still resume
        **({"init": args.init} if getattr(args, "init", "uniform") != "uniform" else {}),
        **(
            {"problem": args.problem}
            if getattr(args, "problem", None) not in (None, DEFAULT)
            else {}
        ),
        **({"noise": args.noise} if getattr(args, "noise", None) is not None else {}),
    }


HYPERPARAMETERS = _refuse_clashing_plugins()
