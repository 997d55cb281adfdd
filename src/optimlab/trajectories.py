"""Optimizers' paths on a 2-D test function, and their pictures.

:func:`run_trajectories` trains each optimizer on the surface's noisy-function problem
(:mod:`optimlab.problems`: ``rosenbrock``, ``beale``, ``branin``) with the
:class:`~optimlab.train.Trainer`, as ``optimlab train --problem rosenbrock`` does: the
point (:class:`~optimlab.nn.Point`) starts at the surface's start and each step's
gradient is the function's plus the mean of a batch of the problem's samples, batches of
128 drawn by the seed's shuffles; unlike ``train``, each epoch leaves out its last
incomplete batch, as DeepOBS does. A per-step recorder keeps the point where the
optimizer is evaluated (:meth:`~optimlab.optimizers.Optimizer.eval_params`: the
parameters, or Schedule-Free's average) after every step, the start point first.
:func:`write_trajectories` writes ``trajectories.json``, ``trajectories.png`` (the paths
over the function's contours on a log-scaled colour map) and, on request,
``trajectories.gif`` (an animation of the paths, matplotlib's
:class:`~matplotlib.animation.PillowWriter`), each atomically.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
import textwrap
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import optimizers, problems
from ._checks import positive_int, seeds
from ._files import _FILE_MODE, atomic_write, check_writable
from .backend import Backend, resolve, to_numpy
from .datasets import Dataset
from .errors import ConfigError
from .experiment.directory import MANIFEST, OutputDirectory
from .optimizers import Optimizer
from .problems import FunctionProblem
from .problems.surfaces import BATCH_SIZE, DEFAULT_STEPS, TRAIN_SIZE, Surface, check_noise
from .problems.surfaces import get as get_surface
from .train import Trainer
from .train.trainer import run_steps

__all__ = [
    "DEFAULT_OPTIMIZERS",
    "FILES",
    "MAX_STEPS",
    "STEPS_PER_EPOCH",
    "Trajectory",
    "animate_trajectories",
    "default_hyperparameters",
    "plot_trajectories",
    "prepare_output",
    "run_trajectories",
    "save_json",
    "write_trajectories",
]

#: What ``optimlab trajectories --optimizers`` defaults to: plain, heavy-ball, adaptive
#: and sign-based steps.
DEFAULT_OPTIMIZERS = ("sgd", "momentum", "adam", "lion")

#: The files :func:`write_trajectories` writes: the data, the figure, the animation.
FILES = {"json": "trajectories.json", "png": "trajectories.png", "gif": "trajectories.gif"}
#: The most steps a path takes (each step's noise is drawn before the first).
MAX_STEPS = 10_000_000
#: Steps per epoch of DeepOBS's 2-D data set (a schedule's epochs are these).
STEPS_PER_EPOCH = TRAIN_SIZE // BATCH_SIZE


@dataclass(frozen=True)
class Trajectory:
    """One optimizer's path: the points where it is evaluated, the start first."""

    optimizer: str
    #: Its hyper-parameters (and the options that are not their defaults).
    hyperparameters: dict[str, Any]
    #: Shape ``(n, 2)``, float64: ``(u, v)`` after 0, 1, ..., n - 1 steps, all finite.
    points: np.ndarray
    #: The steps run (``len(points) - 1`` unless the path diverged).
    steps: int
    #: The step whose point was no longer finite (the path ends before it), or None.
    diverged_at: int | None = None

    @property
    def label(self) -> str:
        """``"adam (lr=0.05, beta1=0.9, ...)"``: how the legend names it."""
        hyper = {k: v for k, v in self.hyperparameters.items() if not isinstance(v, str)}
        options = {k: v for k, v in self.hyperparameters.items() if isinstance(v, str)}
        return optimizers.describe(self.optimizer, hyper, options)


def default_hyperparameters(surface: Surface, name: str) -> dict[str, Any]:
    """The hyper-parameters ``name`` takes on ``surface`` unless told otherwise.

    The optimizer's own defaults, except its learning rate (``lr``, and Muon's
    ``adamw_lr``, which steps a vector), which is the surface's
    (:meth:`Surface.learning_rate`), and ``weight_decay = 0``: DeepOBS's 2-D problems use
    no weight decay, which would move their minima.
    """
    hyper = dict(optimizers.defaults(name))
    lr = surface.learning_rate(name)
    if lr is not None:
        hyper.update({k: lr for k in ("lr", "adamw_lr") if k in hyper})
    if "weight_decay" in hyper:
        hyper["weight_decay"] = 0.0
    return hyper


