"""A benchmark's figures: its tuning's sensitivity to the learning rate, the final runs'
curves, and the performance profile (matplotlib, imported when a figure is drawn; no
display needed; written atomically)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..experiment.results import Results
from ..experiment.summary import has_accuracy
from ._png import save_png

__all__ = ["plot_expected_best", "plot_final_curves", "plot_profile", "plot_tuning_sensitivity"]


def _figure(width: float = 9.0, height: float = 5.0) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def _colors(n: int) -> list[Any]:
    from matplotlib import colormaps

    palette = colormaps["tab20"] if n > 10 else colormaps["tab10"]
    return [palette(i % palette.N) for i in range(n)]


def _legend(ax: Any, n: int) -> None:
    # many optimizers: the legend beside the axes, never over the curves
    if not ax.get_legend_handles_labels()[1]:  # nothing drawn (every run diverged)
        return
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), ncols=1 if n <= 20 else 2)


def _finish(fig: Any, ax: Any, title: str, entries: int, path: Path) -> Path:
    """The grid, the title and the legend of a benchmark figure; then the PNG."""
    ax.grid(True, alpha=0.3)
    ax.set_title(title, fontsize=10)
    _legend(ax, entries)
    return save_png(fig, path, dpi=110)


def _labels(results: Results, labels: Sequence[str] | None) -> list[str]:
    """Each pass's name: ``labels`` (a benchmark's methods), else its optimizer's."""
    if labels is not None:
        return list(labels)
    return [trials[0].optimizer if trials else "" for trials in results.setting.passes]


def plot_tuning_sensitivity(
    tuning: Results,
    search: str,
    validation: int,
    path: Path,
    *,
    studies: int = 1,
    labels: Sequence[str] | None = None,
) -> Path:
    """Final validation accuracy of every tuning trial against its learning rate, one
    colour per pass (an optimizer, or a benchmark's method: ``labels``, in pass order;
    a line through a grid's points; points alone for a random search, whose other
    hyper-parameters vary too). ``tuning`` pools ``studies`` studies' trials, each
    pass holding every study's. For a loss-only problem the final validation loss, on
    a log scale where every one is positive."""
    fig = _figure()
    ax = fig.add_subplot()
    names = _labels(tuning, labels)
    budget = max(len(trials) for trials in tuning.setting.passes) // max(1, studies)
    accuracy = has_accuracy(tuning)
    figure, scale = ("validation_accuracy", 100.0) if accuracy else ("validation_loss", 1.0)
    drawn: list[float] = []
    for color, (index, name) in zip(_colors(len(names)), enumerate(names)):
        points = sorted(
            (t.hyperparameters["lr"], scale * getattr(t.epochs[-1], figure))
            for t in tuning.trials_of(index)
            if t.epochs
            and "lr" in t.hyperparameters
            and math.isfinite(getattr(t.epochs[-1], figure))
            and len(t.epochs) == tuning.setting.epochs
        )
        if not points:
            continue
        lr, values = zip(*points)
        drawn += values
        style = "-o" if search == "grid" else "o"
        ax.plot(lr, values, style, color=color, label=name, markersize=4, linewidth=1.2)
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    if accuracy:
        ax.set_ylabel(f"validation accuracy after {tuning.setting.epochs} epochs (%)")
        ax.set_ylim(bottom=max(0.0, ax.get_ylim()[0]))
    else:
        ax.set_ylabel(f"validation loss after {tuning.setting.epochs} epochs")
        if drawn and min(drawn) > 0:
            ax.set_yscale("log")
    pooled = f"{studies} studies pooled" if studies > 1 else "1 study"
    title = (
        f"Sensitivity: {budget} trials per optimizer and study ({search}), {pooled}, "
        f"{validation} validation samples"
    )
    return _finish(fig, ax, title, len(names), path)


_AXES = {
    "test_accuracy": ("test accuracy (%)", 100.0),
    "test_loss": ("test loss (nats per sample)", 1.0),
}


