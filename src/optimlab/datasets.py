"""Reading IDX files (the MNIST format) into datasets on any Array API backend.

The IDX format
--------------
An IDX file is a big-endian header followed by the raw data, row-major:

* two zero bytes;
* one byte of type code (``0x08``: unsigned byte, the only type read here;
  ``0x09`` int8, ``0x0B`` int16, ``0x0C`` int32, ``0x0D`` float32 and
  ``0x0E`` float64 exist but are rejected);
* one byte: the number of dimensions ``d``;
* ``d`` dimension sizes, each a big-endian unsigned 32-bit integer;
* ``prod(dims)`` data bytes.

MNIST images are ``0x00000803`` with dims ``(n, 28, 28)`` and labels
``0x00000801`` with dims ``(n,)``. Files are commonly gzip-compressed; a file
is treated as gzip when it starts with the gzip magic bytes ``1f 8b``, whatever
its name.

Checksum policy
---------------
Digests are SHA-256 of the *uncompressed* IDX bytes. The gzip wrapper is not
canonical (the same content compresses to different bytes with other tools
or settings), the content is: the packaged MNIST copy was recompressed, and its
uncompressed bytes match the published MD5s byte for byte. :func:`load_mnist`
always verifies the packaged files against :data:`MNIST_SHA256`;
:func:`load_idx_dir` verifies when given digests or when the directory holds
a ``SHA256SUMS.uncompressed`` file; :func:`download` verifies before a file is
kept. Every problem is a :class:`~optimlab.errors.DataError` whose message is
one sentence naming the file.

The downloaded data sets (:data:`REMOTE_DATASETS`: Fashion-MNIST, KMNIST) are
the exception: their pinned digests are of the ``.gz`` files *as published*,
because those are the digests others have published and checked (no
independent source gives their uncompressed digests). :func:`fetch` keeps the
downloaded files unchanged, so it verifies exactly those bytes
(``download(file_sha256=...)``).

Downloaded data sets
--------------------
:func:`fetch` downloads a data set once into ``<cache>/<name>/`` and reuses it;
the cache is the ``cache_dir`` argument, else ``$OPTIMLAB_DATA``, else the
platform's user cache directory (:func:`cache_directory`). :func:`load` returns
the training and test sets of any data set by name, MNIST included.
"""

from __future__ import annotations

import gzip
import hashlib
import math
import os
import shutil
import sys
import tempfile
import urllib.error
import urllib.request
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

import array_api_compat
import numpy as np

from .backend import Backend, resolve
from .errors import ConfigError, DataError

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

#: The four standard (uncompressed) file names of an MNIST-layout IDX directory:
#: train images, train labels, test images, test labels.
IDX_NAMES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)

#: The four gzip-compressed MNIST file names, as published and as packaged.
MNIST_FILES = tuple(f"{name}.gz" for name in IDX_NAMES)

#: SHA-256 of the *uncompressed* bytes of each canonical MNIST file, keyed by the
#: uncompressed name (these bytes match the published MD5s).
MNIST_SHA256 = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}

#: Name of the optional checksum file in an IDX directory: lines ``<sha256-hex>  <name>``
#: giving the SHA-256 of each file's uncompressed bytes (the ``sha256sum`` format).
SUMS_FILE = "SHA256SUMS.uncompressed"

_GZIP_MAGIC = b"\x1f\x8b"
_UBYTE = 0x08
_IDX_TYPES = {
    0x08: "uint8",
    0x09: "int8",
    0x0B: "int16",
    0x0C: "int32",
    0x0D: "float32",
    0x0E: "float64",
}
_DOWNLOAD_TIMEOUT_S = 60.0


class _Readable(Protocol):
    """A :class:`pathlib.Path` or an :mod:`importlib.resources` traversable."""

    def read_bytes(self) -> bytes: ...


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


# ---------------------------------------------------------------- reading IDX


def _read_content(source: _Readable, shown: str) -> bytes:
    """The uncompressed bytes of ``source`` (gunzipped when it starts with ``1f 8b``)."""
    try:
        data = source.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{shown} does not exist") from None
    except IsADirectoryError:
        raise DataError(f"{shown} is a directory, not an IDX file") from None
    except OSError as error:
        raise DataError(f"cannot read {shown}: {error.strerror or error}") from None
    if data[:2] != _GZIP_MAGIC:
        return data
    try:
        return gzip.decompress(data)
    except EOFError:
        raise DataError(
            f"{shown} is a truncated gzip file (the compressed stream ends early)"
        ) from None
    except (OSError, zlib.error) as error:
        raise DataError(f"{shown} starts like gzip but cannot be decompressed ({error})") from None


