"""Hyper-parameters declared once: default, check, doc line and search range.

An optimizer declares each hyper-parameter as a class attribute, in the order of
its constructor's arguments::

    class Lion(Optimizer):
        name = "lion"
        slots = ("mean",)
        lr = Hyperparameter(1e-4, rate, "step per coordinate", search=(1e-6, 1e-2))
        beta1 = Hyperparameter(0.9, fraction, "interpolation of the step's momentum",
                               search=(0.5, 0.996), scale="log1m")
        beta2 = Hyperparameter(0.99, fraction, "decay of the stored momentum")
        weight_decay = Hyperparameter(0.0, rate, "decoupled weight decay",
                                      search=(1e-4, 10.0))

        @staticmethod
        def update(xp, w, g, M, *, t, lr, beta1, beta2, weight_decay): ...

and everything else follows from that (:class:`~optimlab.optimizers.Optimizer`'s
``__init_subclass__`` builds it): the constructor ``Lion(lr=1e-4, beta1=0.9, beta2=0.99,
weight_decay=0.0, **options)`` with an introspectable signature, its validation (a
:class:`~optimlab.errors.ConfigError` of one sentence naming the parameter), the
attributes (``opt.lr``), ``repr``, ``opt.hyperparameters``, ``optimizers.defaults``,
the command line's flags (typed by the check: :func:`flag` is a switch, :func:`integer`
an int, any other check a number) and the benchmark's search space (the dimensions with
a ``search`` range, in declaration order; the learning rate first).

A subclass inherits its parent's declarations, in their order, and may replace one
(``lr = Adam.lr.but(default=0.002)``) or add more after them. A check is any function
``(name, value) -> value`` that returns the value to keep or raises a ``ConfigError``
naming ``name``; those below cover the usual kinds.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from ..errors import ConfigError

__all__ = [
    "OPTIONS",
    "SCALES",
    "Declared",
    "Hyperparameter",
    "at_least",
    "describe",
    "at_most",
    "epsilon",
    "flag",
    "fraction",
    "integer",
    "number",
    "open_fraction",
    "parameter_names",
    "positive",
    "rate",
]

#: How a search range is spread: uniform in ``log x``, in ``x``, or in ``log(1 - x)``
#: (decay rates such as ``beta2``); see :class:`optimlab.benchmark.spaces.Dimension`.
SCALES = ("log", "linear", "log1m")


@dataclasses.dataclass(frozen=True)
class Hyperparameter:
    """One hyper-parameter of an optimizer, declared as a class attribute (its name).

    Parameters
    ----------
    default
        The value when none is given (a Python number or bool; None where ``derive``
        computes it).
    check
        ``(name, value) -> value``: the value to keep, or a ``ConfigError`` of one
        sentence naming ``name`` (:func:`rate`, :func:`fraction`, :func:`positive`,
        :func:`epsilon`, :func:`number`, :func:`flag`, :func:`integer`, ...).
    doc
        One line: what it does (the command line's help shows it).
    search
        ``(low, high)``: the range the benchmark tunes it over; None (default): not tuned.
    scale
        How the range is spread: ``"log"`` (default), ``"linear"`` or ``"log1m"``.
    derive
        ``optimizer -> value``: where the value is None (the default), the value computed
        from the hyper-parameters declared before it (Prodigy's ``beta3 = sqrt(beta2)``).
    """

    default: Any
    check: Callable[[str, Any], Any]
    doc: str = ""
    search: tuple[float, float] | None = None
    scale: str = "log"
    derive: Callable[[Any], Any] | None = None

    def __post_init__(self) -> None:
        if self.scale not in SCALES:
            raise ValueError(f"scale must be one of {', '.join(SCALES)}, not {self.scale!r}")

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        # on the class: the declaration; an instance holds its value in its own __dict__
        return self

    def validate(self, name: str, value: Any) -> Any:
        """The value kept for ``value`` given as ``name``: checked, or derived from None."""
        if value is None and self.derive is not None:
            return None  # the constructor derives it once the others are set
        return self.check(name, value)

    @property
    def type(self) -> type:
        """What the command line parses: ``bool`` (:func:`flag`), ``int`` (:func:`integer`)
        or ``float`` (every other check)."""
        return getattr(self.check, "type", float)

    def but(self, **changes: Any) -> Hyperparameter:
        """This declaration with some fields replaced (a subclass's other default)."""
        return dataclasses.replace(self, **changes)


#: The options every optimizer takes besides its rule's hyper-parameters, and their defaults.
OPTIONS: dict[str, Any] = {
    "schedule": None,
    "clip_norm": None,
    "decay_biases": True,
    "flush_subnormals": True,
}


class Declared:
    """What an optimizer class declares besides its rule, read by the rest of optimlab
    (the base of :class:`~optimlab.optimizers.Optimizer`).

    A class with its own :class:`Hyperparameter` attributes and no ``__init__`` of its
    own gets the constructor they describe (see the module's docstring); one that writes
    its ``__init__`` keeps it (one keyword argument with a default per hyper-parameter,
    each validated and stored under its own name, and ``super().__init__(**options)``).
    """

    #: The hyper-parameters declared on the class, by name, in order (its bases' first).
    declared: ClassVar[Mapping[str, Hyperparameter]] = {}
    #: Seconds of one member's pass relative to SGD's, with the report's setting (NumPy,
    #: float32, 40 epochs; the report's seven from ``optimlab compare --jobs 1``, the later
    #: rules from a run of all fourteen on two processes): only the order matters, the
    #: longest passes start first.
    pass_cost: ClassVar[float] = 3.0
    #: Native implementations of the rule, by library (``"cupy"``): each a
    #: :class:`~optimlab.backend.implementations.Kernel`, source text that ``backend``
    #: compiles and proves equal to :meth:`update` (elementwise rules only).
    native: ClassVar[Mapping[str, Any]] = {}
    #: Which of a problem's default rates it takes (a 2-D function's): ``"sgd"`` for a
    #: step that is the gradient times the rate, which must match the curvature;
    #: ``"adaptive"`` for a normalised step; None: the rule sets its own step size and
    #: keeps its default ``lr`` (Prodigy).
    rate_family: ClassVar[str | None] = "adaptive"
    #: In ``optimlab benchmark``'s default set of optimizers. False for a rule whose step
    #: costs hundreds of another's on the report's network (SOAP's 784 x 784 factor), which
    #: would make the default run take hours; ``--optimizers all`` still includes it.
    default_benchmark: ClassVar[bool] = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.declared = {  # the bases' first, in order; a redeclared one keeps its place
            k: v
            for klass in reversed(cls.__mro__)
            for k, v in vars(klass).items()
            if isinstance(v, Hyperparameter)
        }
        own = any(isinstance(v, Hyperparameter) for v in vars(cls).values())
        if own and "__init__" not in vars(cls):
            cls.__init__ = _constructor(cls)  # type: ignore[method-assign]
            if cls.__doc__ and "Parameters\n" not in cls.__doc__:
                cls.__doc__ = cls.__doc__.rstrip() + "\n\n" + _parameters_doc(cls.declared)

    @staticmethod
    def per_step(t: Any, scalars: dict[str, Any], **hyperparameters: Any) -> tuple[dict, dict]:
        """The step's scalars, computed once per step for every array and for the native
        kernels alike: ``(values, scalars)``, the values passed to ``update`` by name beside
        the hyper-parameters (Adam's bias corrections) and the running scalars, advanced
        (NAdam's momentum product; in place where arrays are mutable). Default: none."""
        return {}, scalars

    @property
    def options(self) -> dict[str, Any]:
        """The options that differ from their defaults (see the class's parameters)."""
        return {k: getattr(self, k) for k, v in OPTIONS.items() if getattr(self, k) != v}

    @property
    def hyperparameters(self) -> dict[str, float]:
        """The rule's hyper-parameters (the constructor's arguments but the options) and
        their values (Python floats)."""
        return {name: getattr(self, name) for name in parameter_names(type(self))}

    def __repr__(self) -> str:
        args = {**self.hyperparameters, **self.options}
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in args.items())})"

    def __str__(self) -> str:
        return describe(self.name, self.hyperparameters, self.options)

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and repr(self) == repr(other)

    def __hash__(self) -> int:
        return hash((type(self), repr(self)))


