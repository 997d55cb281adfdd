"""Data sets by name: the registry of downloaded ones, their cache, :func:`fetch` and
:func:`load`.

:func:`fetch` downloads a data set once into ``<cache>/<name>/`` and reuses it;
the cache is the ``cache_dir`` argument, else ``$OPTIMLAB_DATA``, else the
platform's user cache directory (:func:`cache_directory`, from ``platformdirs``).
:func:`load` returns the training and test sets of any data set by name, MNIST
(packaged, never downloaded) included.
"""

from __future__ import annotations

import os
import urllib.error
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..backend import resolve
from ..errors import ConfigError, DataError
from .checksums import file_digest
from .dataset import Dataset
from .downloading import TransferError, download
from .idx import IDX_NAMES, MNIST_FILES, Readable
from .idx_dir import load_sets
from .packaged import load_mnist

__all__ = ["DATASETS", "REMOTE_DATASETS", "RemoteIdx", "cache_directory", "fetch", "load"]


@dataclass(frozen=True)
class RemoteIdx:
    """A data set in the MNIST IDX layout that :func:`fetch` downloads.

    Parameters
    ----------
    name
        The name :func:`fetch` and :func:`load` take, also the name of its
        cache sub-directory and of its data sets (:attr:`Dataset.name`).
    url
        The folder the four files are downloaded from.
    file_sha256
        SHA-256 of each of the four ``.gz`` files *as published* (compressed
        bytes), keyed by file name (:data:`MNIST_FILES`).
    homepage
        Where the data set is described, for messages and documentation.
    """

    name: str
    url: str
    file_sha256: Mapping[str, str]
    homepage: str

    @property
    def files(self) -> tuple[str, ...]:
        """The four file names, in :data:`IDX_NAMES` order, each with ``.gz``."""
        return MNIST_FILES


# The digests are of the .gz files as published, copied from TensorFlow Datasets'
# tensorflow_datasets/url_checksums/fashion_mnist.txt and kmnist.txt (URL, size in
# bytes, SHA-256); other projects pin the same values. Never edit one without a source:
# a wrong digest rejects every download.
#: The data sets :func:`fetch` downloads, by name.
REMOTE_DATASETS: dict[str, RemoteIdx] = {
    "fashion-mnist": RemoteIdx(
        name="fashion-mnist",
        url="http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        file_sha256={
            # TFDS url_checksums/fashion_mnist.txt; sizes 26421880, 29515, 4422102, 5148.
            "train-images-idx3-ubyte.gz": (
                "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84"
            ),
            "train-labels-idx1-ubyte.gz": (
                "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845"
            ),
            "t10k-images-idx3-ubyte.gz": (
                "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073"
            ),
            "t10k-labels-idx1-ubyte.gz": (
                "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5"
            ),
        },
        homepage="https://github.com/zalandoresearch/fashion-mnist",
    ),
    "kmnist": RemoteIdx(
        name="kmnist",
        url="http://codh.rois.ac.jp/kmnist/dataset/kmnist/",
        file_sha256={
            # TFDS url_checksums/kmnist.txt; sizes 18165135, 29497, 3041136, 5120.
            "train-images-idx3-ubyte.gz": (
                "51467d22d8cc72929e2a028a0428f2086b092bb31cfb79c69cc0a90ce135fde4"
            ),
            "train-labels-idx1-ubyte.gz": (
                "e38f9ebcd0f3ebcdec7fc8eabdcdaef93bb0df8ea12bee65224341c8183d8e17"
            ),
            "t10k-images-idx3-ubyte.gz": (
                "edd7a857845ad6bb1d0ba43fe7e794d164fe2dce499a1694695a792adfac43c5"
            ),
            "t10k-labels-idx1-ubyte.gz": (
                "20bb9a0ef54c7db3efc55a92eef5582c109615df22683c380526788f98e42a1c"
            ),
        },
        homepage="https://github.com/rois-codh/kmnist",
    ),
}

#: Every data set :func:`load` knows: the packaged MNIST and the downloaded ones.
DATASETS = ("mnist", *REMOTE_DATASETS)

#: The environment variable naming the cache directory.
_CACHE_ENV = "OPTIMLAB_DATA"


