"""The data a setting trains and tests on, loaded in one place for every command.

``train``, ``evaluate``, ``compare`` and ``sweep`` and the worker processes all
load their data set through :func:`load_data`: the packaged MNIST or an IDX
directory, on the backend's device, in the setting's dtype, optionally cut to
the first training samples.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import replace
from pathlib import Path

import array_api_compat
import numpy as np

from .. import datasets, functions
from ..backend import Backend, resolve
from ..errors import ConfigError
from .models import function_of
from .settings import Setting

__all__ = [
    "SPLIT_SEED",
    "data_files",
    "load_data",
    "setting_data",
    "split_validation",
    "worker_data",
]

#: The seed of the validation split: the same held-out samples for every optimizer,
#: every trial and every run of a benchmark.
SPLIT_SEED = 20190423


def data_files(directory: str | os.PathLike[str] | None) -> dict[str, str]:
    """The SHA-256 of each data file, by name: what a resume checks is unchanged.

    For the packaged MNIST, the known digests of its uncompressed files
    (:data:`optimlab.datasets.MNIST_SHA256`, verified whenever it is loaded); for an
    IDX directory, the digest of each file as it lies on disk (raw or ``.gz``).
    """
    if directory is None:
        return {f"mnist/{name}": digest for name, digest in datasets.MNIST_SHA256.items()}
    found = {}
    for name in datasets.IDX_NAMES:
        for candidate in (Path(directory) / name, Path(directory) / f"{name}.gz"):
            if candidate.is_file():
                digest = hashlib.sha256()
                with open(candidate, "rb") as f:
                    for block in iter(lambda: f.read(1 << 20), b""):
                        digest.update(block)
                found[candidate.name] = digest.hexdigest()
                break
    return found


def load_data(
    backend: Backend,
    dtype: str,
    directory: str | os.PathLike[str] | None = None,
    limit_train: int | None = None,
) -> tuple[datasets.Dataset, datasets.Dataset]:
    """The training and test sets: the packaged MNIST, or the IDX files in ``directory``.

    ``limit_train`` keeps the first that many training samples only.

    Raises
    ------
    DataError
        A file is missing, corrupt or of the wrong kind (named in the message).
    """
    if directory is None:
        train, test = datasets.load_mnist(device=backend.device, xp=backend.xp, dtype=dtype)
    else:
        train, test = datasets.load_idx_dir(
            directory, device=backend.device, xp=backend.xp, dtype=dtype
        )
    if limit_train is not None:
        train = train.head(limit_train)
    return train, test


def setting_data(setting: Setting, backend: Backend) -> tuple[datasets.Dataset, datasets.Dataset]:
    """:func:`load_data` for an experiment's ``setting``; a noisy function's samples
    (:func:`function_data`) for a function problem."""
    function = function_of(setting)
    if function is not None:
        return function_data(function, backend, setting.dtype, setting.noise, setting.limit_train)
    return load_data(backend, setting.dtype, setting.data, setting.limit_train)


def function_data(
    function: functions.Function,
    backend: Backend,
    dtype: str,
    noise: float | None = None,
    limit_train: int | None = None,
) -> tuple[datasets.Dataset, datasets.Dataset]:
    """A noisy function's training and test samples as data sets on ``backend``: the
    samples as the rows of ``images``, every label 0; ``noise`` None is the function's
    own level (:meth:`optimlab.functions.Function.samples`)."""
    level = function.noise if noise is None else noise
    parts = []
    for rows, part in zip(function.samples(level), ("train", "test")):
        labels = backend.asarray(np.zeros(rows.shape[0], dtype=np.int64))
        images = backend.asarray(rows, dtype=backend.dtype(dtype))
        parts.append(datasets.Dataset(images, labels, 1, f"{function.name} {part}"))
    train, test = parts
    if limit_train is not None:
        train = train.head(limit_train)
    return train, test


def worker_data(setting: Setting) -> tuple[datasets.Dataset, datasets.Dataset]:
    """The setting's data, loaded once per process and kept for its next passes.

    What a worker process (local or Dask) calls: loading MNIST takes about a second,
    a pass many.
    """
    key = (setting.problem, setting.noise, setting.data, setting.device, setting.library,
           setting.dtype, setting.limit_train)  # fmt: skip
    if key not in _LOADED:
        if len(_LOADED) >= 2:  # two data sets at most, as the memory of a worker allows
            _LOADED.pop(next(iter(_LOADED)))
        _LOADED[key] = setting_data(setting, resolve(setting.device, library=setting.library))
    return _LOADED[key]


#: :func:`worker_data`'s data sets, by what they depend on.
_LOADED: dict[tuple[object, ...], tuple[datasets.Dataset, datasets.Dataset]] = {}


def split_validation(train: datasets.Dataset, n: int) -> tuple[datasets.Dataset, datasets.Dataset]:
    """The training set without ``n`` held-out samples, and those samples.

    The held-out samples are drawn once by :data:`SPLIT_SEED` (the same for every
    caller); both parts keep the samples' original order.

    Raises
    ------
    ConfigError
        ``n`` leaves no sample to train on, or holds out none.
    """
    if train.n < 2:
        raise ConfigError(
            f"a validation split needs at least 2 training samples (one held out, one to "
            f"train on), and there is {train.n}"
        )
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n < train.n:
        raise ConfigError(
            f"the validation split must hold out from 1 to {train.n - 1} of the "
            f"{train.n} training samples, not {n!r}"
        )
    order = np.random.default_rng(SPLIT_SEED).permutation(train.n)
    xp = array_api_compat.array_namespace(train.images)
    device = array_api_compat.device(train.images)

    def part(rows: np.ndarray) -> datasets.Dataset:
        index = xp.asarray(np.sort(rows), device=device)
        return replace(
            train,
            images=xp.take(train.images, index, axis=0),
            labels=xp.take(train.labels, index, axis=0),
        )

    return part(order[n:]), part(order[:n])
