"""Optimizers: the update rules of the report behind one protocol, and their registry.

::

    from optimlab import optimizers

    opt = optimizers.get("adam", lr=0.001)          # or optimizers.Adam(lr=0.001)
    state = opt.init(params)                        # params: a list of arrays
    params, state = opt.step(params, grads, state)  # new parameters and state

:mod:`~optimlab.optimizers.base` holds the protocol (:class:`Optimizer`,
:class:`State`) and member stacks; :mod:`~optimlab.optimizers.rules` the rules.
"""

from __future__ import annotations

import inspect

from ..errors import ConfigError
from .adabelief import AdaBelief
from .adafactor import Adafactor
from .adan import Adan
from .adaptive import Adamax, AdamW, AMSGrad, NAdam, NAdamW, RAdam
from .ademamix import AdEMAMix
from .base import OPTIONS, Optimizer, State, describe, member_hyperparameters, parameter_names
from .muon import Muon
from .prodigy import Prodigy
from .rules import SGD, AdaDelta, AdaGrad, Adam, Momentum, Nesterov, RMSprop
from .schedule_free import AdamWScheduleFree, SGDScheduleFree
from .sign import Lion
from .soap import SOAP

__all__ = [
    "OPTIMIZERS",
    "OPTIONS",
    "REPORT",
    "SGD",
    "SOAP",
    "AMSGrad",
    "AdEMAMix",
    "AdaBelief",
    "AdaDelta",
    "AdaGrad",
    "Adafactor",
    "Adam",
    "AdamW",
    "AdamWScheduleFree",
    "Adamax",
    "Adan",
    "Lion",
    "Momentum",
    "Muon",
    "NAdam",
    "NAdamW",
    "Nesterov",
    "Optimizer",
    "Prodigy",
    "RAdam",
    "RMSprop",
    "SGDScheduleFree",
    "State",
    "defaults",
    "describe",
    "get",
    "member_hyperparameters",
]

#: Registry name -> optimizer class: the report's seven first, in its order.
OPTIMIZERS: dict[str, type[Optimizer]] = {
    cls.name: cls
    for cls in (
        *(SGD, Momentum, Nesterov, AdaGrad, RMSprop, AdaDelta, Adam),
        *(AdamW, AMSGrad, NAdam, NAdamW, RAdam, Adamax, Lion),
        *(AdamWScheduleFree, SGDScheduleFree, Prodigy, Adafactor, Muon),
        *(Adan, AdEMAMix, AdaBelief, SOAP),
    )
}
#: The report's seven optimizers: what ``compare`` trains by default.
REPORT: tuple[str, ...] = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adadelta", "adam")


def get(name: str, **hyperparameters: float) -> Optimizer:
    """The optimizer registered as ``name`` with the given hyper-parameters (others default).

    Raises
    ------
    ConfigError
        ``name`` is unknown, or a hyper-parameter is not one of that optimizer's or is
        impossible (``ConfigError`` is a ``ValueError``).
    """
    cls = _class(name)
    allowed = parameter_names(cls)
    unknown = [k for k in hyperparameters if k not in allowed and k not in OPTIONS]
    if unknown:
        raise ConfigError(
            f"{cls.name} has no hyper-parameter {unknown[0]!r}; its hyper-parameters are "
            f"{', '.join(allowed)} (and the options {', '.join(OPTIONS)})"
        )
    return cls(**hyperparameters)


def defaults(name: str) -> dict[str, float]:
    """The hyper-parameters of the optimizer registered as ``name``, with their defaults."""
    cls = _class(name)
    parameters = inspect.signature(cls.__init__).parameters
    return {k: parameters[k].default for k in parameter_names(cls)}


def _class(name: str) -> type[Optimizer]:
    warn_skipped_plugins()  # the registry is in use: say which plugins it lacks
    if isinstance(name, str) and name.lower() not in OPTIMIZERS and _DEFERRED:
        _load_deferred()
    cls = OPTIMIZERS.get(name.lower()) if isinstance(name, str) else None
    if cls is None:
        raise ConfigError(f"unknown optimizer {name!r}: choose one of {', '.join(OPTIMIZERS)}")
    return cls


# -- optimizers from other packages: entry points of the group "optimlab.optimizers" -------
#
# Loaded once, here, at import: the command line builds its choices and hyper-parameter
# flags from OPTIMIZERS when its parser is imported, and experiments check names against
# it, so plugins must be in it by then. A plugin's module is therefore imported while
# optimlab itself is importing: at its top it may import from optimlab.optimizers (and its
# modules) and optimlab.errors; anything else of optimlab belongs inside its functions.
# What the groups share (names, held-back warnings, a module still importing) is
# optimlab._plugins'.

import importlib.metadata as _metadata  # noqa: E402

from .. import _plugins  # noqa: E402
from .._plugins import NAME, PluginWarning  # noqa: E402

