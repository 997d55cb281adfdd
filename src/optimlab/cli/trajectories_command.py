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

from .. import optimizers, problems
from ..errors import ConfigError, OptimlabError
from ..experiment.settings import make_optimizer
from ..problems import surfaces
from ..trajectories import (
    STEPS_PER_EPOCH,
    default_hyperparameters,
    prepare_output,
    run_trajectories,
    write_trajectories,
)
from .experiment_commands import apply_sets

__all__ = ["trajectories_command"]


def trajectories_command(args: argparse.Namespace) -> int:
    """Run the optimizers on the surface and write the files; 1 if every path diverged."""
    surface = _surface(args.surface)
    noise = surfaces.check_noise(surface, args.noise)
    chosen = _optimizers(args, surface)
    # the directory is checked before the runs (a bad --out fails at once), and again
    # holding its lock when the files are written
    prepare_output(args.out, gif=args.gif, overwrite=args.overwrite)
    runs = []
    for optimizer in chosen:  # each path with the same noise (the seed's), as in one call
        try:
            runs += run_trajectories(surface, [optimizer], args.steps, noise=noise, seed=args.seed)
        except OptimlabError:
            raise
        except Exception as error:  # the optimizer's step itself: as a failed pass is told
            print(
                f"optimlab trajectories: {optimizer.name} failed: {type(error).__name__}: "
                f"{error}; nothing was written",
                file=sys.stderr,
            )
            return 1
    setting = {"steps": args.steps, "noise": noise, "seed": args.seed}
    paths = write_trajectories(
        runs, surface, args.out, gif=args.gif, overwrite=args.overwrite, setting=setting
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
    """The surface named ``name``; another problem's name gets its own sentence."""
    if name in problems.PROBLEMS and name not in surfaces.SURFACES:
        problem = problems.PROBLEMS[name]
        what = (
            "a network problem" if problem.trains_network else f"{problem.setting()['layers'][0]}-D"
        )
        raise ConfigError(
            f"{name} is {what}, not a 2-D function: trajectories takes "
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
    apply_sets(args.set, hyper, options, "run")
    return [
        make_optimizer(name, hyper[name], options[name], STEPS_PER_EPOCH, args.steps)
        for name in args.optimizers
    ]
