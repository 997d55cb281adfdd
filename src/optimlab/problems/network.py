"""A network problem: a multilayer perceptron trained on a labelled data set.

Its data is one of three things:

* a data set optimlab knows by name (:data:`optimlab.datasets.DATASETS`): the packaged
  MNIST, or one :func:`optimlab.datasets.fetch` downloads into the cache once;
* an IDX directory given at run time (``--data-dir``, ``Setting.data``), which takes
  precedence over the problem's own data;
* a function returning the arrays (a plugin's own data, read from files it ships or
  made on the spot): ``(train_images, train_labels, test_images, test_labels)``, images
  ``(n, features)`` floating in ``[0, 1]`` or ``uint8`` (divided by 255), labels
  integer class indices ``(n,)``, all NumPy arrays on the host.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import datasets
from ..backend import Backend
from ..datasets import Dataset
from ..datasets.checksums import file_digest
from ..errors import ConfigError, DataError
from ..nn import MLP
from ..train import divergence
from .base import Problem

__all__ = ["Arrays", "NetworkProblem", "file_digests"]

#: What a problem's own ``data`` function returns: training images and labels, then
#: test images and labels, NumPy arrays on the host.
Arrays = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


@dataclass(frozen=True, eq=False, kw_only=True)
class NetworkProblem(Problem):
    """A network of ``layers`` with ``activation`` between them and ``output`` at the end,
    initialized by ``init``, trained on ``data`` (see the module's docstring)."""

    #: Layer sizes, the input's features first and the classes last.
    layers: tuple[int, ...]
    #: The hidden layers' activation (:data:`optimlab.nn.activations.ACTIVATIONS`).
    activation: str
    #: The output and its loss: ``"sigmoid"`` (binary cross-entropy per class) or
    #: ``"softmax"`` (cross-entropy).
    output: str
    #: The initialization (:data:`optimlab.nn.layout.INITS`).
    init: str = "uniform"
    #: A data set's name (:data:`optimlab.datasets.DATASETS`), or a function returning
    #: :data:`Arrays`.
    data: str | Callable[[], Arrays] = field(default="mnist", repr=False)

    @property
    def has_accuracy(self) -> bool:
        """A network classifies: accuracy and loss."""
        return True

    def setting(self) -> dict[str, Any]:
        return {
            "layers": list(self.layers),
            "activation": self.activation,
            "output": self.output,
            "batch_size": self.batch_size,
            "epochs": self.epochs,
            "init": self.init,
        }

    def make_model(
        self, setting: Any, seeds: int | Sequence[int], backend: Backend | None = None,
        params: Any = None,
    ) -> MLP:  # fmt: skip
        """The network of ``setting``'s ``layers``, ``activation``, ``output``, ``init``
        and ``dtype`` (which may differ from the problem's defaults)."""
        where = {} if backend is None else {"device": backend.device, "xp": backend.xp}
        return MLP(
            setting.layers,
            setting.activation,
            setting.output,
            seed=seeds if isinstance(seeds, int) else list(seeds),
            dtype=setting.dtype,
            init=setting.init,
            params=params,
            **where,
        )

    def data_directory(self, data_dir: str | None = None) -> str | None:
        """``data_dir`` if given; None for the packaged MNIST or the problem's own
        arrays; else the cache directory :func:`optimlab.datasets.fetch` fills
        (downloading once)."""
        if data_dir is not None:
            return str(data_dir)
        if self.data == "mnist" or callable(self.data):
            return None
        return str(datasets.fetch(self.data))

    def data_files(self, data_dir: str | None = None) -> dict[str, str]:
        """The digests of the IDX files in ``data_dir``; of the packaged MNIST's content
        (:data:`optimlab.datasets.MNIST_SHA256`, verified whenever it is loaded); or of
        the bytes of the problem's own arrays."""
        if data_dir is not None:
            return file_digests(data_dir)
        if callable(self.data):
            names = ("train_images", "train_labels", "test_images", "test_labels")
            return {
                f"{self.name}/{n}": hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()
                for n, a in zip(names, self._arrays())
            }
        return {f"mnist/{name}": digest for name, digest in datasets.MNIST_SHA256.items()}

    def load_data(self, setting: Any, backend: Backend) -> tuple[Dataset, Dataset]:
        if setting.data is not None:
            train, test = datasets.load_idx_dir(
                setting.data, device=backend.device, xp=backend.xp, dtype=setting.dtype
            )
        elif callable(self.data):
            train, test = self._datasets(backend, setting.dtype)
        else:
            train, test = datasets.load_mnist(
                device=backend.device, xp=backend.xp, dtype=setting.dtype
            )
        if setting.limit_train is not None:
            train = train.head(setting.limit_train)
        return train, test

    def chance_loss(self, setting: Any) -> float:
        """Per sample: ``log(classes)`` for softmax cross-entropy (a uniform guess), and
        ``classes * log 2`` for sigmoid outputs (every output at 0.5)."""
        return divergence.know_nothing_loss(setting.layers[-1], setting.output)

    def check(self, setting: Any, train: Dataset) -> None:
        """Refuse more output units than the data has classes (``--layers 784,30,1000``
        on MNIST): those units would learn nothing."""
        if setting.layers[-1] > train.num_classes:
            raise ConfigError(
                f"the network's output layer has {setting.layers[-1]} units but the data "
                f"has {train.num_classes} classes: end --layers with {train.num_classes}"
            )

    def _arrays(self) -> Arrays:
        try:
            arrays = tuple(np.asarray(a) for a in self.data())
        except (DataError, ConfigError):
            raise
        except Exception as error:
            raise DataError(
                f"the data of problem {self.name!r} cannot be loaded: {error}"
            ) from None
        if len(arrays) != 4:
            raise DataError(
                f"the data of problem {self.name!r} must be four arrays (train images, "
                f"train labels, test images, test labels), not {len(arrays)}"
            )
        return arrays  # type: ignore[return-value]

    def _datasets(self, backend: Backend, dtype: str) -> tuple[Dataset, Dataset]:
        train_x, train_y, test_x, test_y = self._arrays()
        classes = int(max(train_y.max(initial=0), test_y.max(initial=0))) + 1
        parts = []
        for x, y, part in ((train_x, train_y, "train"), (test_x, test_y, "test")):
            if x.ndim != 2 or y.shape != (x.shape[0],) or not np.issubdtype(y.dtype, np.integer):
                raise DataError(
                    f"the {part} data of problem {self.name!r} must be images (n, features) "
                    f"and integer labels (n,), not {x.shape} and {y.shape} {y.dtype}"
                )
            if x.dtype == np.uint8:
                x = x / 255.0
            images = backend.asarray(np.asarray(x, dtype=np.float64), dtype=backend.dtype(dtype))
            labels = backend.asarray(np.asarray(y, dtype=np.int64))
            parts.append(Dataset(images, labels, classes, f"{self.name} {part}"))
        return parts[0], parts[1]


def file_digests(directory: str | Path) -> dict[str, str]:
    """The SHA-256 of each IDX file in ``directory`` (raw or ``.gz``, as it lies on disk),
    by file name."""
    found = {}
    for name in datasets.IDX_NAMES:
        for candidate in (Path(directory) / name, Path(directory) / f"{name}.gz"):
            digest = file_digest(candidate) if candidate.is_file() else None
            if digest is not None:
                found[candidate.name] = digest
                break
    return found
