"""Continuing saved work: a checkpoint or an experiment continues only its own setting.

``optimlab train --resume`` and ``compare``/``sweep --resume`` both store the
setting they ran (as JSON) and, before continuing, require the current one to
be the same. Comparing what JSON reads back on both sides makes a tuple equal
its list and an int equal the same int read from a file.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ..errors import ConfigError

__all__ = ["canonical", "require_same_data", "require_same_setting"]


def canonical(value: Any) -> Any:
    """``value`` as it reads back from JSON (tuples become lists), for comparisons."""
    return json.loads(json.dumps(value))


def require_same_setting(
    stored: Mapping[str, Any] | None, current: Mapping[str, Any], source: str, remedy: str
) -> None:
    """Raise unless the ``stored`` setting equals the ``current`` one.

    Parameters
    ----------
    stored
        The setting saved with the work (``None`` if none was).
    source
        What holds the saved work, for the message (``"checkpoint run.npz"``).
    remedy
        What the user can do instead, for the message.

    Raises
    ------
    ConfigError
        ``"<source> was written with <field> = <stored>, and this command has <field> =
        <current>: <remedy>"`` (the first field that differs).
    """
    if stored is None:
        raise ConfigError(f"{source} does not record its setting: {remedy}")
    old, new = canonical(dict(stored)), canonical(dict(current))
    found = _difference(old, new, "")
    if found is not None:
        name, before, now = found
        raise ConfigError(
            f"{source} was written with {name} = {_shown(before)}, and this "
            f"command has {name} = {_shown(now)}: {remedy}"
        )


def _difference(old: Any, new: Any, path: str) -> tuple[str, Any, Any] | None:
    """The first field that differs between ``old`` and ``new``, down to the innermost
    one (``passes[3][0].hyperparameters.lr``), and its two values; None if equal. A long
    value is shortened for the message, so the field shown is the one that differs."""
    if old == new:
        return None
    if isinstance(old, dict) and isinstance(new, dict):
        for key in [*old, *(k for k in new if k not in old)]:
            found = _difference(old.get(key), new.get(key), f"{path}.{key}" if path else key)
            if found is not None:
                return found
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for k, (a, b) in enumerate(zip(old, new)):
            found = _difference(a, b, f"{path}[{k}]")
            if found is not None:
                return found
    return path, old, new


def require_same_data(
    stored: Mapping[str, str], current: Mapping[str, str], source: str, remedy: str
) -> None:
    """Raise unless the data files' digests are those ``source`` was written with.

    A record without digests (written before optimlab kept them) is not checked, nor
    a problem without data files (a function draws its samples).

    Raises
    ------
    ConfigError
        Naming the first file that changed, appeared or is gone.
    """
    if not stored or not current:
        return
    for name in sorted(set(stored) | set(current)):
        if stored.get(name) != current.get(name):
            if name not in current:
                change = "is gone"
            elif name not in stored:
                change = "was not there"
            else:
                change = "has changed (its SHA-256 differs)"
            raise ConfigError(
                f"data file {name} {change} since {source} was written: resuming would "
                f"train on other data; {remedy}"
            )


def _shown(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= 120 else text[:117] + "..."
