"""The figures: every picture optimlab draws, drawn once the results exist.

Nothing below this package draws: an experiment (:mod:`optimlab.experiment`) trains
and saves its results, and the commands draw from them — ``compare`` and ``sweep``
after ``results.json`` is written, ``plot`` from a results file, ``benchmark`` when
its report is written. matplotlib is imported inside the drawing functions only (the
command line starts without it); every figure is a
:class:`matplotlib.figure.Figure` saved through the Agg canvas, never ``pyplot``'s
global state, written atomically as a PNG file.

One module per kind of figure:

* :mod:`.curves` — a results file's curves over the epochs (:func:`plot_results`,
  :func:`plot_curves`) and a sweep's sensitivity to the learning rate
  (:func:`plot_sensitivity`);
* :mod:`.misclassified` — the best setting's misclassified test digits
  (:func:`plot_misclassified`, :func:`draw_misclassified`);
* :mod:`.experiment` — all of an experiment's figures into its directory
  (:func:`draw_experiment`);
* :mod:`.benchmark` — a benchmark's tuning sensitivity, final curves and
  performance profile.
"""

from .benchmark import (
    plot_expected_best,
    plot_final_curves,
    plot_profile,
    plot_tuning_sensitivity,
)
from .curves import plot_curves, plot_results, plot_sensitivity
from .experiment import draw_experiment
from .misclassified import draw_misclassified, plot_misclassified

__all__ = [
    "draw_experiment",
    "draw_misclassified",
    "plot_curves",
    "plot_expected_best",
    "plot_final_curves",
    "plot_misclassified",
    "plot_profile",
    "plot_results",
    "plot_sensitivity",
    "plot_tuning_sensitivity",
]