def plot_final_curves(
    final: Results,
    figure: str,
    path: Path,
    table: Sequence[Any],
    *,
    labels: Sequence[str] | None = None,
) -> Path:
    """The final runs of each pass (an optimizer, or a benchmark's method: ``labels``,
    in pass order) over the epochs: mean over seeds, ±1 std band; the legend names the
    selected setting, in rank order (``table``'s rows, by their ``method``)."""
    ylabel, scale = _AXES[figure]
    fig = _figure()
    ax = fig.add_subplot()
    passes = _labels(final, labels)
    names = [passes[t.pass_index] for t in final.trials]
    order = {getattr(r, "method", r.optimizer): r for r in table}
    by_name: dict[str, list[Any]] = {}
    for t in final.trials:
        if t.epochs and not t.diverged:
            by_name.setdefault(passes[t.pass_index], []).append(t)
    ranked = sorted(by_name, key=lambda n: order[n].rank if n in order else 0)
    colors = dict(zip(dict.fromkeys(names), _colors(len(set(names)))))
    for name in ranked:
        runs = by_name[name]
        length = min(len(t.epochs) for t in runs)
        values = scale * np.array([[getattr(e, figure) for e in t.epochs[:length]] for t in runs])
        epochs = np.arange(1, length + 1)
        mean, std = values.mean(axis=0), values.std(axis=0)
        row = order.get(name)
        label = f"{row.rank}. {name} ({row.tuned})" if row is not None else name
        ax.plot(epochs, mean, color=colors[name], label=label, linewidth=1.4)
        ax.fill_between(epochs, mean - std, mean + std, color=colors[name], alpha=0.2, linewidth=0)
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    seeds = max((len(v) for v in by_name.values()), default=0)
    title = (
        f"Final runs of the selected settings: {seeds} seeds, mean ± std "
        f"({final.data.test_samples} test {'images' if has_accuracy(final) else 'samples'})"
    )
    return _finish(fig, ax, title, len(ranked), path)


def plot_profile(rho: dict[str, list[float]], taus: Sequence[float], path: Path) -> Path:
    """ρ(τ) per optimizer: the share of problems it reaches the target on within τ
    times the best optimizer's steps."""
    fig = _figure(8.0, 4.5)
    ax = fig.add_subplot()
    for color, (name, values) in zip(_colors(len(rho)), sorted(rho.items())):
        ax.step(taus, values, where="post", color=color, label=name, linewidth=1.4)
    ax.set_xlim(taus[0], taus[-1])
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("τ (steps to target over the best optimizer's)")
    ax.set_ylabel("ρ(τ): share of problems")
    return _finish(fig, ax, "Performance profile", len(rho), path)


def plot_expected_best(
    curves: dict[str, Sequence[float]], accuracy: bool, path: Path, *, studies: int = 1
) -> Path:
    """Per method, the expected best final validation figure of k tuning trials drawn
    without replacement, for k = 1 … the budget, averaged over ``studies`` (Sivaprasad et
    al. 2020's tuneability): accuracy in percent, or the lowest loss (log scale)."""
    fig = _figure(8.0, 4.5)
    ax = fig.add_subplot()
    for color, (label, values) in zip(_colors(len(curves)), curves.items()):
        if not values:  # a method whose every trial diverged in a study
            continue
        k = np.arange(1, len(values) + 1)
        y = 100.0 * np.asarray(values) if accuracy else np.asarray(values)
        ax.plot(k, y, marker="o", markersize=3, color=color, label=label, linewidth=1.2)
    if not accuracy:
        ax.set_yscale("log")
    ax.set_xlabel("k: tuning trials drawn")
    ax.set_ylabel(
        "expected best validation accuracy (%)" if accuracy else "expected lowest validation loss"
    )
    title = f"What k trials of tuning find, on average over {studies} stud" + (
        "y" if studies == 1 else "ies"
    )
    return _finish(fig, ax, title, len(curves), path)
