"""An experiment's misclassified test digits: the first mistakes of its best setting
(matplotlib, imported when the figure is drawn; no display needed).

The best setting is the first row of :func:`~optimlab.experiment.summarize`; its
model is the one the experiment saved (``models/<name>.npz``), scored again on the
test set the setting names.
"""

from __future__ import annotations

import math
import os
import textwrap
from pathlib import Path
from typing import Any

import numpy as np

from ..backend import resolve, to_numpy
from ..experiment.results import Results
from ..experiment.summary import has_accuracy, summarize
from ..nn import MLP
from ._png import save_png

__all__ = ["draw_misclassified", "plot_misclassified"]

FILE = "misclassified.png"


def draw_misclassified(results: Results, out: str | os.PathLike[str]) -> Path | None:
    """``misclassified.png`` in the experiment directory ``out``: the best setting's
    first wrongly classified test images (:func:`plot_misclassified`), from the model
    file of its first seed that did not diverge.

    None, and nothing drawn, for a loss-only problem (a noisy function classifies
    nothing), for samples that are not square images (a plugin's points), or when every
    seed of the best setting diverged (no model was saved).

    The test set is loaded again from the data the setting names: draw right after the
    run, as the commands do (data changed since would show other images).

    Raises
    ------
    DataError
        The data files are missing or damaged.
    ModelFileError
        The model file is missing or damaged.
    """
    if not has_accuracy(results):
        return None
    best = summarize(results)[0]
    if best.diverged == best.seeds:  # every setting diverged: no mistakes to show
        return None
    setting, out = results.setting, Path(out)
    index, member = next(
        (i, k)
        for i, trials in enumerate(setting.passes)
        for k, trial in enumerate(trials)
        if trial.label == best.label and not results.trials_of(i)[k].diverged
    )
    backend = resolve(setting.device, library=setting.library)
    _, test = setting.problem.load_data(setting, backend)
    side = math.isqrt(test.features)
    if side * side != test.features:  # samples that are not square images: nothing to show
        return None
    model = MLP.load(
        out / "models" / f"{setting.model_name(index)}.npz",
        device=backend.device,
        xp=backend.xp,
    )
    return plot_misclassified(
        model.member(member),
        test,
        out / FILE,
        title=f"{best.label}, seed {setting.passes[index][member].seed}",
    )


def plot_misclassified(
    model: Any, test: Any, path: str | os.PathLike[str], *, count: int = 24, title: str = ""
) -> Path:
    """A grid of the first ``count`` wrongly classified test images, each with its
    expected and predicted digit (what the report's ``show_random_wrong_sample`` wanted)."""
    from matplotlib.figure import Figure

    predicted = to_numpy(model.predict(test.images))
    labels = to_numpy(test.labels)
    wrong = np.flatnonzero(predicted != labels)[:count]
    images = to_numpy(test.images)
    side = math.isqrt(images.shape[1])
    columns = 6
    rows = max(1, math.ceil(len(wrong) / columns))
    height = rows * 1.75 + 0.6
    fig = Figure(figsize=(columns * 1.5, height))  # fixed margins: constrained layout of
    fig.subplots_adjust(  # 24 axes took half the figure's time, and every compare pays it
        left=0.02, right=0.98, bottom=0.02, top=1 - 0.75 / height, wspace=0.15, hspace=0.45
    )
    axes = fig.subplots(rows, columns, squeeze=False)
    for ax in axes.flat:
        ax.set_axis_off()
    for ax, i in zip(axes.flat, wrong):
        if side * side == images.shape[1]:
            ax.imshow(images[i].reshape(side, side), cmap="gray_r", vmin=0, vmax=1)
        ax.set_title(f"expected {labels[i]}, got {predicted[i]}", fontsize=8)
    total = int(np.count_nonzero(predicted != labels))
    fig.suptitle(
        textwrap.fill(
            f"{title}: {total} of {len(labels)} test images misclassified; the first {len(wrong)}",
            18 * columns,  # characters that fit in the figure's width at size 10
        ),
        fontsize=10,
    )
    return save_png(fig, path, dpi=120)