def _parse_idx(data: bytes, shown: str, ndim: int | None = None) -> np.ndarray:
    """The uint8 array an IDX file's uncompressed bytes describe (a read-only view)."""
    expected = "0x000008NN (uint8, NN dimensions)" if ndim is None else f"0x{ndim | 0x800:08X}"
    if ndim is not None:
        expected += f" (uint8, {ndim} dimension{'s' if ndim != 1 else ''})"
    if len(data) < 4:
        raise DataError(
            f"{shown} is too short for an IDX header: {len(data)} bytes, "
            f"expected a magic number {expected}"
        )
    magic = int.from_bytes(data[:4], "big")
    type_code, dims_count = data[2], data[3]
    if data[:2] != b"\0\0":
        raise DataError(f"{shown} has magic number 0x{magic:08X}, expected {expected}")
    if type_code != _UBYTE:
        kind = _IDX_TYPES.get(type_code, "an unknown type")
        raise DataError(
            f"{shown} has magic number 0x{magic:08X} declaring {kind} (type code "
            f"0x{type_code:02X}), expected {expected}: only uint8 IDX files are supported"
        )
    if dims_count == 0 or (ndim is not None and dims_count != ndim):
        raise DataError(
            f"{shown} has magic number 0x{magic:08X} declaring {dims_count} dimensions, "
            f"expected {expected}"
        )
    header = 4 + 4 * dims_count
    if len(data) < header:
        raise DataError(
            f"{shown} is truncated inside its header: {len(data)} bytes, "
            f"but {dims_count} dimensions need a {header}-byte header"
        )
    dims = tuple(int.from_bytes(data[i : i + 4], "big") for i in range(4, header, 4))
    records, record_size = dims[0], math.prod(dims[1:])
    needed, held = records * record_size, len(data) - header
    if held != needed:
        problem = "is truncated" if held < needed else "has trailing bytes"
        unit = f"record{'s' * (records != 1)} of {record_size} byte{'s' * (record_size != 1)}"
        holds = f"{held / record_size:.10g}" if record_size else f"{held} extra bytes"
        raise DataError(
            f"{shown} {problem}: it declares {records} {unit} but holds {holds} "
            f"({held} data bytes instead of {needed})"
        )
    return np.frombuffer(data, dtype=np.uint8, count=needed, offset=header).reshape(dims)


def read_idx(path: str | os.PathLike[str], *, ndim: int | None = None) -> np.ndarray:
    """Read one IDX file of unsigned bytes, gzipped or raw.

    Parameters
    ----------
    path
        The file. It is decompressed when it starts with the gzip magic bytes
        ``1f 8b``, whatever its name.
    ndim
        When given, the number of dimensions the file must declare (3 for
        images, 1 for labels); the magic number must then be
        ``0x00000800 + ndim``.

    Returns
    -------
    numpy.ndarray
        A read-only ``uint8`` array with the file's declared dimensions,
        for example ``(60000, 28, 28)`` for the MNIST training images
        (values are raw bytes ``0..255``).

    Raises
    ------
    DataError
        The file is missing or unreadable, not decodable gzip, has a wrong
        magic number or an unsupported type, or holds fewer or more data
        bytes than its dimensions declare.
    """
    path = Path(path)
    return _parse_idx(_read_content(path, str(path)), str(path), ndim)


# ----------------------------------------------------------------- checksums


def _digest_for(sha256: Mapping[str, str], name: str) -> str | None:
    """The expected digest of file ``name``, keyed with or without its ``.gz`` suffix."""
    digest = sha256.get(name)
    if digest is None and name.endswith(".gz"):
        digest = sha256.get(name[: -len(".gz")])
    return None if digest is None else digest.strip().lower()


def _verify(content: bytes, expected: str, shown: str, *, of: str = "uncompressed bytes") -> None:
    """Raise a DataError unless ``content`` has SHA-256 ``expected`` (``of``: what was hashed)."""
    actual = hashlib.sha256(content).hexdigest()
    if actual != expected:
        raise DataError(
            f"{shown} fails its checksum: the SHA-256 of its {of} is {actual}, expected {expected}"
        )