def _constructor(cls: type) -> Callable[..., None]:
    """The ``__init__`` of a class that declares its hyper-parameters: one keyword argument
    each (with its default) and ``**options``, which go to the first hand-written
    ``__init__`` above it; each value checked and stored under its name."""
    declared = cls.declared
    base = next(
        k.__init__ for k in cls.__mro__[1:] if "__init__" in vars(k) and not _made(k.__init__)
    )
    kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
    signature = inspect.Signature(
        [
            inspect.Parameter("self", kind),
            *(inspect.Parameter(k, kind, default=h.default) for k, h in declared.items()),
            inspect.Parameter("options", inspect.Parameter.VAR_KEYWORD),
        ]
    )

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        given = signature.bind(self, *args, **kwargs).arguments  # a TypeError as Python's
        base(self, **given.pop("options", {}))
        for k, h in declared.items():
            value = h.validate(k, given.get(k, h.default))
            setattr(self, k, h.derive(self) if value is None and h.derive else value)

    __init__.__signature__ = signature  # type: ignore[attr-defined]
    __init__.__qualname__ = f"{cls.__qualname__}.__init__"
    __init__.__module__ = cls.__module__
    __init__.__doc__ = f"A {cls.__qualname__} (see the class's parameters)."
    __init__.declared = True  # type: ignore[attr-defined]
    return __init__


