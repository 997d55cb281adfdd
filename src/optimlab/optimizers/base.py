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

import dataclasses
import inspect
import operator
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, NamedTuple

import array_api_compat

from ..backend import implementations
from ..errors import ConfigError
from .hyperparameters import (
    OPTIONS,
    Declared,
    Hyperparameter,
    describe,
    parameter_names,
    epsilon,
    flag,
    fraction,
    integer,
    number,
    positive,
    rate,
)
from . import subnormals

__all__ = [
    "OPTIONS",
    "Hyperparameter",
    "describe",
    "parameter_names",
    "Optimizer",
    "Part",
    "State",
    "epsilon",
    "flag",
    "fraction",
    "integer",
    "matrices",
    "member_hyperparameters",
    "number",
    "positive",
    "rate",
    "the_rest",
]


class State(NamedTuple):
    """Where an optimizer stands: its step count, accumulators and hyper-parameters."""

    #: Steps taken: a Python int, or a device scalar inside a captured CUDA graph.
    count: Any
    #: Accumulator name -> one array per parameter array.
    slots: dict[str, list[Any]]
    #: Hyper-parameter name -> a Python float (constant) or a device array (varying).
    hyperparameters: dict[str, Any]
    #: Running values of the whole step (not per coordinate; e.g. Prodigy's step-size
    #: estimate), by name: arrays of shape ``(K, 1)`` in a member stack, ``()`` else.
    scalars: dict[str, Any] = {}  # noqa: RUF012 (replaced, never mutated)
    #: The arrays' first axis indexes independent members (a member stack): norms and
    #: sums are taken per member.
    members: bool = False

    def __getattr__(self, name: str) -> list[Any]:
        # state.velocity reads a slot by its name
        slots = tuple.__getitem__(self, 1)
        if name in slots:
            return slots[name]
        raise AttributeError(f"the state has no slot {name!r}; its slots are {list(slots)}")


@dataclasses.dataclass(frozen=True)
class Part:
    """One of the rules an optimizer composes, each for its kind of array (Muon: its
    orthogonalized momentum for the matrices, AdamW for the rest).

    Parameters
    ----------
    takes
        ``shape -> bool``: whether the part updates an array of this shape (without the
        member axes); an array goes to the first part of :attr:`Optimizer.parts` that
        takes it.
    update
        The part's rule for one array, as :meth:`Optimizer.update` with ``lead=``:
        ``(xp, w, g, *accumulators, t, lead, **hyperparameters) -> (w, accumulators)``,
        its accumulators those named by ``slots``, in their order. It receives every
        hyper-parameter of the optimizer by name (``**_`` takes the other parts').
    slots
        The accumulators the part keeps: names among the optimizer's :attr:`~Optimizer.slots`.
        Its arrays hold a placeholder in each of the others, one zero per member (shape
        ``(K, 1)``, or ``(1,)`` alone), left as it is: a state holds every slot for every
        array (checkpoints, flushes and captured graphs rely on it).
    """

    takes: Callable[[tuple[int, ...]], bool]
    update: Callable[..., Any]
    slots: tuple[str, ...] = ()


def matrices(shape: tuple[int, ...]) -> bool:
    """Whether an array of ``shape`` (without the member axes) is a matrix: two axes."""
    return len(shape) == 2


def the_rest(shape: tuple[int, ...]) -> bool:
    """Every shape: as the last of :attr:`Optimizer.parts`, the arrays no other part takes."""
    return True


