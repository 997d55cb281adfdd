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
from .adaptive import Adamax, AdamW, AMSGrad, NAdam, NAdamW, RAdam
from .base import OPTIONS, Optimizer, State, describe, member_hyperparameters, parameter_names
from .rules import SGD, AdaDelta, AdaGrad, Adam, Momentum, Nesterov, RMSprop
from .sign import Lion

__all__ = [
    "OPTIMIZERS",
    "OPTIONS",
    "REPORT",
    "SGD",
    "AMSGrad",
    "AdaDelta",
    "AdaGrad",
    "Adam",
    "AdamW",
    "Adamax",
    "Lion",
    "Momentum",
    "NAdam",
    "NAdamW",
    "Nesterov",
    "Optimizer",
    "RAdam",
    "RMSprop",
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
    cls = OPTIMIZERS.get(name.lower()) if isinstance(name, str) else None
    if cls is None:
        raise ConfigError(f"unknown optimizer {name!r}: choose one of {', '.join(OPTIMIZERS)}")
    return cls