def _made(init: Any) -> bool:
    return getattr(init, "declared", False) is True


def _parameters_doc(declared: Mapping[str, Hyperparameter]) -> str:
    """The numpydoc section "Parameters" of the declarations (a class's docstring ends so)."""
    lines = ["    Parameters", "    ----------"]
    for k, h in declared.items():
        lines += [f"    {k}", f"        {h.doc[:1].upper()}{h.doc[1:]}; default {h.default!r}."]
    lines += ["    **options", "        The options every optimizer takes (see ``Optimizer``)."]
    return "\n".join(lines) + "\n"


def describe(
    name: str, hyperparameters: Mapping[str, float], options: Mapping[str, Any] | None = None
) -> str:
    """How tables and logs name a setting: ``"adam (lr=0.01, beta1=0.9, ...)"``, with the
    options that are not their defaults last (``schedule=cosine(total_steps=100)``)."""
    parts = [  # a switch as True/False; None where a default is derived (Prodigy's beta3)
        f"{k}={v}" if isinstance(v, bool) or v is None else f"{k}={v:g}"
        for k, v in hyperparameters.items()
    ]
    parts += [f"{k}={v}" for k, v in (options or {}).items()]
    return f"{name} ({', '.join(parts)})"


def parameter_names(cls: type) -> list[str]:
    """The names of ``cls``'s hyper-parameters, in order: its constructor's named
    arguments, without ``self``, ``**options`` and the :data:`OPTIONS`."""
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return [
        name
        for name, p in list(inspect.signature(cls.__init__).parameters.items())[1:]
        if p.kind in kinds and name not in OPTIONS
    ]


# -- checks: one sentence naming the parameter -----------------------------------------


def number(name: str, value: Any) -> float:
    """``value`` as a finite Python float."""
    if isinstance(value, bool):
        raise ConfigError(f"{name} must be a number, not {value!r}")
    try:
        value = float(value)
    except OverflowError:  # an int (or fraction) beyond any float: 10**400
        raise ConfigError(f"{name} must be finite, not {_shown(value)}") from None
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a number, not {_shown(value)}") from None
    if not math.isfinite(value):
        raise ConfigError(f"{name} must be finite, not {value}")
    return value


def rate(name: str, value: Any) -> float:
    """A step size: ``>= 0``."""
    value = number(name, value)
    if value < 0:
        raise ConfigError(f"{name} must be >= 0, not {value}")
    return value


def fraction(name: str, value: Any) -> float:
    """A decay or momentum: in ``[0, 1)``."""
    value = number(name, value)
    if not 0.0 <= value < 1.0:
        raise ConfigError(f"{name} must be in [0, 1), not {value}")
    return value


def open_fraction(name: str, value: Any) -> float:
    """A momentum that is divided by: in ``(0, 1)``."""
    value = number(name, value)
    if not 0.0 < value < 1.0:
        raise ConfigError(f"{name} must be in (0, 1), not {value}")
    return value


def positive(name: str, value: Any) -> float:
    """A size that must be ``> 0``."""
    value = number(name, value)
    if value <= 0:
        raise ConfigError(f"{name} must be > 0, not {value}")
    return value


def epsilon(name: str, value: Any) -> float:
    """A guard against division by zero: ``> 0``."""
    return positive(name, value)


def at_least(low: float) -> Callable[[str, Any], float]:
    """A check: a number ``>= low``."""

    def check(name: str, value: Any) -> float:
        value = number(name, value)
        if value < low:
            raise ConfigError(f"{name} must be >= {low:g}, not {value}")
        return value

    return check


def at_most(high: float) -> Callable[[str, Any], float]:
    """A check: a number ``<= high``."""

    def check(name: str, value: Any) -> float:
        value = number(name, value)
        if value > high:
            raise ConfigError(f"{name} must be <= {high:g}, not {value}")
        return value

    return check


def flag(name: str, value: Any) -> bool:
    """A switch: True or False, or 1 or 0 (as numbers from a member stack give it)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    raise ConfigError(f"{name} must be True or False (or 1 or 0), not {_shown(value)}")


flag.type = bool  # type: ignore[attr-defined]


def integer(low: int, high: int) -> Callable[[str, Any], int]:
    """A check: an integer in ``[low, high)`` (an integral float such as 5.0 too)."""

    def check(name: str, value: Any) -> int:
        refused = ConfigError(f"{name} must be an integer in [{low}, {high}), not {_shown(value)}")
        try:
            steps = number(name, value)
        except ConfigError:
            raise refused from None
        if steps != int(steps) or not low <= steps < high:
            raise refused
        return int(steps)

    check.type = int  # type: ignore[attr-defined]
    return check


def _shown(value: Any) -> str:
    """``repr(value)``, or its size where that is too long for one sentence."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**20:
        return f"an integer of about {int(value.bit_length() * math.log10(2)) + 1} digits"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
