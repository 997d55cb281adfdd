"""The MNIST layout: four IDX files (training and test images and labels) become two
:class:`~optimlab.datasets.Dataset` objects on a backend's device."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..backend import Backend, resolve
from ..errors import ConfigError, DataError
from .checksums import SUMS_FILE, digest_for, read_sums, verify
from .dataset import Dataset
from .idx import IDX_NAMES, Readable, parse_idx, read_content

__all__ = ["load_idx_dir", "load_sets"]


def _float_dtypes(backend: Backend, dtype: Any) -> tuple[Any, type[np.floating[Any]]]:
    """The namespace's floating dtype for ``dtype`` and the matching NumPy dtype."""
    target = backend.dtype(dtype)
    if target == backend.xp.float32:
        return target, np.float32
    if target == backend.xp.float64:
        return target, np.float64
    raise ConfigError(f"dtype must be float32 or float64, not {dtype!r}")


def load_sets(
    sources: Mapping[str, tuple[Readable, str]],
    sha256: Mapping[str, str] | None,
    sums_origin: str,
    name: str,
    backend: Backend,
    dtype: Any,
) -> tuple[Dataset, Dataset]:
    """Read, verify, check and move the four files of an MNIST-layout set.

    Parameters
    ----------
    sources
        ``sources[IDX_NAMES[i]] = (file, shown)``: each file and how messages name it.
    sha256
        Digests of the uncompressed files (see :func:`.checksums.digest_for`), or None
        not to verify; ``sums_origin`` names where they came from, in messages.
    name
        The data sets' :attr:`Dataset.name`.
    backend, dtype
        Where the arrays go, and the images' dtype (``float32`` or ``float64``).

    Returns
    -------
    (train, test) : tuple of Dataset
        As :func:`load_idx_dir`.
    """
    target, host_dtype = _float_dtypes(backend, dtype)
    arrays: dict[str, np.ndarray] = {}
    for idx_name in IDX_NAMES:
        source, shown = sources[idx_name]
        content = read_content(source, shown)
        if sha256 is not None:
            expected = digest_for(sha256, idx_name)
            if expected is None:
                raise DataError(f"{sums_origin} gives no SHA-256 for {idx_name}")
            verify(content, expected, shown)
        arrays[idx_name] = parse_idx(content, shown, 3 if "images" in idx_name else 1)

    sets = []
    for images_name, labels_name in (IDX_NAMES[:2], IDX_NAMES[2:]):
        images, labels = arrays[images_name], arrays[labels_name]
        images_shown, labels_shown = sources[images_name][1], sources[labels_name][1]
        if images.shape[0] != labels.shape[0]:
            raise DataError(
                f"{images_shown} holds {images.shape[0]} images but {labels_shown} "
                f"holds {labels.shape[0]} labels"
            )
        if images.shape[0] == 0 or images.shape[1] * images.shape[2] == 0:
            raise DataError(f"{images_shown} holds no pixels (dimensions {images.shape})")
        sets.append((images.reshape(images.shape[0], -1), labels))
    num_classes = max(int(labels.max()) for _, labels in sets) + 1

    datasets = []
    for images, labels in sets:
        # Dividing in the target dtype gives exactly the correctly rounded k / 255
        # for every byte k (checked in the tests against the float64 route).
        host = np.empty(images.shape, dtype=host_dtype)
        np.divide(images, host_dtype(255), out=host, dtype=host_dtype)
        datasets.append(
            Dataset(
                images=backend.asarray(host, dtype=target),
                labels=backend.asarray(labels.astype(np.int64), dtype=backend.xp.int64),
                num_classes=num_classes,
                name=name,
            )
        )
    return datasets[0], datasets[1]


def load_idx_dir(
    path: str | os.PathLike[str],
    *,
    device: Any = "cpu",
    dtype: Any = "float32",
    xp: Any = None,
    sha256: Mapping[str, str] | None = None,
) -> tuple[Dataset, Dataset]:
    """Load the training and test sets of a directory in the MNIST IDX layout.

    Parameters
    ----------
    path
        A directory holding :data:`IDX_NAMES` (``train-images-idx3-ubyte``,
        ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``,
        ``t10k-labels-idx1-ubyte``), each raw or with a ``.gz`` suffix (the raw
        file is used when both exist). Image files must be 3-D
        ``(n, rows, cols)``, label files 1-D ``(n,)``.
    device, xp
        Where the arrays go, as for :func:`optimlab.backend.resolve`.
    dtype
        ``"float32"`` or ``"float64"`` (or the namespace's dtype) for the images.
    sha256
        SHA-256 hex digests of the uncompressed files, keyed by file name (with
        or without ``.gz``). When omitted and the directory holds a
        :data:`SUMS_FILE`, the files are verified against that instead;
        otherwise they are not verified.

    Returns
    -------
    (train, test) : tuple of Dataset
        Images flattened to ``(n, rows * cols)`` and scaled to ``[0, 1]``,
        labels ``int64`` of shape ``(n,)``, both on ``device``;
        ``num_classes`` is the largest label of both sets plus one; ``name`` is
        the directory's name.

    Raises
    ------
    DataError
        The path is not a directory, files are missing, corrupt, inconsistent
        or fail their checksum.
    ConfigError, DeviceError
        Bad ``dtype`` or ``device``.
    """
    directory = Path(path)
    if not directory.exists():
        raise DataError(f"IDX directory {directory} does not exist")
    if not directory.is_dir():
        raise DataError(f"{directory} is not a directory (expected one holding the IDX files)")
    sources: dict[str, tuple[Readable, str]] = {}
    missing = []
    for name in IDX_NAMES:
        raw, gz = directory / name, directory / f"{name}.gz"
        chosen = raw if raw.is_file() else gz if gz.is_file() else None
        if chosen is None:
            missing.append(f"{name}[.gz]")
        else:
            sources[name] = (chosen, str(chosen))
    if missing:
        raise DataError(f"IDX directory {directory} lacks {', '.join(missing)}")
    origin = "the sha256 argument"
    if sha256 is None and (directory / SUMS_FILE).is_file():
        sha256 = read_sums(directory / SUMS_FILE)
        origin = f"checksum file {directory / SUMS_FILE}"
    backend = resolve(device, xp)
    return load_sets(sources, sha256, origin, directory.name, backend, dtype)