class Optimizer(Declared):
    """Base class of the update rules: validated hyper-parameters, ``init`` and ``step``.

    A subclass sets :attr:`name` and :attr:`slots`, declares each hyper-parameter once
    (:class:`~optimlab.optimizers.hyperparameters.Hyperparameter`: default, check, doc
    line, search range; its constructor is made from them) and writes :meth:`update`,
    the rule for one array. See :mod:`~optimlab.optimizers.hyperparameters`.

    Parameters
    ----------
    schedule
        A learning-rate schedule (:mod:`optimlab.schedules`): update ``t + 1`` uses
        ``lr * schedule(t)``, computed on the device. None (default): constant.
    clip_norm
        Clip the gradient to this global norm before the step (the norm of all
        parameter arrays together, per member), as ``torch.nn.utils.clip_grad_norm_``:
        ``g *= min(1, clip_norm / (norm + 1e-6))``. None (default): no clipping.
    decay_biases
        False: the bias vectors get no weight decay (``weight_decay`` applies to the
        weight matrices only). Default True.
    flush_subnormals
        True (default): on a CPU, every :data:`~optimlab.optimizers.subnormals.FLUSH_EVERY`
        steps the accumulator entries smaller in magnitude than the dtype's smallest normal
        number are set to 0, so that none stays in the subnormal range, where CPUs compute
        slowly (see :mod:`optimlab.optimizers.subnormals`). False: strict IEEE arithmetic.
    """

    schedule: Any = None
    clip_norm: float | None = None
    decay_biases: bool = True
    flush_subnormals: bool = True

    #: The registry name (``optimlab.optimizers.get(name)``).
    name: ClassVar[str]
    #: The accumulators' names, in the order :meth:`update` takes them.
    slots: ClassVar[tuple[str, ...]] = ()
    #: Starting values of accumulators that do not start at zero.
    initial: ClassVar[Mapping[str, float]] = {}
    #: The rule treats every coordinate alone, so a training loop may give it all
    #: parameters as one flat vector; a rule that needs the layers' shapes sets this to
    #: False and receives the weight matrices and bias vectors, and ``lead=``: the
    #: number of leading member axes of its arrays (0, or 1 in a member stack).
    elementwise: ClassVar[bool] = True
    #: Running values of the whole step and their starting values (see :attr:`State.scalars`).
    scalars: ClassVar[Mapping[str, float]] = {}
    #: The rates a schedule multiplies.
    scheduled: ClassVar[tuple[str, ...]] = ("lr",)
    #: The rules this one composes, each for its kind of array (see :class:`Part`: a rule
    #: with parts is not elementwise, and writes no :meth:`update`); empty: :meth:`update`.
    parts: ClassVar[tuple[Part, ...]] = ()
    def __init__(
        self,
        *,
        schedule: Any = None,
        clip_norm: float | None = None,
        decay_biases: bool = True,
        flush_subnormals: bool = True,
    ) -> None:
        self.schedule = _schedule(type(self), schedule)
        self.clip_norm = None if clip_norm is None else positive("clip_norm", clip_norm)
        for name, value in (("decay_biases", decay_biases), ("flush_subnormals", flush_subnormals)):
            if not isinstance(value, bool):
                raise ConfigError(f"{name} must be True or False, not {value!r}")
        self.decay_biases = decay_biases
        self.flush_subnormals = flush_subnormals

    def init(
        self,
        params: Sequence[Any],
        *,
        hyperparameters: Mapping[str, Any] | None = None,
        members: bool = False,
        biases: Any = None,
    ) -> State:
        """The initial state: count 0, zero accumulators shaped like ``params``.

        ``hyperparameters`` replaces the optimizer's own values in the state (for
        member stacks, see :func:`member_hyperparameters`); by default they are
        this optimizer's, as Python floats. ``members``: the arrays' first axis
        indexes members (a member stack). ``biases`` says which parameters are biases
        when ``decay_biases`` is False: one bool per array, or, for one flat vector,
        an array of its shape (without the member axis) that is 1 on the bias
        coordinates and 0 elsewhere; by default the arrays with one axis (besides
        the member axis) are the biases.
        """
        if isinstance(params, (str, bytes)) or not isinstance(params, Sequence):
            raise ConfigError(
                f"init() takes a list of parameter arrays, not {type(params).__name__}"
            )
        hyper = _initial_hyperparameters(self, hyperparameters, params, members, biases)
        lead = int(members)
        slots = {name: [self.init_slot(name, p, lead) for p in params] for name in self.slots}
        scalars = {name: _scalar(params[0], v, members) for name, v in self.scalars.items()}
        return State(0, slots, hyper, scalars, bool(members))

    def init_slot(self, name: str, p: Any, lead: int) -> Any:
        """The accumulator ``name`` of ``p`` (with ``lead`` member axes): like ``p``, filled with
        ``initial.get(name, 0)``; or of another shape (factored moments, :class:`Part`)."""
        if self.parts and name not in _part(self, p, lead).slots:
            return _placeholder(p, lead)
        return _full_like(p, self.initial.get(name, 0.0))

    def eval_params(self, params: Sequence[Any], state: State) -> list[Any]:
        """Where to evaluate the network: ``params``, or another point (Schedule-Free's)."""
        return list(params)

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
            _check(self, params, grads, state)
            xp = array_api_compat.array_namespace(*params, *grads)
        slots, names, hyper, scalars = state.slots, self.slots, state.hyperparameters, state.scalars
        if not inplace:
            params = [xp.asarray(p, copy=True) for p in params]
            slots = {k: [xp.asarray(a, copy=True) for a in v] for k, v in slots.items()}
            scalars = {k: xp.asarray(a, copy=True) for k, a in scalars.items()}
        if self.schedule is not None:  # on the device when the count is (a CUDA graph's)
            factor = self.schedule(state.count, dtype=params[0].dtype)
            hyper = {**hyper, **{k: hyper[k] * factor for k in self.scheduled}}
        if self.clip_norm is not None:
            grads = clip_by_norm(xp, grads, self.clip_norm, state.members)
        t = state.count + 1
        extra, scalars = self.per_step(t, scalars, **hyper)  # the step's own scalars
        hyper = {**hyper, **extra} if extra else hyper
        if len(params) == 1 and self.elementwise and type(self).apply is Optimizer.apply:
            # the flat vector of an elementwise rule: the hot path
            update = implementations.rule(type(self), xp, params[0].shape[-1])
            current = [slots[k][0] for k in names]
            w, accumulators = update(xp, params[0], grads[0], *current, t=t, **hyper)
            if not all(map(operator.is_, accumulators, current)):  # not updated in place
                slots = {k: [a] for k, a in zip(names, accumulators)}
            params = [w]
        else:
            params, slots, scalars = self.apply(
                xp, params, grads, slots, scalars, t=t, members=state.members, **hyper
            )
        # a Python int: a captured CUDA graph's count (a device scalar) never flushes
        if self.flush_subnormals and type(t) is int and t % subnormals.FLUSH_EVERY == 0:
            slots = subnormals.flush(xp, slots)
        return params, state._replace(count=t, slots=slots, scalars=scalars)

    def apply(
        self,
        xp: Any,
        params: list[Any],
        grads: Sequence[Any],
        slots: dict[str, list[Any]],
        scalars: dict[str, Any],
        *,
        t: Any,
        members: bool,
        **hyperparameters: Any,
    ) -> tuple[list[Any], dict[str, list[Any]], dict[str, Any]]:
        """The update of every parameter array: :meth:`update` on each (or the library's
        native implementation of it, or its :class:`Part`'s), with the hyper-parameters
        fitted to the array.

        A rule that couples the arrays (sums over all parameters, running scalars)
        overrides this, returning the new parameters, slots and scalars.
        """
        lead = {} if self.elementwise else {"lead": int(members)}
        # a slot an array's part does not keep holds its placeholder, as it was
        new_params, new_slots = [], {k: list(v) for k, v in slots.items()}
        for i, (w, g) in enumerate(zip(params, grads)):
            update, names = _rule(self, xp, w, members)
            hyper = for_array(hyperparameters, i, w, members)
            w, accumulators = update(xp, w, g, *[slots[k][i] for k in names], t=t, **lead, **hyper)
            new_params.append(w)
            for k, a in zip(names, accumulators):
                new_slots[k][i] = a
        return new_params, new_slots, scalars

    @staticmethod
    def update(xp: Any, w: Any, g: Any, *accumulators: Any, t: Any, **hyperparameters: Any):
        """The rule for one array: ``(w, g, accumulators..., t, hyper) -> (w, accumulators)``.

        Written with in-place operators (``w -= ...``), which overwrite ``w`` and the
        accumulators on libraries with mutable arrays and rebind them on the others.
        ``t`` is the step count from 1; the hyper-parameters arrive by name.
        """
        raise NotImplementedError

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


