"""What every entry-point group of optimlab shares: the names, the warnings, the timing.

Packages register optimizers (``optimlab.optimizers``) and test problems
(``optimlab.problems``) as entry points; each registry loads its group when it is
imported. Three rules hold for both:

* a registry name is lower-case letters, digits and ``_``, starting with a letter
  (:data:`NAME`);
* a plugin that cannot be loaded is skipped with a :class:`PluginWarning` of one
  sentence naming it and its package; those skipped while optimlab imports are held
  back until the registries are first used (:func:`flush`), because Python would print
  a warning issued during an import with a file's path, which the command line cannot
  reformat;
* a plugin whose module is being imported at that moment (a script that imports the
  plugin's module before optimlab) cannot be loaded yet: its entry point waits
  (:func:`initializing`) and its registry loads it when a name is first not found.
"""

from __future__ import annotations

import importlib.metadata
import re
import sys
import warnings
from collections.abc import Callable
from typing import Any

from .errors import ConfigError

__all__ = [
    "NAME",
    "PluginWarning",
    "flush",
    "initializing",
    "load",
    "reason",
    "skipped",
    "warn",
]

#: A registry name, whole: lower-case letters, digits and ``_``, starting with a letter.
NAME = re.compile(r"[a-z][a-z0-9_]*\Z")
#: The sentences of the plugins skipped while optimlab imports, held back; None once issued.
_HELD: list[str] | None = []


class PluginWarning(RuntimeWarning):
    """A plugin that cannot be loaded; it is skipped, and nothing else changes."""


def warn(sentence: str, stacklevel: int = 1) -> None:
    """A :class:`PluginWarning` of ``sentence`` (``stacklevel`` counted from the caller),
    or held back while optimlab imports."""
    if _HELD is not None:
        _HELD.append(sentence)
    else:
        warnings.warn(sentence, PluginWarning, stacklevel=stacklevel + 1)


def flush() -> None:
    """Issue every warning held back at optimlab's import, once; from then on a plugin
    skipped is warned about at once. The command line calls it first thing, and each
    registry when it is first used."""
    global _HELD
    held, _HELD = _HELD or [], None
    for sentence in held:
        warnings.warn(sentence, PluginWarning, stacklevel=2)


def skipped(kind: str, entry: Any, why: str, stacklevel: int = 1) -> None:
    """Warn (:func:`warn`) that the ``kind`` plugin of ``entry`` is skipped, and why."""
    dist = getattr(entry, "dist", None)
    package = "" if dist is None else f", from the package {dist.name} {dist.version}"
    warn(
        f"optimlab: the {kind} plugin {entry.name!r} ({entry.value}{package}) "
        f"cannot be loaded: {why}; it is skipped",
        stacklevel=stacklevel + 1,
    )


def reason(error: BaseException) -> str:
    """``error`` as the end of one sentence: its first line (a ConfigError's alone, any
    other after its type's name)."""
    lines = str(error).strip().splitlines()
    text = lines[0].rstrip(".") if lines else ""
    if isinstance(error, ConfigError):
        return text
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def initializing(entry: Any) -> bool:
    """Whether the module of ``entry`` is being imported right now (its objects may not
    exist yet): load it later."""
    module = sys.modules.get(entry.module)
    return bool(getattr(getattr(module, "__spec__", None), "_initializing", False))


def load(
    group: str,
    kind: str,
    entry_points: Any,
    deferred: list[Any],
    register: Callable[[Any], Any],
) -> dict[str, Any]:
    """Register each entry point of ``entry_points`` (None: the installed packages' of
    ``group``) with ``register(entry)``, which returns what it registered (None: it was
    already there) or raises why it cannot; returns what was registered, by name.

    One that raises, even ``sys.exit()`` at its import, is skipped with a warning naming
    it as a ``kind`` plugin; one whose module is importing right now goes to ``deferred``.
    """
    if entry_points is None:
        try:
            entry_points = importlib.metadata.entry_points(group=group)
        except Exception as error:  # broken package metadata: the built-ins still work
            warn(f"optimlab: the {kind} plugins cannot be listed: {reason(error)}; none is loaded")
            return {}
    added = {}
    for entry in entry_points:
        if initializing(entry):
            deferred.append(entry)
            continue
        try:
            registered = register(entry)
        except (Exception, SystemExit) as error:
            skipped(kind, entry, reason(error))
            continue
        if registered is not None:
            added[entry.name] = registered
    return added