def run_trajectories(
    surface: Surface | str,
    runs: Sequence[Optimizer | str],
    steps: int = DEFAULT_STEPS,
    *,
    noise: float = 1.0,
    seed: int = 0,
    backend: Backend | None = None,
    dtype: str = "float64",
) -> list[Trajectory]:
    """Run every optimizer of ``runs`` on ``surface`` from its start for ``steps`` steps.

    Each is a :class:`~optimlab.train.Trainer` run of the surface's function problem:
    step ``t`` (from 0) takes the gradient at the parameters ``p_t``,
    ``g_t = grad f(p_t) + n_t`` with ``n_t`` the mean of batch ``t``'s samples ``(x, y)``
    (DeepOBS's data at standard deviation ``noise``; every optimizer gets the seed's
    shuffles, so they see the same batches), ``p_{t+1}`` is the optimizer's step, and
    the path records where the optimizer evaluates, ``opt.eval_params([p_t], state)``,
    after each step. A name in ``runs`` gets :func:`default_hyperparameters`.
    ``backend``: where to compute (default NumPy on the CPU); ``dtype``: ``"float64"``
    (default) or ``"float32"``.

    The recorder keeps a copy of each step's point on the device and the path is read
    back once, at the end; the steps run eagerly (see
    :func:`~optimlab.train.trainer.run_steps`).

    Raises
    ------
    ConfigError
        An unknown surface or optimizer, a bad number of steps, noise or seed.
    """
    surface = get_surface(surface) if isinstance(surface, str) else surface
    steps = positive_int("steps", steps)
    if steps > MAX_STEPS:  # bounded before a point of every step is kept
        raise ConfigError(f"steps must be at most {MAX_STEPS:,}, not {steps:,}")
    noise = check_noise(surface, noise)
    seed = seeds(seed, None, "seed")[0]
    if dtype not in ("float32", "float64"):
        raise ConfigError(f"dtype must be float32 or float64, not {dtype!r}")
    if not runs:
        raise ConfigError("run_trajectories needs at least one optimizer")
    backend = resolve("cpu") if backend is None else backend
    problem = _problem(surface)
    data = problem.load_data(_Data(dtype, noise), backend)[0]  # one copy for every run
    made = [
        o if isinstance(o, Optimizer) else optimizers.get(o, **default_hyperparameters(surface, o))
        for o in runs
    ]
    return [_run(_trainer(surface, o, data, seed, backend, dtype), steps) for o in made]


def _trainer(
    surface: Surface,
    optimizer: Optimizer,
    data: Dataset,
    seed: int,
    backend: Backend,
    dtype: str = "float64",
) -> Trainer:
    """The :class:`~optimlab.train.Trainer` of ``optimizer`` on ``surface``'s function
    problem: its point at the start, the training samples ``data`` (the problem's
    :meth:`~optimlab.problems.Problem.load_data`), its batch size and the shuffles of
    ``seed``. A path runs it with :func:`~optimlab.train.trainer.run_steps`, DeepOBS's
    epochs without their last incomplete batch."""
    problem = _problem(surface)
    model = problem.make_model(_Data(dtype, None), seed, backend)
    return Trainer(model, optimizer, data, batch_size=problem.batch_size, seed=seed)


@dataclass(frozen=True)
class _Data:
    """What a function problem reads of a setting to build its point and its samples."""

    dtype: str
    noise: float | None
    limit_train: int | None = None


def _problem(surface: Surface) -> FunctionProblem:
    """The noisy-function problem of ``surface`` (the problem of the same name)."""
    problem = problems.get(surface.name)
    if not isinstance(problem, FunctionProblem):  # a surface registered without its problem
        raise ConfigError(f"{surface.name} has no function problem to train on")
    return problem