def for_array(hyperparameters: Mapping[str, Any], i: int, w: Any, members: bool) -> dict[str, Any]:
    """The hyper-parameters (or scalars) as array ``i`` of a list, ``w``, uses them: a list
    holds one value per array; a member's ``(K, 1)`` value gets an axis per extra axis
    of ``w`` (``(K, 1, 1)`` for a stack of matrices)."""
    out = {}
    for k, v in hyperparameters.items():
        if isinstance(v, list):
            v = v[i]
        ndim = getattr(v, "ndim", 0)
        # a member's value (K, 1), not a value per coordinate (a decay mask over biases)
        if members and 1 < ndim < w.ndim and all(n == 1 for n in v.shape[1:]):
            v = array_api_compat.array_namespace(v).reshape(v, (v.shape[0],) + (1,) * (w.ndim - 1))
        out[k] = v
    return out


def member_sum(xp: Any, arrays: Sequence[Any], members: bool) -> Any:
    """The sum of every coordinate of ``arrays`` together, per member: shape ``(K, 1)`` in
    a member stack (the first axis of each array), ``()`` otherwise."""
    total = None
    for a in arrays:
        s = xp.sum(a, axis=tuple(range(1 if members else 0, a.ndim)))
        total = s if total is None else total + s
    return xp.reshape(total, (-1, 1)) if members else total


