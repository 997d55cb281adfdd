"""A function problem: a point ``theta`` trained on a noisy function instead of a network.

The function is an :class:`optimlab.nn.point.Objective` (DeepOBS's:
:class:`~optimlab.problems.functions.Function`): a loss over samples and its gradient
from a batch's mean sample, written with the array namespace it is given. Its samples
become the rows of a :class:`~optimlab.datasets.Dataset` whose labels are all 0 (a
function has no classes), so the Trainer's shuffles, batches, members, checkpoints
and CUDA graphs apply unchanged. It has a loss and no accuracy.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import array_api_compat
import numpy as np

from ..backend import Backend
from ..datasets import Dataset
from ..errors import ConfigError
from ..nn import Point
from ..nn.point import Objective
from .base import Problem

__all__ = ["FunctionProblem", "NoisyObjective"]


class NoisyObjective(Objective, Protocol):
    """An :class:`~optimlab.nn.point.Objective` with the samples a function problem
    trains on: :class:`~optimlab.problems.functions.Function` is one."""

    #: The standard deviation of its samples when the setting gives none.
    noise: float

    def samples(self, noise: float) -> tuple[np.ndarray, np.ndarray]:
        """The training and test samples, ``(n, dim)`` float64 on the host, drawn with
        standard deviation ``noise`` (the same samples at every call)."""

    def start_loss(self, noise: float | None = None) -> float:
        """The mean training loss at :attr:`start` (``noise`` None: :attr:`noise`)."""


@dataclass(frozen=True, eq=False, kw_only=True)
class FunctionProblem(Problem):
    """A point trained on ``function``; its network fields are the point's dimension."""

    function: NoisyObjective = field(repr=False)
    #: Whether ``--noise`` may change the level (False: only 0 or the function's own).
    noisy: bool = True
    #: Whether a run is validated on the exact function (every held-out sample set to 0,
    #: as DeepOBS's test set is) rather than on the held-out samples: on a 2-D function
    #: the samples' term ``u x + v y`` would otherwise decide which of several equal
    #: minima validates best.
    exact_validation: bool = False
    trains_network = False

    @property
    def has_accuracy(self) -> bool:
        """A function has a loss only."""
        return False

    def setting(self) -> dict[str, Any]:
        """The point's dimension as the only "layer", no activation or output (what
        results files have recorded since function problems came)."""
        return {
            "layers": [self.function.dim],
            "activation": "none",
            "output": "none",
            "batch_size": self.batch_size,
            "epochs": self.epochs,
            "init": "uniform",
        }

    def make_model(
        self, setting: Any, seeds: int | Sequence[int], backend: Backend | None = None,
        params: Any = None,
    ) -> Point:  # fmt: skip
        """The point, at the function's start for every member (the seeds draw only the
        shuffles)."""
        where = {} if backend is None else {"device": backend.device, "xp": backend.xp}
        seed = seeds if isinstance(seeds, int) else list(seeds)
        return Point(self.function, seed=seed, dtype=setting.dtype, params=params, **where)

    def load_data(self, setting: Any, backend: Backend) -> tuple[Dataset, Dataset]:
        """The function's training and test samples at ``setting.noise`` (None: its own
        level) as the rows of ``images``, every label 0."""
        level = self.function.noise if setting.noise is None else setting.noise
        parts = []
        for rows, part in zip(self.function.samples(level), ("train", "test")):
            labels = backend.asarray(np.zeros(rows.shape[0], dtype=np.int64))
            images = backend.asarray(rows, dtype=backend.dtype(setting.dtype))
            parts.append(Dataset(images, labels, 1, f"{self.name} {part}"))
        train, test = parts
        if setting.limit_train is not None:
            train = train.head(setting.limit_train)
        return train, test

    def validation_set(self, held_out: Dataset) -> Dataset:
        """The held-out samples, or as many zeros where :attr:`exact_validation`."""
        if not self.exact_validation:
            return held_out
        xp = array_api_compat.array_namespace(held_out.images)
        return dataclasses.replace(held_out, images=xp.zeros_like(held_out.images))

    def chance_loss(self, setting: Any) -> float:
        """The training loss at the start point."""
        return self.function.start_loss(setting.noise)

    def data_directory(self, data_dir: str | None = None) -> str | None:
        """None: a function draws its own samples (a ``data_dir`` is refused)."""
        if data_dir is not None:
            raise ConfigError(f"{self.name} draws its own data: it takes no --data-dir")
        return None
