"""SHA-256 checks of data files, and ``sha256sum``-style checksum files.

Checksum policy
---------------
Digests of the IDX files read from disk are SHA-256 of the *uncompressed* IDX
bytes. The gzip wrapper is not canonical (the same content compresses to
different bytes with other tools or settings), the content is: the packaged MNIST
copy was recompressed, and its uncompressed bytes match the published MD5s byte
for byte. :func:`~optimlab.datasets.load_mnist` always verifies the packaged files
against :data:`~optimlab.datasets.MNIST_SHA256`;
:func:`~optimlab.datasets.load_idx_dir` verifies when given digests or when the
directory holds a :data:`SUMS_FILE`; :func:`~optimlab.datasets.download` verifies
before a file is kept.

The downloaded data sets (:data:`~optimlab.datasets.REMOTE_DATASETS`:
Fashion-MNIST, KMNIST) are the exception: their pinned digests are of the ``.gz``
files *as published*, because those are the digests others have published and
checked (no independent source gives their uncompressed digests).
:func:`~optimlab.datasets.fetch` keeps the downloaded files unchanged, so it
verifies exactly those bytes (``download(file_sha256=...)``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path

from ..errors import DataError

__all__ = ["SUMS_FILE", "digest_for", "file_digest", "read_sums", "verify"]

#: Name of the optional checksum file in an IDX directory: lines ``<sha256-hex>  <name>``
#: giving the SHA-256 of each file's uncompressed bytes (the ``sha256sum`` format).
SUMS_FILE = "SHA256SUMS.uncompressed"


def digest_for(sha256: Mapping[str, str], name: str) -> str | None:
    """The expected digest of file ``name``, keyed with or without its ``.gz`` suffix.

    Returned as lower-case hex, or None when ``sha256`` has no entry for the file.
    """
    digest = sha256.get(name)
    if digest is None and name.endswith(".gz"):
        digest = sha256.get(name[: -len(".gz")])
    return None if digest is None else digest.strip().lower()


def verify(content: bytes, expected: str, shown: str, *, of: str = "uncompressed bytes") -> None:
    """Raise a DataError unless ``content`` has SHA-256 ``expected`` (lower-case hex).

    ``shown`` names the file and ``of`` says what was hashed, in the message.
    """
    actual = hashlib.sha256(content).hexdigest()
    if actual != expected:
        raise DataError(
            f"{shown} fails its checksum: the SHA-256 of its {of} is {actual}, expected {expected}"
        )


def file_digest(path: Path) -> str | None:
    """The SHA-256 (lower-case hex) of the file's bytes as stored, or None when unreadable."""
    digest = hashlib.sha256()
    try:
        with path.open("rb") as stream:
            for block in iter(lambda: stream.read(1 << 20), b""):
                digest.update(block)
    except OSError:
        return None
    return digest.hexdigest()


def read_sums(path: Path) -> dict[str, str]:
    """Parse a ``sha256sum``-style file: ``<hex>  <name>`` (or ``<hex> *<name>``) per line.

    Blank lines and lines starting with ``#`` are skipped. Returns lower-case
    digests by file name.

    Raises
    ------
    DataError
        The file cannot be read, or a line is not a digest and a name.
    """
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