def clip_by_norm(xp: Any, grads: Sequence[Any], max_norm: float, members: bool) -> list[Any]:
    """``g * min(1, max_norm / (norm + 1e-6))`` for every ``g``, where ``norm`` is the
    Euclidean norm of all of ``grads`` together (per member), as
    ``torch.nn.utils.clip_grad_norm_``; new arrays, computed on the device."""
    norm = xp.sqrt(member_sum(xp, [g * g for g in grads], members))
    factor = xp.minimum(max_norm / (norm + 1e-6), xp.ones_like(norm))
    return [g * for_array({"f": factor}, 0, g, members)["f"] for g in grads]


def assign(target: Any, value: Any) -> Any:
    """``target[...] = value`` where arrays are mutable (so a captured CUDA graph sees the
    new values in place); ``value`` itself on libraries whose arrays are not."""
    try:
        target[...] = value
    except (TypeError, ValueError, NotImplementedError):
        return value
    return target


def store(xp: Any, target: Any, value: Any) -> Any:
    """``value`` (a Python number or an array) written into the running scalar ``target``,
    in place where the library allows it; the array with ``target``'s dtype and shape."""
    if not hasattr(value, "shape"):
        value = xp.full_like(target, value)
    else:
        if value.dtype != target.dtype:
            value = xp.astype(value, target.dtype)
        if tuple(value.shape) != tuple(target.shape):
            value = xp.broadcast_to(value, target.shape)
    return assign(target, value)


def l2(w: Any, g: Any, weight_decay: Any) -> Any:
    """``g + weight_decay * w``, weight decay as an L2 term in the gradient (a new array:
    the caller's gradient is left alone)."""
    if isinstance(weight_decay, float) and weight_decay == 0.0:
        return g
    return g + weight_decay * w


def decoupled_decay(w: Any, lr: Any, weight_decay: Any) -> Any:
    """Decoupled weight decay, ``w *= 1 - lr * weight_decay``, in place; returns ``w``."""
    if not (isinstance(weight_decay, float) and weight_decay == 0.0):
        w *= 1.0 - lr * weight_decay
    return w


