"""Test problems: what is trained, on what data, with which defaults, under one name.

A problem is an object with behaviour (:class:`Problem`): it builds its model, loads
its data, knows its chance loss, whether it classifies and its default learning rate
for an optimizer. Two kinds: :class:`NetworkProblem` (a network on a labelled data
set) and :class:`FunctionProblem` (a point on a noisy function). The built-in ones
(:mod:`.catalog`) are the lab report's network and DeepOBS's problems; another
package adds its own through the entry-point group ``optimlab.problems``
(:func:`load_plugins`; see docs/problems.md), and a script through :func:`register`.
"""

from __future__ import annotations

import importlib.metadata as _metadata

from .. import _plugins
from .._plugins import NAME
from ..errors import ConfigError
from .base import Problem, default_rate
from .catalog import BUILTIN
from .function import FunctionProblem, NoisyObjective
from .network import Arrays, NetworkProblem

__all__ = [
    "DEFAULT",
    "ENTRY_POINT_GROUP",
    "PLUGINS",
    "PROBLEMS",
    "Arrays",
    "FunctionProblem",
    "NetworkProblem",
    "NoisyObjective",
    "Problem",
    "default_rate",
    "get",
    "load_plugins",
    "register",
]

#: The registered problems, by name: the built-in ones, then the plugins'.
PROBLEMS: dict[str, Problem] = {p.name: p for p in BUILTIN}
#: The problem every command trains unless told: the lab report's network on MNIST.
DEFAULT = BUILTIN[0].name
#: The entry-point group under which a package registers problems.
ENTRY_POINT_GROUP = "optimlab.problems"
#: The problems that came from other packages or :func:`register`, by name.
PLUGINS: dict[str, Problem] = {}
#: Entry points whose module was being imported when they were listed (a script that
#: imports a plugin's module before optimlab): loaded when a name is first not found.
_DEFERRED: list[_metadata.EntryPoint] = []


def get(name: str | Problem) -> Problem:
    """The problem called ``name`` (a :class:`Problem` is returned as it is).

    Raises
    ------
    ConfigError
        No problem has that name (the message lists them).
    """
    if isinstance(name, Problem):
        return name
    _plugins.flush()  # the registry is in use: say which plugins it lacks
    if isinstance(name, str) and name not in PROBLEMS and _DEFERRED:
        deferred = list(_DEFERRED)
        _DEFERRED.clear()
        _load(deferred)
    if not isinstance(name, str) or name not in PROBLEMS:
        raise ConfigError(f"unknown problem {name!r}; choose from {', '.join(PROBLEMS)}")
    return PROBLEMS[name]


def register(problem: Problem) -> Problem:
    """Add ``problem`` to :data:`PROBLEMS` (and :data:`PLUGINS`) under its name.

    Raises
    ------
    ConfigError
        It is not a :class:`Problem`, its name is not lower-case letters, digits and
        ``_``, or another problem has that name.
    """
    if not isinstance(problem, Problem):
        raise ConfigError(
            f"a problem must be an optimlab.problems.Problem, not {type(problem).__name__}"
        )
    name = problem.name
    if not (isinstance(name, str) and NAME.match(name)):
        raise ConfigError(
            f"problem name {name!r} must be lower-case letters, digits and '_', "
            "starting with a letter"
        )
    if name in PROBLEMS and PROBLEMS[name] is not problem:
        raise ConfigError(f"a problem named {name!r} is already registered")
    PROBLEMS[name] = PLUGINS[name] = problem
    return problem


def load_plugins(entry_points=None) -> dict[str, Problem]:
    """Register the problems of the ``optimlab.problems`` entry points; returns those
    registered by this call.

    Runs once at import (with the installed packages' entry points). An entry point's
    name is the problem's name and it points to a :class:`Problem` (or to a function
    of no arguments returning one). One that cannot be loaded or breaks a rule of
    :func:`register` is skipped with a :class:`~optimlab.optimizers.PluginWarning` of
    one sentence naming it and its package; the others still work (the warnings of the
    loading at import are issued when the registry is first used, as the optimizers').
    """
    _plugins.flush()
    return _load(entry_points)


def _load(entry_points) -> dict[str, Problem]:
    """:func:`load_plugins`' work (its warnings held back while they are)."""
    return _plugins.load(ENTRY_POINT_GROUP, "problem", entry_points, _DEFERRED, _register)


def _register(entry) -> Problem:
    problem = entry.load()
    if not isinstance(problem, Problem) and callable(problem):
        problem = problem()
    if isinstance(problem, Problem) and problem.name != entry.name:
        raise ConfigError(
            f"it is the problem {problem.name!r}, not the entry point's {entry.name!r}"
        )
    if entry.name in PROBLEMS and PROBLEMS[entry.name] is not problem:
        raise ConfigError(f"{entry.name!r} is already a problem's name")
    return register(problem)


_load(None)
