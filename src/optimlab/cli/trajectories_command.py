"""``optimlab trajectories``: optimizers' paths on DeepOBS's 2-D test functions.

::

    optimlab trajectories --problem rosenbrock --optimizers sgd,momentum,adam,lion \\
        --steps 500 --out runs/valley [--gif] [--set adam.lr=0.1] [--noise 0] [--seed 1]

writes ``trajectories.json``, ``trajectories.png`` and, with ``--gif``,
``trajectories.gif`` into ``--out`` (see :mod:`optimlab.trajectories`).

``--problem`` is stored as ``args.surface``: the command line fills in a network
problem's settings for every command with an ``args.problem``, and these problems are
not networks.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .. import optimizers, problems, surfaces
from ..errors import ConfigError
from ..experiment.settings import make_optimizer
from ..trajectories import (
    STEPS_PER_EPOCH,
    default_hyperparameters,
    prepare_output,
    run_trajectories,
    write_trajectories,
)
from .experiment_commands import _number, _option, _parse_set
from .parser import _names, _positive, _seed

__all__ = ["DEFAULT_OPTIMIZERS", "add_parser", "trajectories_command"]

#: What ``--optimizers`` defaults to: plain, heavy-ball, adaptive and sign-based steps.
DEFAULT_OPTIMIZERS = ("sgd", "momentum", "adam", "lion")


def add_parser(commands: Any) -> argparse.ArgumentParser:
    """Add the ``trajectories`` sub-command to ``commands`` (an ``add_subparsers`` result)."""
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
        default=list(DEFAULT_OPTIMIZERS),
        metavar="NAMES",
        help=f"comma-separated, from {', '.join(optimizers.OPTIMIZERS)} "
        f"({','.join(DEFAULT_OPTIMIZERS)}); each with the problem's default learning rate",
    )
    parser.add_argument(
        "--steps",
        type=_positive("steps"),
        default=surfaces.DEFAULT_STEPS,
        metavar="N",
        help=f"steps per optimizer ({surfaces.DEFAULT_STEPS}; "
        f"{STEPS_PER_EPOCH} steps are one DeepOBS epoch)",
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
    return parser


def trajectories_command(args: argparse.Namespace) -> int:
    """Run the optimizers on the surface and write the files; 1 if every path diverged."""
    surface = _surface(args.surface)
    noise = surfaces.check_noise(surface, args.noise)
    chosen = _optimizers(args, surface)
    # the directory is checked before the runs: a bad --out fails at once
    out = prepare_output(args.out, gif=args.gif, overwrite=args.overwrite)
    runs = run_trajectories(surface, chosen, args.steps, noise=noise, seed=args.seed)
    setting = {"steps": args.steps, "noise": noise, "seed": args.seed}
    paths = write_trajectories(
        runs, surface, out, gif=args.gif, overwrite=args.overwrite, setting=setting
    )
    for run in runs:
        u, v = run.points[-1]
        if run.diverged_at is None:
            ending = f"ends at ({u:.4g}, {v:.4g}), f = {float(surface.value(run.points[-1])):.4g}"
        else:
            ending = f"diverged at step {run.diverged_at}"
        print(f"{run.label}: {ending}")
    for path in paths:
        print(f"wrote {path}")
    if all(run.diverged_at is not None for run in runs):
        print(
            "optimlab trajectories: every path diverged; try smaller rates (--set NAME.lr=X)",
            file=sys.stderr,
        )
        return 1
    return 0


def _surface(name: str) -> surfaces.Surface:
    """The surface named ``name``; a network problem's name gets its own sentence."""
    if name in problems.PROBLEMS:
        raise ConfigError(
            f"{name} is a network problem, not a 2-D function: trajectories takes "
            f"{', '.join(surfaces.SURFACES)}"
        )
    return surfaces.get(name)


def _optimizers(args: argparse.Namespace, surface: surfaces.Surface) -> list[optimizers.Optimizer]:
    """The optimizers of ``--optimizers`` with the surface's defaults and ``--set``."""
    unknown = [n for n in args.optimizers if n not in optimizers.OPTIMIZERS]
    if unknown:
        raise ConfigError(
            f"unknown optimizer {unknown[0]!r}: choose from {', '.join(optimizers.OPTIMIZERS)}"
        )
    hyper = {name: default_hyperparameters(surface, name) for name in args.optimizers}
    options: dict[str, dict[str, Any]] = {name: {} for name in args.optimizers}
    for item in args.set:
        name, param, value = _parse_set(item)
        if name not in hyper:
            raise ConfigError(
                f"--set {item}: {name} is not among the optimizers run "
                f"({', '.join(args.optimizers)})"
            )
        if param in optimizers.OPTIONS:
            options[name][param] = _option(item, param, value)
        else:
            hyper[name][param] = _number(item, value)
    return [
        make_optimizer(name, hyper[name], options[name], STEPS_PER_EPOCH, args.steps)
        for name in args.optimizers
    ]