__all__ += [
    "ENTRY_POINT_GROUP",
    "NAME",
    "PLUGINS",
    "PluginWarning",
    "load_plugins",
    "skip_plugin",
    "warn_skipped_plugins",
]

#: The entry-point group under which a package registers optimizers (name -> class).
ENTRY_POINT_GROUP = "optimlab.optimizers"
#: The optimizers that came from other packages: registry name -> class (also in
#: OPTIMIZERS, after the built-in ones).
PLUGINS: dict[str, type[Optimizer]] = {}
_BUILTIN = frozenset(OPTIMIZERS)
_ENTRIES: dict[str, _metadata.EntryPoint] = {}  # a plugin's entry point, by its name
#: Entry points whose module was importing when they were listed: loaded at first need.
_DEFERRED: list[_metadata.EntryPoint] = []


def load_plugins(entry_points=None) -> dict[str, type[Optimizer]]:
    """Register the optimizers of the ``optimlab.optimizers`` entry points in
    :data:`OPTIMIZERS` and :data:`PLUGINS`; returns those registered by this call.

    Runs once at import (with the installed packages' entry points); call it with a list
    of :class:`importlib.metadata.EntryPoint` to register others. An entry point's name is
    the registry name: lower-case letters, digits and ``_``, not a built-in optimizer's
    name, and the ``name`` of the :class:`Optimizer` subclass it points to. One that
    cannot be loaded or fails these rules is skipped with a :class:`PluginWarning` of one
    sentence naming it and its package (those of the loading at import are issued when
    the registry is first used: :func:`warn_skipped_plugins`).
    """
    warn_skipped_plugins()
    return _load(entry_points)


def warn_skipped_plugins() -> None:
    """Issue the :class:`PluginWarning` of each plugin (optimizer or problem) skipped at
    optimlab's import, once.

    The loading at import holds them back until the registry is first used (:func:`get`,
    :func:`defaults`, :func:`load_plugins`, a :class:`~optimlab.Trainer`) or the command
    line starts, which shows each as one line of its own (``optimlab: warning: ...``);
    from then on a plugin skipped is warned about at once.
    """
    _plugins.flush()


def _load(entry_points) -> dict[str, type[Optimizer]]:
    """:func:`load_plugins`' work (its warnings held back while they are)."""
    return _plugins.load(ENTRY_POINT_GROUP, "optimizer", entry_points, _DEFERRED, _register)


def _register(entry) -> type[Optimizer] | None:
    cls = _plugin(entry)
    if cls is not None:
        OPTIMIZERS[entry.name] = PLUGINS[entry.name] = cls
        _ENTRIES[entry.name] = entry
    return cls


def _load_deferred() -> None:
    """Load the entry points whose module was importing when they were listed."""
    deferred = list(_DEFERRED)
    _DEFERRED.clear()
    _load(deferred)


def skip_plugin(name: str, reason: str) -> None:
    """Take the plugin registered as ``name`` out of :data:`OPTIMIZERS` and
    :data:`PLUGINS`, with a :class:`PluginWarning` of one sentence giving ``reason``
    (the command line refuses one whose hyper-parameter is named as one of its options)."""
    OPTIMIZERS.pop(name, None)
    cls = PLUGINS.pop(name)
    entry = _ENTRIES.pop(name, None)
    if entry is None:  # registered by hand: name the class instead
        value = f"{cls.__module__}:{cls.__qualname__}"
        entry = _metadata.EntryPoint(name, value, ENTRY_POINT_GROUP)
    _plugins.skipped("optimizer", entry, reason, stacklevel=1)


def _plugin(entry) -> type[Optimizer] | None:
    """The class of one entry point, validated; None: already registered (the same class)."""
    name = entry.name
    if not (isinstance(name, str) and NAME.match(name)):
        raise ConfigError(
            "its name must be lower-case letters, digits and '_', starting with a letter"
        )
    if name in _BUILTIN:
        raise ConfigError(f"{name!r} is the name of a built-in optimizer")
    cls = entry.load()
    if not (isinstance(cls, type) and issubclass(cls, Optimizer)):
        what = f"the class {cls.__qualname__}" if isinstance(cls, type) else type(cls).__name__
        raise ConfigError(f"it is {what}, not a subclass of optimlab.optimizers.Optimizer")
    if getattr(cls, "name", None) != name:
        raise ConfigError(
            f"its class {cls.__qualname__} has the name {getattr(cls, 'name', None)!r}, "
            f"not the entry point's {name!r}"
        )
    if name in OPTIMIZERS:
        if OPTIMIZERS[name] is cls:
            return None
        raise ConfigError(f"{name!r} is already registered by {OPTIMIZERS[name].__module__}")
    signature = inspect.signature(cls.__init__).parameters
    missing = [k for k in parameter_names(cls) if signature[k].default is inspect.Parameter.empty]
    if missing:
        raise ConfigError(f"its hyper-parameter {missing[0]!r} has no default")
    return cls


_load(None)
