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

__all__ = ["canonical", "require_same_setting"]


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
        ``"<source> was written by another setting: <remedy>"``.
    """
    if stored is None or canonical(stored) != canonical(current):
        raise ConfigError(f"{source} was written by another setting: {remedy}")