def _file_digest(path: Path) -> str | None:
    """The SHA-256 of the file's bytes as stored, or None when it cannot be read."""
    digest = hashlib.sha256()
    try:
        with path.open("rb") as stream:
            for block in iter(lambda: stream.read(1 << 20), b""):
                digest.update(block)
    except OSError:
        return None
    return digest.hexdigest()


def _read_sums(path: Path) -> dict[str, str]:
    """Parse a ``sha256sum``-style file: ``<hex>  <name>`` (or ``<hex> *<name>``) per line."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise DataError(f"cannot read checksum file {path}: {error}") from None
    sums: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        digest, _, name = line.partition(" ")
        name = name.strip().removeprefix("*")
        if len(digest) != 64 or not name or any(c not in "0123456789abcdefABCDEF" for c in digest):
            raise DataError(
                f"checksum file {path} line {number} is not '<sha256 hex>  <file name>': {line!r}"
            )
        sums[name] = digest.lower()
    return sums


# ------------------------------------------------------------------- loading


def _float_dtypes(backend: Backend, dtype: Any) -> tuple[Any, type[np.floating[Any]]]:
    """The namespace's floating dtype for ``dtype`` and the matching NumPy dtype."""
    target = backend.dtype(dtype)
    if target == backend.xp.float32:
        return target, np.float32
    if target == backend.xp.float64:
        return target, np.float64
    raise ConfigError(f"dtype must be float32 or float64, not {dtype!r}")


def _load_sets(
    sources: Mapping[str, tuple[_Readable, str]],
    sha256: Mapping[str, str] | None,
    sums_origin: str,
    name: str,
    backend: Backend,
    dtype: Any,
) -> tuple[Dataset, Dataset]:
    """Read, verify, check and move the four files ``sources[IDX_NAMES[i]] = (file, shown)``."""
    target, host_dtype = _float_dtypes(backend, dtype)
    arrays: dict[str, np.ndarray] = {}
    for idx_name in IDX_NAMES:
        source, shown = sources[idx_name]
        content = _read_content(source, shown)
        if sha256 is not None:
            expected = _digest_for(sha256, idx_name)
            if expected is None:
                raise DataError(f"{sums_origin} gives no SHA-256 for {idx_name}")
            _verify(content, expected, shown)
        arrays[idx_name] = _parse_idx(content, shown, 3 if "images" in idx_name else 1)

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
    sources: dict[str, tuple[_Readable, str]] = {}
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
        sha256 = _read_sums(directory / SUMS_FILE)
        origin = f"checksum file {directory / SUMS_FILE}"
    backend = resolve(device, xp)
    return _load_sets(sources, sha256, origin, directory.name, backend, dtype)


def load_mnist(
    *, device: Any = "cpu", dtype: Any = "float32", xp: Any = None
) -> tuple[Dataset, Dataset]:
    """Load the MNIST copy shipped inside the package, verified against :data:`MNIST_SHA256`.

    Parameters
    ----------
    device, xp
        Where the arrays go, as for :func:`optimlab.backend.resolve`.
    dtype
        ``"float32"`` (default) or ``"float64"`` for the images.

    Returns
    -------
    (train, test) : tuple of Dataset
        ``train.images`` of shape ``(60000, 784)``, ``test.images``
        ``(10000, 784)``, pixels scaled to ``[0, 1]``; labels ``int64`` in
        ``0..9``; ``num_classes == 10``; ``name == "mnist"``.

    Raises
    ------
    DataError
        The packaged files are missing or damaged.
    """
    folder = resources.files("optimlab") / "data" / "mnist"
    sources = {
        name: (folder / f"{name}.gz", f"packaged MNIST file {name}.gz") for name in IDX_NAMES
    }
    backend = resolve(device, xp)
    return _load_sets(sources, MNIST_SHA256, "MNIST_SHA256", "mnist", backend, dtype)


# --------------------------------------------------------------- downloading


class _TransferError(DataError):
    """A download that failed in transit (network, server), not a bad file.

    :func:`fetch` catches it to say what to do without a network; everyone else
    sees a plain :class:`DataError`.
    """

    def __init__(self, message: str, reason: BaseException | str) -> None:
        super().__init__(message)
        self.reason = reason