def _initial_hyperparameters(
    opt: Optimizer, given: Any, params: Sequence[Any], members: bool, biases: Any
) -> dict[str, Any]:
    hyper = dict(opt.hyperparameters if given is None else given)
    if set(hyper) != set(opt.hyperparameters):
        raise ConfigError(
            f"{opt.name} needs the hyper-parameters {', '.join(opt.hyperparameters)}, "
            f"not {', '.join(hyper) or 'none'}"
        )
    if not opt.decay_biases and "weight_decay" in hyper:
        hyper["weight_decay"] = _without_biases(hyper["weight_decay"], params, members, biases)
    if len(params) == 1:  # one flat vector: no per-array values to look up per step
        hyper = {k: v[0] if isinstance(v, list) else v for k, v in hyper.items()}
    return hyper


def _without_biases(weight_decay: Any, params: Sequence[Any], members: bool, biases: Any) -> Any:
    # weight_decay, zero on the biases: a value per array, or a mask for a flat vector
    if biases is None:
        biases = [p.ndim - int(members) == 1 for p in params]
        if len(params) == 1:
            raise ConfigError(
                "decay_biases=False on one flat vector needs init(..., biases=) to say "
                "which coordinates are biases"
            )
    if isinstance(biases, Sequence):
        if len(biases) != len(params):
            raise ConfigError(f"biases names {len(biases)} arrays for {len(params)} parameters")
        return [0.0 * weight_decay if b else weight_decay for b in biases]
    xp = array_api_compat.array_namespace(params[0])
    device = array_api_compat.device(params[0])
    keep = 1.0 - xp.asarray(biases, dtype=params[0].dtype, device=device)
    return [weight_decay * keep]


def _check(self: Optimizer, params: Sequence[Any], grads: Sequence[Any], state: State) -> None:
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


def _rule(opt: Optimizer, xp: Any, w: Any, members: bool) -> tuple[Any, tuple[str, ...]]:
    """The update of array ``w`` and the slots it takes: its part's (see :attr:`Optimizer.parts`),
    or the rule's own :meth:`~Optimizer.update` (or the library's native implementation)."""
    if opt.parts:
        part = _part(opt, w, int(members))
        return part.update, part.slots
    return implementations.rule(type(opt), xp, w.shape[-1] if w.ndim else 0), opt.slots


def _part(opt: Optimizer, p: Any, lead: int) -> Part:
    """The first of ``opt``'s parts that takes ``p`` (with ``lead`` member axes)."""
    shape = tuple(p.shape[lead:])
    for part in opt.parts:
        if part.takes(shape):
            return part
    raise ConfigError(f"{opt.name} has no rule for an array of shape {shape}")


def _schedule(cls: type, schedule: Any) -> Any:
    # a Schedule, or None for a constant rate (which the step then skips)
    if schedule is None:
        return None
    from .. import schedules  # only when a schedule is given

    if not isinstance(schedule, schedules.Schedule):
        raise ConfigError(f"schedule must be an optimlab.schedules.Schedule, not {schedule!r}")
    if "lr" not in parameter_names(cls):
        raise ConfigError(f"{cls.name} has no learning rate to schedule")
    return None if schedule.constant else schedule


def _scalar(like: Any, value: float, members: bool) -> Any:
    xp = array_api_compat.array_namespace(like)
    shape = (like.shape[0], 1) if members else ()
    return xp.full(shape, value, dtype=like.dtype, device=array_api_compat.device(like))


def _placeholder(p: Any, lead: int) -> Any:
    # one zero per member (shape (K, 1), or (1,) alone): a slot p's part does not keep
    xp = array_api_compat.array_namespace(p)
    shape = (*p.shape[:lead], 1)
    return xp.zeros(shape, dtype=p.dtype, device=array_api_compat.device(p))


def _full_like(p: Any, value: float) -> Any:
    xp = array_api_compat.array_namespace(p)
    return xp.zeros_like(p) if value == 0.0 else xp.full_like(p, value)