def _run(trainer: Trainer, steps: int) -> Trajectory:
    """``steps`` steps of ``trainer``, the evaluation point recorded after each."""
    xp = trainer.model.xp
    points = [xp.asarray(trainer.eval_params(), copy=True)]

    def record(trainer: Trainer) -> None:  # a copy: the parameters are updated in place
        points.append(xp.asarray(trainer.eval_params(), copy=True))

    with np.errstate(over="ignore", invalid="ignore"):  # a divergence is told by the path
        run_steps(trainer, steps, record, drop_last=True)
    # one transfer at the end: recording on the host would synchronize every step
    path = np.asarray(to_numpy(xp.stack(points)), dtype=np.float64)
    finite = np.all(np.isfinite(path), axis=1)
    diverged = None if finite.all() else int(np.argmin(finite))
    if diverged is not None:
        path = path[:diverged]
    opt = trainer.optimizer
    hyper = {**opt.hyperparameters, **{k: str(v) for k, v in opt.options.items()}}
    return Trajectory(opt.name, hyper, path, steps, diverged)


# -- the output directory and its three files -----------------------------------------


def prepare_output(
    out: str | os.PathLike[str], *, gif: bool = False, overwrite: bool = False
) -> OutputDirectory:
    """Check directory ``out`` for the trajectory files, touching nothing.

    Called before the runs, so that a bad directory fails at once, and again by
    :func:`write_trajectories` holding the directory's lock (another run may have
    written there meanwhile). ``out`` follows the contract of
    :class:`~optimlab.experiment.directory.OutputDirectory`: it holds trajectories or
    nothing of optimlab's, and files of others only with ``overwrite``.

    Raises
    ------
    ConfigError
        ``out`` is a file, cannot be created or written, holds another kind of
        experiment, or already holds a trajectory file that would be written (unless
        ``overwrite``) or files that are not ours (unless ``overwrite``).
    """
    folder = OutputDirectory(out, "trajectories", overwrite=overwrite)
    names = _names(gif)
    if folder.path.is_dir():
        for name in names:
            check_writable(folder.path / name)
            if (folder.path / name).exists() and not overwrite:
                raise ConfigError(
                    f"{folder.path} already holds {name}: use --overwrite to replace it"
                )
        folder.check_beside(names, ours=_ours(folder))
    return folder


def _names(gif: bool) -> list[str]:
    return [FILES["json"], FILES["png"]] + ([FILES["gif"]] if gif else [])


def _ours(folder: OutputDirectory) -> set[str]:
    """The trajectory files in ``folder`` that optimlab wrote: its manifest's, or (written
    before manifests) the data and its figure."""
    if (folder.path / MANIFEST).is_file():
        return folder.own_files()
    if (folder.path / FILES["json"]).is_file():
        return {FILES["json"], FILES["png"]}
    return set()


def write_trajectories(
    trajectories: Sequence[Trajectory],
    surface: Surface,
    out: str | os.PathLike[str],
    *,
    gif: bool = False,
    overwrite: bool = False,
    setting: Mapping[str, Any] | None = None,
) -> list[Path]:
    """Write ``trajectories.json``, ``trajectories.png`` and, if ``gif``, the animation.

    The JSON file is ``{"problem": ..., **setting, "runs": [{"optimizer": ...,
    "hyperparameters": {...}, "points": [[u, v], ...], "diverged_at": null}, ...]}``,
    the start point first in every run's points. ``setting`` adds what made them (steps,
    noise, seed). The directory is created, locked, and its manifest lists the files
    before they are written. With ``overwrite`` and no ``gif``, an earlier
    ``trajectories.gif`` that optimlab wrote is removed (it showed other paths); one
    that is not ours is left. Returns the paths written.
    """
    folder = prepare_output(out, gif=gif, overwrite=overwrite)
    with folder.locked():
        folder = prepare_output(out, gif=gif, overwrite=overwrite)  # under the lock
        out, names, ours = folder.path, _names(gif), _ours(folder)
        old = ours - set(names) if overwrite else set()  # an earlier run's animation
        folder.check_removable(old)
        folder.remove_temporary(set(FILES.values()))
        folder.write_manifest(set(names) | (ours - old))
        noise = (setting or {}).get("noise")
        paths = [
            save_json(trajectories, surface, out / FILES["json"], setting),
            plot_trajectories(trajectories, surface, out / FILES["png"], noise=noise),
        ]
        if gif:
            paths.append(
                animate_trajectories(trajectories, surface, out / FILES["gif"], noise=noise)
            )
        for name in old:
            (out / name).unlink(missing_ok=True)
    return paths


