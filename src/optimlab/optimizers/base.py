"""The optimizer protocol: ``init`` and ``step`` over a state that carries everything.

Every optimizer follows one small protocol (the shape of optax's)::

    opt = Adam(lr=0.01, beta1=0.9, beta2=0.999, eps=1e-10)
    state = opt.init(params)                        # params: a list of arrays
    params, state = opt.step(params, grads, state)  # new parameters and state

The training loop, its CUDA-graph capture, member stacks and the tests all call
``step``; nothing else runs a rule. The :class:`State` holds

* ``count`` — steps taken: a Python int (reading it never synchronizes a device),
  or a device scalar inside a captured CUDA graph;
* ``slots`` — the accumulators by name, one array per parameter array, each on
  the parameters' device with their dtype;
* ``hyperparameters`` — what the rule reads, **by name**: a constant is a Python
  float, a value that varies is an array on the device — per member (shape
  ``(K, 1)``, see :func:`member_hyperparameters`) or, later, per step — so one
  graph capture and one member stack serve every optimizer (optax's
  ``inject_hyperparams`` is the model).

A rule, :meth:`Optimizer.update`, is written once against the Array API standard
and reads like its formula. Its native alternatives (CuPy's fused kernels) are
chosen by :func:`optimlab.backend.implementations.rule`, and receive the same
hyper-parameters by name.
"""

from __future__ import annotations

import inspect
import math
import operator
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, NamedTuple

import array_api_compat

from ..backend import implementations
from ..errors import ConfigError

__all__ = ["Optimizer", "State", "member_hyperparameters"]


class State(NamedTuple):
    """Where an optimizer stands: its step count, accumulators and hyper-parameters."""

    #: Steps taken: a Python int, or a device scalar inside a captured CUDA graph.
    count: Any
    #: Accumulator name -> one array per parameter array.
    slots: dict[str, list[Any]]
    #: Hyper-parameter name -> a Python float (constant) or a device array (varying).
    hyperparameters: dict[str, Any]

    def __getattr__(self, name: str) -> list[Any]:
        # state.velocity reads a slot by its name
        slots = tuple.__getitem__(self, 1)
        if name in slots:
            return slots[name]
        raise AttributeError(f"the state has no slot {name!r}; its slots are {list(slots)}")


class Optimizer:
    """Base class of the update rules: validated hyper-parameters, ``init`` and ``step``.

    A subclass sets :attr:`name` and :attr:`slots`, validates its hyper-parameters in
    ``__init__`` (one keyword argument each, stored under its own name) and writes
    :meth:`update`, the rule for one array.
    """

    #: The registry name (``optimlab.optimizers.get(name)``).
    name: ClassVar[str]
    #: The accumulators' names, in the order :meth:`update` takes them.
    slots: ClassVar[tuple[str, ...]] = ()
    #: Starting values of accumulators that do not start at zero (e.g. a product).
    initial: ClassVar[Mapping[str, float]] = {}
    #: The rule treats every coordinate alone, so a training loop may give it all
    #: parameters as one flat vector; a rule that needs the layers' shapes (a matrix
    #: rule) sets this to False and receives the weight matrices and bias vectors.
    elementwise: ClassVar[bool] = True

    def init(
        self, params: Sequence[Any], *, hyperparameters: Mapping[str, Any] | None = None
    ) -> State:
        """The initial state: count 0, zero accumulators shaped like ``params``.

        ``hyperparameters`` replaces the optimizer's own values in the state (for
        member stacks, see :func:`member_hyperparameters`); by default they are
        this optimizer's, as Python floats.
        """
        if isinstance(params, (str, bytes)) or not isinstance(params, Sequence):
            raise ConfigError(
                f"init() takes a list of parameter arrays, not {type(params).__name__}"
            )
        hyper = dict(self.hyperparameters if hyperparameters is None else hyperparameters)
        if set(hyper) != set(self.hyperparameters):
            raise ConfigError(
                f"{self.name} needs the hyper-parameters {', '.join(self.hyperparameters)}, "
                f"not {', '.join(hyper) or 'none'}"
            )
        slots = {
            name: [_full_like(p, self.initial.get(name, 0.0)) for p in params]
            for name in self.slots
        }
        return State(0, slots, hyper)

    def step(
        self,
        params: Sequence[Any],
        grads: Sequence[Any],
        state: State,
        *,
        xp: Any = None,
        inplace: bool = False,
    ) -> tuple[list[Any], State]:
        """One update of every parameter array; returns the new parameters and state.

        ``t = state.count + 1``, then :meth:`update` (or the library's native
        implementation of the same rule) runs on each parameter array with its
        gradient, its accumulators and ``state.hyperparameters``. The arguments are
        left as they were, unless ``inplace=True``: then the parameter and state
        arrays are overwritten where the library allows it (a training loop that
        owns its arrays does this), and the returned arrays are the ones to use
        either way. ``xp`` is the arrays' namespace: a training loop passes it,
        which also skips the checks of the arguments (a few microseconds of a
        batch-10 step).
        """
        if xp is None:  # a caller's step: check what a training loop guarantees
            self._check(params, grads, state)
            xp = array_api_compat.array_namespace(*params, *grads)
        slots, names, hyper = state.slots, self.slots, state.hyperparameters
        if not inplace:
            params = [xp.asarray(p, copy=True) for p in params]
            slots = {k: [xp.asarray(a, copy=True) for a in v] for k, v in slots.items()}
        t = state.count + 1
        update = implementations.rule(type(self), xp)
        if len(params) == 1:  # the flat vector of an elementwise rule: the hot path
            current = [slots[k][0] for k in names]
            w, accumulators = update(xp, params[0], grads[0], *current, t=t, **hyper)
            if not all(map(operator.is_, accumulators, current)):  # not updated in place
                slots = {k: [a] for k, a in zip(names, accumulators)}
            return [w], State(t, slots, hyper)
        new_params, new_slots = [], {k: [] for k in names}
        for i, (w, g) in enumerate(zip(params, grads)):
            w, accumulators = update(xp, w, g, *[slots[k][i] for k in names], t=t, **hyper)
            new_params.append(w)
            for k, a in zip(names, accumulators):
                new_slots[k].append(a)
        return new_params, State(t, new_slots, hyper)

    def _check(self, params: Sequence[Any], grads: Sequence[Any], state: State) -> None:
        if not isinstance(state, State) or set(state.slots) != set(self.slots):
            raise ConfigError(f"step() needs a state made by {self.name}'s init()")
        for name, arrays in (("params", params), ("grads", grads)):
            if isinstance(arrays, (str, bytes)) or not isinstance(arrays, Sequence):
                raise ConfigError(f"step() takes {name} as a list of arrays")
        if not len(params) == len(grads) == len(next(iter(state.slots.values()), params)):
            raise ConfigError(
                f"{len(params)} parameter arrays and {len(grads)} gradients for a state of "
                f"{len(next(iter(state.slots.values()), params))}"
            )

    @staticmethod
    def update(xp: Any, w: Any, g: Any, *accumulators: Any, t: Any, **hyperparameters: Any):
        """The rule for one array: ``(w, g, accumulators..., t, hyper) -> (w, accumulators)``.

        Written with in-place operators (``w -= ...``), which overwrite ``w`` and the
        accumulators on libraries with mutable arrays and rebind them on the others.
        ``t`` is the step count from 1; the hyper-parameters arrive by name.
        """
        raise NotImplementedError

    @property
    def hyperparameters(self) -> dict[str, float]:
        """The constructor's arguments and their values (Python floats)."""
        return {name: getattr(self, name) for name in parameter_names(type(self))}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.hyperparameters.items())
        return f"{type(self).__name__}({args})"

    def __str__(self) -> str:
        return describe(self.name, self.hyperparameters)

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.hyperparameters == other.hyperparameters

    def __hash__(self) -> int:
        return hash((type(self), tuple(self.hyperparameters.items())))