def cache_directory(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """The directory under which :func:`fetch` keeps one sub-directory per data set.

    Parameters
    ----------
    cache_dir
        When given, this directory (``~`` is expanded).

    Returns
    -------
    pathlib.Path
        ``cache_dir``, else ``$OPTIMLAB_DATA`` when set and not empty, else the
        platform's user cache directory for ``optimlab``, as
        ``platformdirs.user_cache_dir("optimlab", appauthor=False)`` chooses it:
        typically ``$XDG_CACHE_HOME/optimlab`` or ``~/.cache/optimlab`` on Linux,
        ``~/Library/Caches/optimlab`` on macOS, ``%LOCALAPPDATA%\\optimlab\\Cache``
        on Windows. It need not exist yet.
    """
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    configured = os.environ.get(_CACHE_ENV, "")
    if configured:
        return Path(configured).expanduser()
    import platformdirs  # here: only a download needs it, not every `import optimlab`

    return Path(platformdirs.user_cache_dir("optimlab", appauthor=False))


def _remote(name: str) -> RemoteIdx:
    """The registered data set ``name``, or a ConfigError saying what to do instead."""
    if name == "mnist":
        raise ConfigError(
            "MNIST is packaged with optimlab and needs no download: "
            "load it with optimlab.datasets.load_mnist() or load('mnist')"
        )
    if not isinstance(name, str) or name not in REMOTE_DATASETS:
        raise ConfigError(f"unknown data set {name!r}; choose from {', '.join(DATASETS)}")
    return REMOTE_DATASETS[name]


def _offline_message(remote: RemoteIdx, error: TransferError) -> str:
    """One sentence: the data set could not be downloaded, why, and ``--data-dir`` instead."""
    cause = error.reason
    if isinstance(cause, urllib.error.HTTPError):
        why = f"the server answered HTTP {cause.code} ({cause.reason})"
    elif isinstance(cause, OSError):  # URLError, refused, unresolvable, timed out
        reason = getattr(cause, "reason", None) or cause
        why = f"there is no network connection to the server ({reason})"
    else:
        why = f"{cause}"
    return (
        f"cannot download the {remote.name} data set from {remote.url}: {why}; "
        f"without a network, pass --data-dir DIR, a directory holding its four IDX files "
        f"({', '.join(remote.files)})"
    )


def fetch(name: str, *, cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """The directory holding the four IDX files of data set ``name``, downloaded once.

    Files already in ``<cache>/<name>/`` whose bytes match their pinned digests
    (:attr:`RemoteIdx.file_sha256`) are reused without any network access; a
    missing file is downloaded, and a cached file that fails its digest is
    deleted and downloaded again, so a damaged file is never used. Downloads
    are verified before they are kept (:func:`download`).

    Parameters
    ----------
    name
        A key of :data:`REMOTE_DATASETS`: ``"fashion-mnist"`` or ``"kmnist"``.
        MNIST is packaged, not downloaded: ``"mnist"`` is refused (use
        :func:`load_mnist` or :func:`load`).
    cache_dir
        The cache directory; by default :func:`cache_directory` (``$OPTIMLAB_DATA``
        or the platform's user cache directory).

    Returns
    -------
    pathlib.Path
        ``<cache>/<name>``, holding the four ``.gz`` files of :data:`MNIST_FILES`,
        ready for :func:`load_idx_dir` (whose data sets are then named ``name``).

    Raises
    ------
    ConfigError
        ``name`` is ``"mnist"`` or unknown (the message lists the choices).
    DataError
        A download failed (without a network, the message names ``--data-dir``
        as the alternative) or a downloaded file fails its digest.
    """
    remote = _remote(name)
    directory = cache_directory(cache_dir) / remote.name
    stale = []
    for file in remote.files:
        path = directory / file
        if path.is_file() and file_digest(path) == remote.file_sha256[file].lower():
            continue
        stale.append(file)
        if path.exists():
            try:  # a damaged copy must not survive a failed re-download either
                path.unlink()
            except OSError as error:
                raise DataError(f"cannot remove damaged cached file {path}: {error}") from None
    if stale:
        try:
            download(remote.url, directory, files=stale, file_sha256=remote.file_sha256)
        except TransferError as error:
            raise DataError(_offline_message(remote, error)) from None
    return directory


def load(
    name: str,
    *,
    cache_dir: str | os.PathLike[str] | None = None,
    device: Any = "cpu",
    dtype: Any = "float32",
    xp: Any = None,
) -> tuple[Dataset, Dataset]:
    """Load the training and test sets of a data set by name, downloading it once if needed.

    Parameters
    ----------
    name
        One of :data:`DATASETS`: ``"mnist"`` (the packaged copy, as
        :func:`load_mnist`), ``"fashion-mnist"`` or ``"kmnist"`` (through
        :func:`fetch`).
    cache_dir
        The cache directory for :func:`fetch` (ignored for MNIST).
    device, xp
        Where the arrays go, as for :func:`optimlab.backend.resolve`.
    dtype
        ``"float32"`` (default) or ``"float64"`` for the images.

    Returns
    -------
    (train, test) : tuple of Dataset
        As :func:`load_idx_dir`, named ``name``: for the three data sets,
        60000 and 10000 images of 784 pixels in 10 classes.

    Raises
    ------
    ConfigError
        Unknown ``name``, bad ``dtype``.
    DataError
        As :func:`fetch`, or a file is damaged.
    DeviceError
        ``device`` is not available.
    """
    if name == "mnist":
        return load_mnist(device=device, dtype=dtype, xp=xp)
    _remote(name)  # an unknown name fails before the device is touched
    backend = resolve(device, xp)  # a bad device fails before a download
    directory = fetch(name, cache_dir=cache_dir)
    # Read exactly the files fetch verified (load_idx_dir would prefer a raw copy).
    sources: dict[str, tuple[Readable, str]] = {
        idx: (directory / f"{idx}.gz", str(directory / f"{idx}.gz")) for idx in IDX_NAMES
    }
    return load_sets(sources, None, "", name, backend, dtype)
