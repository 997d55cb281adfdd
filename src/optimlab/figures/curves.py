"""A results file's figures: the curves over the epochs, and a sweep's sensitivity to
the learning rate (matplotlib, imported when a figure is drawn; no display needed).

Figures are drawn on :class:`matplotlib.figure.Figure` objects, never through
``pyplot``'s global state, and written atomically as PNG files.
"""

from __future__ import annotations

import math
import os
import textwrap
from pathlib import Path
from typing import Any

import numpy as np

from ..experiment.results import Results, TrialResult
from ..experiment.summary import has_accuracy
from ._png import save_png

__all__ = ["plot_curves", "plot_results", "plot_sensitivity"]


def plot_results(results: Results, out: str | os.PathLike[str]) -> list[Path]:
    """Every figure of a results file into directory ``out``: curves, and a sweep's sensitivity.

    A loss-only problem's results (a noisy function, no accuracy) get no ``accuracy.png``.
    """
    out = Path(out)
    paths = [plot_curves(results, "test_loss", out / "loss.png")]
    if has_accuracy(results):
        paths.insert(0, plot_curves(results, "test_accuracy", out / "accuracy.png"))
    if results.kind == "sweep":
        paths.append(plot_sensitivity(results, out / "sensitivity.png"))
    return paths


_AXES = {
    "test_accuracy": ("test accuracy (%)", 100.0),
    "test_loss": ("test loss (nats per sample)", 1.0),
    "train_loss": ("training loss (nats per sample)", 1.0),
}


def plot_curves(results: Results, figure: str, path: str | os.PathLike[str]) -> Path:
    """One line per setting over the epochs: the mean over seeds, with a ±1 std band."""
    from matplotlib.figure import Figure

    ylabel, scale = _AXES[figure]
    settings = _by_setting(results)
    fig = Figure(figsize=(8, 5), layout="constrained")
    ax = fig.add_subplot()
    colors = _colors(len(settings))
    seeds = max(len(trials) for trials in settings.values())
    for color, (label, trials) in zip(colors, settings.items()):
        length = min(len(t.epochs) for t in trials)
        if length == 0:
            continue
        values = scale * np.array([[getattr(e, figure) for e in t.epochs[:length]] for t in trials])
        epochs = np.arange(1, length + 1)
        mean = values.mean(axis=0)
        # long settings (every hyper-parameter, a schedule) on several lines
        wrapped = textwrap.fill(label, 70, subsequent_indent="  ")
        ax.plot(epochs, mean, color=color, label=wrapped, linewidth=1.6)
        if len(trials) > 1:
            std = values.std(axis=0)
            ax.fill_between(epochs, mean - std, mean + std, color=color, alpha=0.2, linewidth=0)
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    ax.set_title(_title(results, seeds), fontsize=10)
    ax.legend(fontsize=8, loc="lower right" if figure == "test_accuracy" else "upper right")
    return save_png(fig, path, dpi=120)


def plot_sensitivity(results: Results, path: str | os.PathLike[str]) -> Path:
    """Final test accuracy against the learning rate (log scale), mean ± std over seeds;
    for a loss-only problem the final test loss (a log scale too where every mean is
    positive)."""
    from matplotlib.figure import Figure

    accuracy = has_accuracy(results)
    fig = Figure(figsize=(7, 4.5), layout="constrained")
    ax = fig.add_subplot()
    by_optimizer: dict[str, list[tuple[float, float, float]]] = {}
    seeds = 1
    for trials in _by_setting(results).values():
        if accuracy:
            finals = [100 * t.epochs[-1].test_accuracy for t in trials if t.epochs]
        else:
            finals = [t.epochs[-1].test_loss for t in trials if t.epochs]
        finals = [f for f in finals if math.isfinite(f)]
        if not finals:
            continue
        seeds = max(seeds, len(trials))
        lr = trials[0].hyperparameters["lr"]
        by_optimizer.setdefault(trials[0].optimizer, []).append(
            (lr, float(np.mean(finals)), float(np.std(finals)))
        )
    for color, (name, points) in zip(_colors(len(by_optimizer)), by_optimizer.items()):
        lr, mean, std = (np.array(v) for v in zip(*sorted(points)))
        ax.errorbar(lr, mean, yerr=std, color=color, marker="o", capsize=3, label=name)
    ax.set_xscale("log")
    means = [m for points in by_optimizer.values() for _, m, _ in points]
    if not accuracy and means and min(means) > 0:
        ax.set_yscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("final test accuracy (%)" if accuracy else "final test loss")
    ax.grid(True, alpha=0.3)
    ax.set_title(_title(results, seeds), fontsize=10)
    ax.legend(fontsize=8)
    return save_png(fig, path, dpi=120)


def _by_setting(results: Results) -> dict[str, list[TrialResult]]:
    settings: dict[str, list[TrialResult]] = {}
    for trial in results.trials:
        settings.setdefault(trial.label, []).append(trial)
    return settings


def _title(results: Results, seeds: int) -> str:
    s = results.setting
    if not has_accuracy(results):  # a noisy function: no network, no images
        spread = f"{seeds} seeds, mean ± std" if seeds > 1 else "1 seed"
        return (
            f"{s.problem}: test loss over {results.data.test_samples} samples "
            f"(trained on {results.data.train_samples})\n"
            f"batch {s.batch_size}, {s.dtype}, {spread}"
        )
    network = "-".join(map(str, s.layers))
    spread = f"{seeds} seeds, mean ± std" if seeds > 1 else "1 seed"
    data = results.data
    name = "MNIST" if data.name == "mnist" else data.name
    return (
        f"{name} test set ({data.test_samples} images; trained on {data.train_samples})\n"
        f"{network} {s.activation}/{s.output}, batch {s.batch_size}, {s.dtype}, "
        f"{spread}"
    )


def _colors(n: int) -> list[Any]:
    from matplotlib import colormaps

    if n <= 10:
        return [colormaps["tab10"](i) for i in range(n)]
    return [colormaps["viridis"](i / max(1, n - 1)) for i in range(n)]