def member_hyperparameters(optimizers: Sequence[Optimizer], like: Any) -> dict[str, Any]:
    """The hyper-parameters of K members of one kind, as one state's values.

    A value that all members share stays a Python float (so a stack computes what
    a single network computes, bit for bit); one that differs becomes an array of
    shape ``(K, 1)`` with ``like``'s namespace, device and dtype, so that the rule,
    applied to parameters of shape ``(K, size)``, uses member ``k``'s value on row
    ``k``. Pass the result to ``init(..., hyperparameters=)``.

    Raises
    ------
    ConfigError
        There are no optimizers, or they are not all of one kind.
    """
    kinds = {type(o) for o in optimizers}
    if len(kinds) != 1:
        names = ", ".join(sorted(k.name for k in kinds)) or "none"
        raise ConfigError(f"a member stack needs optimizers of one kind, not {names}")
    xp = array_api_compat.array_namespace(like)
    device = array_api_compat.device(like)
    hyper: dict[str, Any] = {}
    for name in optimizers[0].hyperparameters:
        values = [o.hyperparameters[name] for o in optimizers]
        if all(v == values[0] for v in values):
            hyper[name] = values[0]
        else:
            hyper[name] = xp.asarray([[v] for v in values], dtype=like.dtype, device=device)
    return hyper


def describe(name: str, hyperparameters: Mapping[str, float]) -> str:
    """How tables and logs name a setting: ``"adam (lr=0.01, beta1=0.9, ...)"``."""
    return f"{name} ({', '.join(f'{k}={v:g}' for k, v in hyperparameters.items())})"


def parameter_names(cls: type) -> list[str]:
    """The names of ``cls``'s constructor arguments: its hyper-parameters, in order."""
    return list(inspect.signature(cls.__init__).parameters)[1:]


# -- validation of hyper-parameters: one sentence naming the parameter -------------------


def number(name: str, value: Any) -> float:
    """``value`` as a finite Python float."""
    if isinstance(value, bool):
        raise ConfigError(f"{name} must be a number, not {value!r}")
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a number, not {value!r}") from None
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


def epsilon(value: Any, name: str = "eps") -> float:
    """A guard against division by zero: ``> 0``."""
    value = number(name, value)
    if value <= 0:
        raise ConfigError(f"{name} must be > 0, not {value}")
    return value


def assign(target: Any, value: Any) -> Any:
    """``target[...] = value`` where arrays are mutable (so a captured CUDA graph sees the
    new values in place); ``value`` itself on libraries whose arrays are not."""
    try:
        target[...] = value
    except (TypeError, ValueError, NotImplementedError):
        return value
    return target


def _full_like(p: Any, value: float) -> Any:
    xp = array_api_compat.array_namespace(p)
    return xp.zeros_like(p) if value == 0.0 else xp.full_like(p, value)
