"""The :class:`Dataset`: samples and their class labels, on one backend's device."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import array_api_compat
import numpy as np

from ..errors import ConfigError, DataError

__all__ = ["Dataset"]


@dataclass(frozen=True, eq=False)
class Dataset:
    """Samples and their class labels, on one backend's device.

    Parameters
    ----------
    images
        Array of shape ``(n, features)``, floating (``float32`` or ``float64``),
        pixel intensities scaled from bytes ``0..255`` to ``[0, 1]``
        (dimensionless); each row is one image flattened row-major.
    labels
        Integer array of shape ``(n,)``, ``int64``, class indices in
        ``0 .. num_classes - 1``, on the same device as ``images``.
    num_classes
        Number of classes (the loaders use the largest label of the training
        and test sets plus one, computed on the host).
    name
        A short name for messages and reports, such as ``"mnist"``.

    Notes
    -----
    Equality is identity (``eq=False``): comparing arrays elementwise is not
    a meaningful ``==`` for datasets.
    """

    images: Any
    labels: Any
    num_classes: int
    name: str = ""

    def __post_init__(self) -> None:
        if len(self.images.shape) != 2:
            raise DataError(
                f"dataset {self.name!r}: images must have shape (n, features), "
                f"not {tuple(self.images.shape)}"
            )
        if tuple(self.labels.shape) != (self.images.shape[0],):
            raise DataError(
                f"dataset {self.name!r}: labels of shape {tuple(self.labels.shape)} "
                f"do not match {self.images.shape[0]} images"
            )
        if isinstance(self.num_classes, bool) or not isinstance(self.num_classes, int):
            raise ConfigError(f"num_classes must be an int, not {self.num_classes!r}")
        if self.num_classes < 1:
            raise ConfigError(f"num_classes must be at least 1, not {self.num_classes}")
        xp = array_api_compat.array_namespace(self.images, self.labels)
        if not xp.isdtype(self.labels.dtype, "integral"):
            raise DataError(
                f"dataset {self.name!r}: labels must be integers (class indices), "
                f"not {self.labels.dtype}"
            )
        if self.labels.shape[0]:  # one read-back, when the data set is made
            low, high = int(xp.min(self.labels)), int(xp.max(self.labels))
            if low < 0 or high >= self.num_classes:
                raise DataError(
                    f"dataset {self.name!r}: labels must lie in 0..{self.num_classes - 1}, "
                    f"not {low if low < 0 else high}"
                )

    @property
    def n(self) -> int:
        """Number of samples."""
        return int(self.images.shape[0])

    @property
    def features(self) -> int:
        """Number of features per sample (pixels per image)."""
        return int(self.images.shape[1])

    def head(self, n: int) -> Dataset:
        """The first ``n`` samples (all of them when ``n`` exceeds :attr:`n`).

        ``num_classes`` and ``name`` are kept, so a model sized from the head
        fits the full dataset.

        Raises
        ------
        ConfigError
            ``n`` is not an integer of at least 1.
        """
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
            raise ConfigError(f"the number of samples must be an integer, not {n!r}")
        if n < 1:
            raise ConfigError(f"the number of samples must be at least 1, not {n}")
        n = int(n)
        if n >= self.n:
            return self
        return replace(self, images=self.images[:n, ...], labels=self.labels[:n])

    def __repr__(self) -> str:
        return (
            f"Dataset(name={self.name!r}, n={self.n}, features={self.features}, "
            f"num_classes={self.num_classes}, dtype={self.images.dtype})"
        )