def download(
    base_url: str,
    directory: str | os.PathLike[str],
    *,
    files: Iterable[str] = MNIST_FILES,
    sha256: Mapping[str, str] | None = None,
    file_sha256: Mapping[str, str] | None = None,
) -> Path:
    """Download IDX files into a directory, verifying them before they are kept.

    Each file is fetched from ``base_url/name`` (any URL :mod:`urllib` opens,
    ``https://`` or ``file://``) into a temporary file in ``directory`` and
    moved to ``directory/name`` with :func:`os.replace` only once complete and
    verified, so a failed or rejected download leaves nothing behind (an
    existing file of that name is left as it was). Files already downloaded
    before a later one fails are kept.

    Parameters
    ----------
    base_url
        URL of the folder holding the files (a trailing ``/`` is optional).
    directory
        Destination, created if missing.
    files
        File names to fetch; by default the four gzipped MNIST files.
    sha256
        SHA-256 hex digests of the *uncompressed* content, keyed by file name
        with or without ``.gz`` (for example :data:`MNIST_SHA256`). When given,
        every file must have a digest.
    file_sha256
        SHA-256 hex digests of the files' bytes *as stored* (a ``.gz`` file's
        compressed bytes), keyed by the exact file name, as published for the
        :data:`REMOTE_DATASETS`. When given, every file must have a digest.

    Returns
    -------
    pathlib.Path
        ``directory``.

    Raises
    ------
    DataError
        A download failed or a file fails its checksum.
    ConfigError
        ``sha256`` or ``file_sha256`` has no digest for one of ``files``.
    """
    names = list(files)
    for argument, table, lookup in (
        ("sha256", sha256, _digest_for),
        ("file_sha256", file_sha256, lambda t, n: t.get(n)),
    ):
        lacking = [n for n in names if table is not None and lookup(table, n) is None]
        if lacking:
            raise ConfigError(f"{argument} gives no digest for {', '.join(lacking)}")
    destination = Path(directory)
    try:
        destination.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DataError(f"cannot create download directory {destination}: {error}") from None
    base = base_url.rstrip("/")
    for name in names:
        url = f"{base}/{name}"
        handle, temporary = tempfile.mkstemp(prefix=f".{name}.", suffix=".part", dir=destination)
        try:
            with os.fdopen(handle, "wb") as out:
                try:
                    with urllib.request.urlopen(url, timeout=_DOWNLOAD_TIMEOUT_S) as response:
                        shutil.copyfileobj(response, out, length=1 << 20)
                except (urllib.error.URLError, OSError, ValueError) as error:
                    reason = getattr(error, "reason", None) or error
                    raise _TransferError(
                        f"cannot download {name} from {url}: {reason}", error
                    ) from None
            shown = f"downloaded file {name} (from {url})"
            if file_sha256 is not None:
                stored = Path(temporary).read_bytes()
                _verify(stored, file_sha256[name].strip().lower(), shown, of="bytes as stored")
            if sha256 is not None:
                expected = _digest_for(sha256, name)
                assert expected is not None
                _verify(_read_content(Path(temporary), shown), expected, shown)
            os.replace(temporary, destination / name)
        finally:
            if os.path.exists(temporary):
                os.unlink(temporary)
    return destination


# ------------------------------------------------------ downloaded data sets


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


def _user_cache_dir(platform: str, environ: Mapping[str, str], home: Path) -> Path:
    """The platform's per-user cache directory for optimlab (no dependency on platformdirs)."""
    if platform == "win32":
        local = environ.get("LOCALAPPDATA") or str(home / "AppData" / "Local")
        return Path(local) / "optimlab" / "Cache"
    if platform == "darwin":
        return home / "Library" / "Caches" / "optimlab"
    # The XDG spec says a relative $XDG_CACHE_HOME is invalid and must be ignored.
    xdg = environ.get("XDG_CACHE_HOME", "")
    return (Path(xdg) if os.path.isabs(xdg) else home / ".cache") / "optimlab"


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
        platform's user cache directory: ``$XDG_CACHE_HOME/optimlab`` or
        ``~/.cache/optimlab`` on Linux, ``~/Library/Caches/optimlab`` on macOS,
        ``%LOCALAPPDATA%\\optimlab\\Cache`` on Windows. It need not exist yet.
    """
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    configured = os.environ.get(_CACHE_ENV, "")
    if configured:
        return Path(configured).expanduser()
    return _user_cache_dir(sys.platform, os.environ, Path.home())


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


def _offline_message(remote: RemoteIdx, error: _TransferError) -> str:
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
        if path.is_file() and _file_digest(path) == remote.file_sha256[file].lower():
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
        except _TransferError as error:
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
    sources = {idx: (directory / f"{idx}.gz", str(directory / f"{idx}.gz")) for idx in IDX_NAMES}
    return _load_sets(sources, None, "", name, backend, dtype)
