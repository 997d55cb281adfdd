"""Every figure of a compare or sweep experiment, drawn into its directory once its
results exist: what ``optimlab compare`` and ``sweep`` draw after ``results.json``.

The experiment itself draws nothing (:func:`~optimlab.experiment.run_experiment`
trains and saves); the figures read what it saved. The files drawn are among those
the directory's manifest lists (:func:`optimlab.experiment.directory.manifest_files`),
so ``--overwrite`` removes them with the rest of the experiment.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import ConfigError
from ..experiment import directory
from ..experiment.results import Results
from .curves import plot_results
from .misclassified import draw_misclassified

__all__ = ["draw_experiment"]


def draw_experiment(results: Results, out: str | os.PathLike[str]) -> list[Path]:
    """Draw a complete experiment's figures into its directory ``out``; the paths drawn.

    ``accuracy.png`` and ``loss.png`` (:func:`~optimlab.figures.plot_results`; a
    loss-only problem gets no ``accuracy.png``), a sweep's ``sensitivity.png``, and
    ``misclassified.png``, the best setting's first mistakes on the test set, scored
    again from its saved model (:func:`~optimlab.figures.draw_misclassified`).
    The directory's lock is held while drawing: no other run writes into it meanwhile.

    Raises
    ------
    ConfigError
        ``results`` has passes that did not finish (resume the experiment first), or
        another process holds the directory.
    DataError, ModelFileError
        The data changed since the experiment ran, or its model file is damaged.
    """
    out = Path(out)
    unfinished = sum(not p.complete for p in results.passes)
    if unfinished:
        raise ConfigError(
            f"the experiment in {out} has {unfinished} unfinished pass(es), so its figures "
            "would be partial: resume it first"
        )
    with directory.lock(out):
        paths = plot_results(results, out)
        mistakes = draw_misclassified(results, out)
    return paths if mistakes is None else [*paths, mistakes]