def save_json(
    trajectories: Sequence[Trajectory],
    surface: Surface,
    path: str | os.PathLike[str],
    setting: Mapping[str, Any] | None = None,
) -> Path:
    """The trajectories as JSON (see :func:`write_trajectories`), written atomically."""
    document = {
        "problem": surface.name,
        "source": surface.source,
        **dict(setting or {}),
        "runs": [
            {
                "optimizer": t.optimizer,
                "hyperparameters": {k: _json_value(v) for k, v in t.hyperparameters.items()},
                "points": t.points.tolist(),
                "diverged_at": t.diverged_at,
            }
            for t in trajectories
        ],
    }
    with atomic_write(path, "w") as f:
        json.dump(document, f, indent=1, allow_nan=False)
        f.write("\n")
    return Path(path)


def _json_value(value: Any) -> Any:
    # strict JSON has no infinity (Prodigy's growth_rate defaults to inf)
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


# -- the figures ----------------------------------------------------------------------


def plot_trajectories(
    trajectories: Sequence[Trajectory],
    surface: Surface,
    path: str | os.PathLike[str],
    *,
    noise: float | None = None,
) -> Path:
    """The paths over the function's filled contours (log colour scale), as a PNG.

    Each optimizer's path has its own colour, its end marked with a cross; the common
    start is a white circle and the minima are white stars; the legend names each
    optimizer with its hyper-parameters. ``noise``, if given, is named in the title.
    """
    fig, ax, title = _figure(trajectories, surface)
    title.set_text(_title(surface, _steps(trajectories), noise))
    for color, t in zip(_colors(len(trajectories)), trajectories):
        ax.plot(t.points[:, 0], t.points[:, 1], color=color, lw=1.6, label=_label(t))
        ax.plot(*t.points[-1], marker="X", ms=10, color=color, mec="black", mew=0.8)
    _legend(fig, ax)
    with atomic_write(path) as f:
        fig.savefig(f, format="png", dpi=110)
    return Path(path)


def animate_trajectories(
    trajectories: Sequence[Trajectory],
    surface: Surface,
    path: str | os.PathLike[str],
    *,
    noise: float | None = None,
    frames: int = 60,
    fps: int = 15,
) -> Path:
    """The paths drawn step by step, as an animated GIF (matplotlib's ``PillowWriter``).

    ``min(steps + 1, frames)`` frames, evenly spaced over the steps from the start to
    the last step; the title counts the steps (and names ``noise``, if given).
    """
    from matplotlib.animation import PillowWriter

    positive_int("frames", frames)
    fig, ax, title = _figure(trajectories, surface)
    steps = _steps(trajectories)
    shown = np.unique(np.linspace(0, steps, min(steps + 1, frames)).round().astype(int))
    drawn = []
    for color, t in zip(_colors(len(trajectories)), trajectories):
        (line,) = ax.plot([], [], color=color, lw=1.6, label=_label(t))
        (head,) = ax.plot([], [], marker="o", ms=7, color=color, mec="black", mew=0.8)
        drawn.append((t.points, line, head))
    _legend(fig, ax)
    # lay the figure out once, with the longest title: the constrained layout would
    # otherwise run every frame
    title.set_text(_title(surface, steps, noise, steps))
    fig.draw_without_rendering()
    fig.set_layout_engine("none")
    writer = PillowWriter(fps=fps)
    with _atomic_name(path) as temporary, writer.saving(fig, temporary, dpi=80):
        for k in shown:
            for points, line, head in drawn:
                end = min(int(k), len(points) - 1) + 1
                line.set_data(points[:end, 0], points[:end, 1])
                head.set_data(points[end - 1 : end, 0], points[end - 1 : end, 1])
            title.set_text(_title(surface, steps, noise, k))
            writer.grab_frame()
    return Path(path)


