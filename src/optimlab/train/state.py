"""Where a training run stands, as host values: what a checkpoint holds.

:meth:`Trainer.checkpoint <optimlab.Trainer.checkpoint>` produces a
:class:`TrainerState`, :meth:`Trainer.restore <optimlab.Trainer.restore>` takes
one, and :mod:`optimlab.train.checkpoint` writes and reads it; its shape is
stated here only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["TrainerState"]


@dataclass
class TrainerState:
    """A Trainer's state on the host (NumPy arrays and plain values)."""

    #: Epochs completed.
    epoch: int
    #: Optimizer steps taken.
    count: int
    #: The flat parameters, ``([K,] size)``.
    params: np.ndarray
    #: Per optimizer group, its accumulators in the optimizer's slot order, each a
    #: list of arrays (one per parameter array the optimizer updates).
    slots: list[list[list[np.ndarray]]]
    #: The shuffle generators' states, one per member (``bit_generator.state``).
    rngs: list[dict[str, Any]]
    #: Per optimizer group, its running scalars by name (``(K, 1)`` or ``()`` arrays).
    scalars: list[dict[str, np.ndarray]] = field(default_factory=list)
