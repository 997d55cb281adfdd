"""The data a setting trains and tests on: its problem's data sets
(:meth:`optimlab.problems.Problem.load_data`), kept by each worker process for its next
passes (:func:`worker_data`), and the validation split every benchmark trial shares.
"""

from __future__ import annotations

import os
from dataclasses import replace

import array_api_compat
import numpy as np

from .. import datasets
from ..backend import Backend, resolve
from ..errors import ConfigError
from .settings import Setting

__all__ = [
    "SPLIT_SEED",
    "load_data",
    "setting_data",
    "split_validation",
    "worker_data",
]

#: The seed of the validation split of a setting that names none
#: (:attr:`Setting.split_seed` None: every experiment written before benchmarks had
#: studies), and of study 0 of ``--study-seed 0``; study ``i`` draws with
#: ``SPLIT_SEED + i`` (:meth:`optimlab.benchmark.Benchmark.study`).
SPLIT_SEED = 20190423


def load_data(
    backend: Backend,
    dtype: str,
    directory: str | os.PathLike[str] | None = None,
) -> tuple[datasets.Dataset, datasets.Dataset]:
    """The training and test sets of the packaged MNIST, or of the IDX files in
    ``directory``, on ``backend`` in ``dtype``.

    Raises
    ------
    DataError
        A file is missing, corrupt or of the wrong kind (named in the message).
    """
    if directory is None:
        return datasets.load_mnist(device=backend.device, xp=backend.xp, dtype=dtype)
    return datasets.load_idx_dir(directory, device=backend.device, xp=backend.xp, dtype=dtype)


def setting_data(setting: Setting, backend: Backend) -> tuple[datasets.Dataset, datasets.Dataset]:
    """The training and test sets ``setting`` trains on (its problem's
    :meth:`~optimlab.problems.Problem.load_data`)."""
    return setting.problem.load_data(setting, backend)


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


def split_validation(
    train: datasets.Dataset, n: int, seed: int | None = None
) -> tuple[datasets.Dataset, datasets.Dataset]:
    """The training set without ``n`` held-out samples, and those samples.

    The held-out samples are the first ``n`` of a permutation of the training set drawn
    by ``numpy.random.default_rng(seed)`` (``seed`` None: :data:`SPLIT_SEED`), so every
    caller with the same seed holds out the same samples; both parts keep the samples'
    original order.

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
    order = np.random.default_rng(SPLIT_SEED if seed is None else seed).permutation(train.n)
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