@contextlib.contextmanager
def _atomic_name(path: str | os.PathLike[str]) -> Iterator[str]:
    """A temporary file name beside ``path`` with its suffix (a writer that takes a name
    and picks the format from it); renamed over ``path`` on success, removed on error."""
    path = check_writable(path)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=path.suffix)
    os.close(fd)
    try:
        yield temporary
        os.chmod(temporary, _FILE_MODE)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def _figure(trajectories: Sequence[Trajectory], surface: Surface) -> tuple[Any, Any, Any]:
    """A figure with the surface's contours, start and minima; returns it, its axes and
    its title."""
    from matplotlib.colors import LogNorm
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, LogLocator

    (u0, u1), (v0, v1) = _window(trajectories, surface)
    u, v = np.meshgrid(np.linspace(u0, u1, 300), np.linspace(v0, v1, 300))
    z = np.asarray(surface.value(np.stack([u, v], axis=-1)), dtype=np.float64)
    # log levels from just above the minimum: the valleys, not the walls, get the colours
    above = z - surface.minimum
    top = float(above.max())
    floor = max(float(above[above > 0].min(initial=top)), top * 1e-12)
    levels = np.geomspace(floor, top, 30)
    above = np.clip(above, floor, top)
    fig = Figure(figsize=(8.5, 7.5), layout="constrained")
    ax = fig.add_subplot()
    filled = ax.contourf(u, v, above, levels=levels, norm=LogNorm(), cmap="viridis")
    ax.contour(u, v, above, levels=levels[::3], colors="white", linewidths=0.3, alpha=0.5)
    # powers of ten as plain numbers: mathtext labels would be parsed again every frame
    ticks = LogLocator(numticks=12)
    bar = fig.colorbar(filled, ax=ax, shrink=0.9, ticks=ticks, format=FuncFormatter(_tick))
    bar.minorticks_off()
    shifted = f" - {surface.minimum:.4g}" if surface.minimum else ""
    bar.set_label(f"f(u, v){shifted}, log scale (the exact function)")
    for m in surface.minima:
        ax.plot(*m, marker="*", ms=16, color="white", mec="black", mew=0.8, ls="none")
    ax.plot(*surface.start, marker="o", ms=10, color="white", mec="black", mew=1.2, ls="none")
    ax.plot([], [], marker="o", color="white", mec="black", ls="none", label="start")
    ax.plot([], [], marker="*", ms=12, color="white", mec="black", ls="none", label="minimum")
    ax.set(xlim=(u0, u1), ylim=(v0, v1), xlabel="u", ylabel="v")
    title = ax.set_title(f"{surface.name}: {surface.summary}", fontsize=10)
    return fig, ax, title


def _window(
    trajectories: Sequence[Trajectory], surface: Surface
) -> tuple[tuple[float, float], tuple[float, float]]:
    """The surface's window, widened to hold the paths, by at most its own size on each
    side (a path that runs away leaves the picture instead of shrinking it to a dot)."""
    window = []
    for axis, (low, high) in enumerate(surface.window):
        span = high - low
        values = np.concatenate([t.points[:, axis] for t in trajectories] + [[low, high]])
        low, high = float(max(values.min(), low - span)), float(min(values.max(), high + span))
        margin = 0.03 * (high - low)
        window.append((low - margin, high + margin))
    return window[0], window[1]


def _steps(trajectories: Sequence[Trajectory]) -> int:
    return max(t.steps for t in trajectories)


def _title(surface: Surface, steps: int, noise: float | None, step: int | None = None) -> str:
    counted = f"{steps} steps" if step is None else f"step {step} of {steps}"
    noisy = "" if noise is None else f", noise {noise:g}"
    return f"{surface.name}{noisy}, {counted}\n{surface.summary}"


def _tick(value: float, position: Any = None) -> str:
    return f"{value:g}"


def _legend(fig: Any, ax: Any) -> None:
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", fontsize=8, ncols=1)


def _label(t: Trajectory) -> str:
    end = "" if t.diverged_at is None else f" — diverged at step {t.diverged_at}"
    # long settings (Prodigy's twelve) wrap, so the legend stays within the figure
    return textwrap.fill(t.label + end, width=100, subsequent_indent="    ")


def _colors(n: int) -> list[Any]:
    from matplotlib import colormaps

    # colours that stand out on viridis's purples, greens and yellows; then tab20's
    palette = ["#e41a1c", "#000000", "#ff00ff", "#ff7f00", "#00ffff", "#a65628", "#ffffff"]
    return [palette[k] if k < len(palette) else colormaps["tab20"].colors[k % 20] for k in range(n)]
