"""Data sets: IDX files (the MNIST format) read into datasets on any Array API backend.

The package, one concept per module:

* :mod:`.dataset` — :class:`Dataset`, samples and their labels on one device;
* :mod:`.idx` — :func:`read_idx`, one IDX file (gzipped or raw) as a ``uint8`` array,
  and the four file names of the MNIST layout (:data:`IDX_NAMES`, :data:`MNIST_FILES`);
* :mod:`.checksums` — the SHA-256 policy, and ``sha256sum``-style files
  (:data:`SUMS_FILE`);
* :mod:`.idx_dir` — :func:`load_idx_dir`, a directory of the four files as the
  training and test sets;
* :mod:`.packaged` — :func:`load_mnist`, the MNIST copy shipped in the package,
  verified against :data:`MNIST_SHA256`;
* :mod:`.downloading` — :func:`download`, files kept only once verified;
* :mod:`.fetching` — :data:`REMOTE_DATASETS` (Fashion-MNIST, KMNIST), the cache
  (:func:`cache_directory`), :func:`fetch` and :func:`load` (any data set by name).

Every problem with a file is a :class:`~optimlab.errors.DataError` whose message is
one sentence naming the file.
"""

from .checksums import SUMS_FILE
from .dataset import Dataset
from .downloading import download
from .fetching import DATASETS, REMOTE_DATASETS, RemoteIdx, cache_directory, fetch, load
from .idx import IDX_NAMES, MNIST_FILES, read_idx
from .idx_dir import load_idx_dir
from .packaged import MNIST_SHA256, load_mnist

__all__ = [
    "DATASETS",
    "IDX_NAMES",
    "MNIST_FILES",
    "MNIST_SHA256",
    "REMOTE_DATASETS",
    "SUMS_FILE",
    "Dataset",
    "RemoteIdx",
    "cache_directory",
    "download",
    "fetch",
    "load",
    "load_idx_dir",
    "load_mnist",
    "read_idx",
]
