"""Reading one IDX file (the MNIST format) into a NumPy array.

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
its name. Every problem is a :class:`~optimlab.errors.DataError` whose message
is one sentence naming the file.
"""

from __future__ import annotations

import gzip
import math
import os
import zlib
from pathlib import Path
from typing import Protocol

import numpy as np

from ..errors import DataError

__all__ = ["IDX_NAMES", "MNIST_FILES", "Readable", "parse_idx", "read_content", "read_idx"]

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


class Readable(Protocol):
    """A :class:`pathlib.Path` or an :mod:`importlib.resources` traversable."""

    def read_bytes(self) -> bytes: ...


def read_content(source: Readable, shown: str) -> bytes:
    """The uncompressed bytes of ``source`` (gunzipped when it starts with ``1f 8b``).

    ``shown`` names the file in messages.

    Raises
    ------
    DataError
        The file is missing, a directory, unreadable, or gzip that cannot be
        decompressed.
    """
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


def parse_idx(data: bytes, shown: str, ndim: int | None = None) -> np.ndarray:
    """The uint8 array an IDX file's uncompressed bytes describe (a read-only view).

    ``shown`` names the file in messages; ``ndim``, when given, is the number of
    dimensions the header must declare.

    Raises
    ------
    DataError
        A wrong magic number, type or number of dimensions, or fewer or more
        data bytes than the dimensions declare.
    """
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
    return parse_idx(read_content(path, str(path)), str(path), ndim)
