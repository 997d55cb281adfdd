"""Training: the step, the epoch loop, evaluation, histories and checkpoints.

=================  ===============================================================
``step``           one training step (gather, gradient, optimizer step), eager or
                   as a captured CUDA graph
``trainer``        :class:`Trainer`: the run between steps, and the epoch loop
``divergence``     when a run has diverged: one rule for the Trainer and commands
``fit``            :func:`fit` and :func:`fit_members`: training in one call
``evaluation``     :func:`evaluate`: accuracy, loss and predictions in one pass
``history``        :class:`EpochRecord` and :class:`History`
``state``          :class:`TrainerState`: where a run stands, on the host
``checkpoint``     checkpoint files of a :class:`TrainerState`
=================  ===============================================================
"""

from .evaluation import Evaluation, evaluate
from .fit import fit, fit_members
from .history import EpochRecord, History
from .state import TrainerState
from .trainer import Trainer

__all__ = [
    "EpochRecord",
    "Evaluation",
    "History",
    "Trainer",
    "TrainerState",
    "evaluate",
    "fit",
    "fit_members",
]
