"""Downloading files into a directory, each verified before it is kept.

Why not pooch
-------------
``pooch.retrieve`` also downloads to a temporary file and keeps it only when its
SHA-256 matches, but it does not do what :func:`download` promises here:

* it opens ``http(s)``, ``ftp``, ``sftp`` and ``doi`` URLs only, while
  :func:`download` takes any URL :mod:`urllib` opens, ``file://`` included (the
  tests and offline mirrors use it);
* it verifies the bytes as stored only, while :func:`download` can also verify the
  *uncompressed* content (``sha256=``, as :data:`~optimlab.datasets.MNIST_SHA256`
  is); checking that after pooch has moved the file into place would replace an
  existing file with one that is then rejected;
* its failures are three-sentence ``ValueError``\\ s (a wrong digest) or
  ``requests`` exceptions whose text nests urllib3's retry and connection errors,
  where optimlab's rule is one :class:`~optimlab.errors.DataError` sentence naming
  the file; and it logs every download to standard error;
* it would bring ``requests``, ``urllib3``, ``certifi``, ``charset-normalizer`` and
  ``idna`` as dependencies, for what the standard library does in one loop below.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from pathlib import Path

from ..errors import ConfigError, DataError
from .checksums import digest_for, verify
from .idx import MNIST_FILES, read_content

__all__ = ["TransferError", "download"]

_DOWNLOAD_TIMEOUT_S = 60.0


class TransferError(DataError):
    """A download that failed in transit (network, server), not a bad file.

    :func:`~optimlab.datasets.fetch` catches it to say what to do without a
    network; everyone else sees a plain :class:`DataError`. ``reason`` is the
    :mod:`urllib` error (or its reason) that stopped the transfer.
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
        A download failed (a :class:`TransferError`) or a file fails its checksum.
    ConfigError
        ``sha256`` or ``file_sha256`` has no digest for one of ``files``.
    """
    names = list(files)
    for argument, table, lookup in (
        ("sha256", sha256, digest_for),
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
                    raise TransferError(
                        f"cannot download {name} from {url}: {reason}", error
                    ) from None
            shown = f"downloaded file {name} (from {url})"
            if file_sha256 is not None:
                stored = Path(temporary).read_bytes()
                verify(stored, file_sha256[name].strip().lower(), shown, of="bytes as stored")
            if sha256 is not None:
                expected = digest_for(sha256, name)
                assert expected is not None
                verify(read_content(Path(temporary), shown), expected, shown)
            os.replace(temporary, destination / name)
        finally:
            if os.path.exists(temporary):
                os.unlink(temporary)
    return destination
