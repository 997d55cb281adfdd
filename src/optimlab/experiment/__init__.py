"""Experiments: many trainings, their results on disk, and continuing them.

An experiment is a list of *passes*; each pass trains a few *trials* (an optimizer
with its hyper-parameters, and a seed) side by side as the members of one model
(:func:`optimlab.fit_members`). ``compare`` makes one pass per optimizer, its seeds
being the members, so each optimizer's wall time is its own; ``sweep`` makes one
pass for a whole grid of learning rates and seeds (in chunks of at most
``max_members`` members).

The package, one concept per module:

* :mod:`.settings` — :class:`Trial`, :class:`Setting`, :func:`compare_setting`,
  :func:`sweep_setting`: what is trained;
* :mod:`.data` — loading a setting's data set (shared with ``optimlab train``);
* :mod:`.passes` — :func:`run_pass`, a pure function of ``(setting, index)``, and the
  task an executor runs (checkpointed after every epoch);
* :mod:`.executors` — serial, local worker processes, Dask (:mod:`.cluster`);
* :mod:`.results`, :mod:`.summary`, :mod:`.provenance` — the typed results, their
  one JSON form (``results.json``), the final table, the environment;
* :mod:`.directory` — the output directory and the files in it;
* :mod:`.resume` — what a saved setting must match to be continued;
* :mod:`.runner` — :func:`run_experiment`, which ties them together, and
  :mod:`.reporter`, what it tells as it goes.
"""

from .passes import PassRecord, run_pass
from .reporter import Reporter
from .results import RESULTS_FORMAT, Results, TrialResult, load_results
from .runner import run_experiment
from .settings import Setting, Trial, compare_setting, sweep_setting
from .summary import Summary, summarize

__all__ = [
    "RESULTS_FORMAT",
    "PassRecord",
    "Reporter",
    "Results",
    "Setting",
    "Summary",
    "Trial",
    "TrialResult",
    "compare_setting",
    "load_results",
    "run_experiment",
    "run_pass",
    "summarize",
    "sweep_setting",
]
