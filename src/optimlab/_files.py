"""Writing files so that a reader never sees half of one."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from .errors import ConfigError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# Files are created with the permissions of an ordinary open(), not mkstemp's 0600.
_FILE_MODE = 0o666 & ~_umask()


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str], mode: str = "wb") -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path``; on success rename it over ``path``.

    On any error the temporary file is removed and an existing ``path`` is left as it was.
    """
    path = Path(path)
    check_writable(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, _FILE_MODE)
        os.replace(tmp, path)
    except BaseException as error:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(error, OSError) and error.errno is not None and error.filename is None:
            # a full disk or a file-size limit: name the file the user knows
            raise OSError(error.errno, error.strerror, str(path)) from error
        raise


def check_writable(path: str | os.PathLike[str]) -> Path:
    """Raise :class:`ConfigError` unless a file can be written at ``path``.

    Called before long work, so that a bad path fails at once.
    """
    path = Path(path)
    check_name_lengths(path)
    parent = path.parent
    if path.is_dir():
        raise ConfigError(f"{path} is a directory, not a file name")
    if not parent.is_dir():
        raise ConfigError(f"cannot write {path}: directory {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ConfigError(f"cannot write {path}: directory {parent} is not writable")
    return path


#: What an atomic write adds to a file's name for its temporary file (``.NAME.XXXXXXXX.tmp``).
_TEMPORARY_EXTRA = 14


def check_name_lengths(path: str | os.PathLike[str]) -> Path:
    """Raise :class:`ConfigError` if a name in ``path`` is too long for its file system.

    The limit is the file system's, less what the temporary file of an atomic
    write adds, so that every file optimlab writes there can be written.
    """
    path = Path(path)
    existing = path.absolute()
    while not os.path.isdir(existing) and existing.parent != existing:  # never raises
        existing = existing.parent
    try:
        limit = os.pathconf(existing, "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):
        limit = 255
    for part in path.parts:
        size = len(os.fsencode(part))
        if size > limit - _TEMPORARY_EXTRA:
            raise ConfigError(
                f"the name {part[:20]}...{part[-10:]} is {size} bytes long; this file system "
                f"takes names of at most {limit} bytes, and optimlab needs "
                f"{_TEMPORARY_EXTRA} of them for its temporary files: "
                f"use at most {limit - _TEMPORARY_EXTRA}"
            )
    return path
