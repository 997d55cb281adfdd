"""Training: the step, the epoch loop, evaluation, histories and checkpoints."""

from .trainer import EpochRecord, Evaluation, History, Trainer, evaluate, fit, fit_members

__all__ = ["EpochRecord", "Evaluation", "History", "Trainer", "evaluate", "fit", "fit_members"]
