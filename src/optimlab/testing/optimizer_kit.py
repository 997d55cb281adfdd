"""A conformance kit for optimizers: what every optimlab optimizer must do, in one call.

::

    from optimlab.testing import check_optimizer

    check_optimizer(MyOptimizer)                 # the class (its defaults) or an instance
    check_optimizer(MyOptimizer(lr=0.1), xp=array_api_strict, device=...)

:func:`check_optimizer` runs small problems (a flat vector for an elementwise rule, a
network's weight matrices and bias vectors for every rule) through the
:class:`~optimlab.optimizers.Optimizer` protocol and raises an :class:`AssertionError`
that names the check which failed and what it saw. The project runs it on each of its
own optimizers (``tests/test_conformance.py``); a package that registers optimizers
(``docs/plugins.md``) runs it on its own. It needs no test framework: NumPy always, and
array-api-strict for the check that ``step`` never reads an array back to the host
(skipped, and reported so, where that package is missing).

The checks, in order (:data:`CHECKS`):

``protocol``
    ``name``, ``slots``, ``initial``, ``scalars`` and ``elementwise`` are well formed;
    the hyper-parameters are Python numbers or bools with defaults, the constructor
    round-trips them (``==``, ``hash``, ``repr``, pickling), and unknown or impossible
    values raise :class:`~optimlab.ConfigError`.
``init``
    count 0, one accumulator per parameter array (shaped like it unless ``init_slot`` is
    the rule's own), running scalars of shape ``()``, all on the parameters' device with
    their dtype, none of them the parameters themselves; the parameters left alone.
``step``
    a copying ``step`` leaves its arguments alone and equals ``step(..., inplace=True)``
    bit for bit; the count advances, the hyper-parameters stay, every array keeps its
    dtype (float32 and float64) and device, the values stay finite and the parameters move.
``members``
    a member stack of two instances with different learning rates
    (:func:`~optimlab.optimizers.member_hyperparameters`, ``init(..., members=True)``)
    equals the two runs one by one (float64, to 1e-9), ``eval_params`` included.
``no_host_read``
    ``step`` on array-api-strict arrays (alone, in a member stack, and with a schedule
    and gradient clipping) never converts an array to a Python value or a host buffer.
``resume``
    N steps equal N/2 steps, the state's accumulators and scalars copied through NumPy
    and rebuilt on a fresh ``init``, then N/2 more, bit for bit.
``eval_params``
    returns new arrays shaped like the parameters, on their device with their dtype,
    leaving the parameters and the state alone (the parameters themselves unless the
    rule evaluates elsewhere).
``trainer``
    a :class:`~optimlab.Trainer` trains a tiny network with it (the flat vector for an
    elementwise rule, the layers' arrays otherwise): finite losses, the parameters move,
    :meth:`~optimlab.Trainer.checkpoint` and ``restore`` continue bit for bit, and two
    members with different learning rates equal the two networks trained alone.
"""

from __future__ import annotations

import contextlib
import importlib.util
import inspect
import math
import pickle
from collections.abc import Iterator, Sequence
from typing import Any

import array_api_compat
import numpy as np

from .. import optimizers
from ..backend import resolve, to_numpy
from ..errors import ConfigError
from ..optimizers import Optimizer, State, member_hyperparameters
from ..optimizers.base import OPTIONS, parameter_names

__all__ = ["CHECKS", "check_optimizer"]

#: The checks :func:`check_optimizer` runs, in order (see the module's documentation).
CHECKS = (
    "protocol",
    "init",
    "step",
    "members",
    "no_host_read",
    "resume",
    "eval_params",
    "trainer",
)

# A network's arrays: weight matrices (out, in) and bias vectors (out,), as the Trainer
# gives them to a rule that is not elementwise; and one flat vector for one that is.
_LAYERS = [(3, 4), (3,), (2, 3), (2,)]
_FLAT = [(17,)]
# Every way an array-api-strict array can reach the host or a Python value.
_EXITS = (
    "__float__",
    "__bool__",
    "__int__",
    "__index__",
    "__complex__",
    "__array__",
    "__dlpack__",
    "__iter__",
    "__repr__",
    "__str__",
)


def check_optimizer(
    optimizer: type[Optimizer] | Optimizer,
    *,
    xp: Any = None,
    device: Any = None,
    dtypes: Sequence[str] = ("float32", "float64"),
    steps: int = 4,
    seed: int = 0,
    skip: Sequence[str] = (),
) -> dict[str, str]:
    """Check that ``optimizer`` follows the optimizer protocol; see the module for the checks.

    Parameters
    ----------
    optimizer
        An :class:`~optimlab.optimizers.Optimizer` subclass (checked with its defaults)
        or an instance (checked with its hyper-parameters and options).
    xp, device
        The array namespace and its device to run on (default NumPy on the CPU). The
        ``no_host_read`` check runs on array-api-strict whatever they are.
    dtypes
        The floating dtypes of the ``init`` and ``step`` checks.
    steps
        Steps per run (even, at least 2: ``resume`` stops half-way).
    seed
        Seed of the random parameters, gradients and data.
    skip
        Names of checks not to run (from :data:`CHECKS`).

    Returns
    -------
    dict
        Check name -> ``"passed"``, or ``"skipped: <why>"``.

    Raises
    ------
    AssertionError
        A check failed: the message names the optimizer, the check and what differed.
    """
    if isinstance(optimizer, type):
        if not issubclass(optimizer, Optimizer):
            raise AssertionError(
                f"{optimizer.__qualname__} is not a subclass of optimlab.optimizers.Optimizer"
            )
        cls = optimizer
        opt = None
    elif isinstance(optimizer, Optimizer):
        cls, opt = type(optimizer), optimizer
    else:
        raise AssertionError(
            f"check_optimizer() takes an Optimizer subclass or instance, not "
            f"{type(optimizer).__name__}"
        )
    unknown = set(skip) - set(CHECKS)
    if unknown:
        raise ValueError(f"unknown checks {sorted(unknown)}: choose from {', '.join(CHECKS)}")
    if steps < 2 or steps % 2:
        raise ValueError(f"steps must be even and at least 2, not {steps}")
    backend = resolve("cpu") if xp is None else resolve(device, xp)
    label = f"{cls.__qualname__} ({getattr(cls, 'name', '?')!r})"
    report: dict[str, str] = {}
    kit = _Kit(cls, backend, tuple(dtypes), steps, seed)
    with _named(label, "protocol"):
        if opt is None:  # the defaults must make one
            _require_defaults(cls)
            opt = cls()
    for check in CHECKS:
        if check in skip:
            report[check] = "skipped: asked to"
            continue
        with _named(label, check):
            result = _CHECKS[check](kit, opt)
        report[check] = result or "passed"
    return report


@contextlib.contextmanager
def _named(label: str, check: str) -> Iterator[None]:
    """Failures inside as one AssertionError naming the optimizer and the check."""
    try:
        yield
    except AssertionError as error:
        raise AssertionError(f"{label} fails the {check!r} check: {error}") from error
    except Exception as error:
        raise AssertionError(
            f"{label} fails the {check!r} check: {type(error).__name__}: {error}"
        ) from error


def _expect(condition: Any, message: str) -> None:
    if not condition:
        raise AssertionError(message)


def _host(arrays: Sequence[Any]) -> list[np.ndarray]:
    return [np.array(to_numpy(a), copy=True) for a in arrays]


def _state_arrays(state: State) -> list[tuple[str, Any]]:
    """The state's arrays with their names: slots, then running scalars."""
    named = [
        (f"slot {k}[{i}]", a) for k in sorted(state.slots) for i, a in enumerate(state.slots[k])
    ]
    return named + [(f"scalar {k}", a) for k, a in sorted(state.scalars.items())]


def _equal(what: str, actual: Sequence[Any], desired: Sequence[Any]) -> None:
    """Bit for bit (NaNs equal), arrays of any library against arrays of any library."""
    _expect(len(actual) == len(desired), f"{what}: {len(actual)} arrays, expected {len(desired)}")
    for i, (a, d) in enumerate(zip(actual, desired)):
        a, d = np.asarray(to_numpy(a)), np.asarray(to_numpy(d))
        _expect(a.shape == d.shape, f"{what} [{i}]: shape {a.shape}, expected {d.shape}")
        if not np.array_equal(a, d, equal_nan=True):
            worst = np.max(np.abs(a.astype(np.float64) - d.astype(np.float64)))
            raise AssertionError(f"{what} [{i}] differ (by up to {worst:.3g})")


def _close(
    what: str,
    actual: Any,
    desired: Any,
    rtol: float = 1e-9,
    atol: float = 1e-12,
    normwise: bool = False,
) -> None:
    a = np.asarray(to_numpy(actual), dtype=np.float64)
    d = np.asarray(to_numpy(desired), dtype=np.float64)
    _expect(a.shape == d.shape, f"{what}: shape {a.shape}, expected {d.shape}")
    if normwise:  # the whole array's error against its norm
        error = np.linalg.norm(a - d)
        if not error <= rtol * np.linalg.norm(d) + atol:
            raise AssertionError(f"{what} differ by {error:.3g} in norm (rtol {rtol}, atol {atol})")
        return
    if not np.allclose(a, d, rtol=rtol, atol=atol, equal_nan=True):
        worst = np.max(np.abs(a - d))
        raise AssertionError(f"{what} differ by up to {worst:.3g} (rtol {rtol}, atol {atol})")


def _on(backend: Any, what: str, array: Any, dtype: Any) -> None:
    """``array`` belongs to ``backend``'s library and device and has ``dtype``."""
    xp = backend.xp
    same = array_api_compat.array_namespace(array) is array_api_compat.array_namespace(
        xp.asarray(0.0, device=backend.device)
    )
    _expect(
        same,
        f"{what} is a {type(array).__module__}.{type(array).__name__}, not an array "
        f"of {backend.name}",
    )
    where = array_api_compat.device(array)
    _expect(where == backend.device, f"{what} is on {where}, not on {backend.device}")
    _expect(array.dtype == dtype, f"{what} has dtype {_dtype(array.dtype)}, not {_dtype(dtype)}")


def _dtype(dtype: Any) -> str:
    return dtype.__name__ if isinstance(dtype, type) else str(dtype)


def _number(value: Any) -> bool:
    return type(value) in (bool, int, float)


class _Kit:
    """The checks, over small random problems."""

    def __init__(
        self, cls: type[Optimizer], backend: Any, dtypes: tuple[str, ...], steps: int, seed: int
    ) -> None:
        self.cls, self.backend, self.dtypes, self.steps = cls, backend, dtypes, steps
        self.rng = np.random.default_rng(seed)
        self.seed = seed
        self.shapes = [_FLAT, _LAYERS] if cls.elementwise else [_LAYERS]

    # -- problems ----------------------------------------------------------------------

    def problem(self, shapes: list[tuple[int, ...]], lead: tuple[int, ...] = ()):
        """Host parameters and ``steps`` gradients (float64; cast where they are used)."""
        params = [0.5 * self.rng.standard_normal((*lead, *s)) for s in shapes]
        grads = [[self.rng.standard_normal((*lead, *s)) for s in shapes] for _ in range(self.steps)]
        return params, grads

    @staticmethod
    def arrays(backend: Any, host: Sequence[np.ndarray], dtype: str) -> list[Any]:
        # fresh host copies: NumPy's asarray would share the caller's arrays
        return [backend.asarray(np.array(a, dtype=dtype), dtype=backend.dtype(dtype)) for a in host]

    def other(self, opt: Optimizer) -> Optimizer:
        """An instance with another learning rate (the same one if it has none)."""
        hyper = opt.hyperparameters
        if "lr" not in hyper or isinstance(hyper["lr"], bool):
            return opt
        lr = hyper["lr"]
        return type(opt)(**{**hyper, "lr": lr * 0.5 if lr > 0 else 0.01}, **opt.options)

    def run(
        self,
        opt: Optimizer,
        backend: Any,
        params: list[Any],
        grads: list[list[Any]],
        state: State,
        *,
        inplace: bool = False,
    ) -> tuple[list[Any], State]:
        for g in grads:
            if inplace:
                params, state = opt.step(params, g, state, xp=backend.xp, inplace=True)
            else:
                params, state = opt.step(params, g, state)
        return params, state


def _protocol(kit: _Kit, opt: Optimizer) -> None:
    cls = kit.cls
    name = getattr(cls, "name", None)
    _expect(
        isinstance(name, str) and optimizers.NAME.match(name),
        f"name must be lower-case letters, digits and '_' (a registry name), not {name!r}",
    )
    _expect(
        isinstance(cls.slots, tuple) and all(isinstance(s, str) for s in cls.slots),
        f"slots must be a tuple of names, not {cls.slots!r}",
    )
    _expect(len(set(cls.slots)) == len(cls.slots), f"slots repeat a name: {cls.slots}")
    _expect(
        set(cls.initial) <= set(cls.slots),
        f"initial names {sorted(set(cls.initial) - set(cls.slots))}, which are not slots",
    )
    for k, v in {**cls.initial, **cls.scalars}.items():
        _expect(
            isinstance(k, str) and _number(v),
            f"initial and scalars map names to numbers, not {k!r}: {v!r}",
        )
    _expect(isinstance(cls.elementwise, bool), "elementwise must be True or False")
    _expect(isinstance(opt, cls), f"{cls.__qualname__}() made a {type(opt).__name__}")
    # hyper-parameters: Python numbers or bools, with defaults (the CLI's flags)
    names = parameter_names(cls)
    signature = _require_defaults(cls)
    _expect(not set(names) & set(OPTIONS), f"hyper-parameters named as options: {names}")
    hyper = opt.hyperparameters
    _expect(list(hyper) == names, f"hyperparameters {list(hyper)}, not the constructor's {names}")
    for k, v in hyper.items():
        _expect(
            _number(v),
            f"the hyper-parameter {k} is {v!r} ({type(v).__name__}), not a Python number or bool",
        )
    # the constructor round-trips them
    again = cls(**hyper, **opt.options)
    _expect(again == opt, f"{cls.__qualname__}(**hyperparameters) is {again!r}, not {opt!r}")
    _expect(
        again.hyperparameters == hyper,
        "the constructor changes the hyper-parameters "
        f"it is given: {again.hyperparameters} from {hyper}",
    )
    _expect(hash(again) == hash(opt), "equal optimizers hash differently")
    _expect(repr(opt).startswith(f"{cls.__name__}("), f"repr {opt!r}")
    _expect(str(opt).startswith(f"{name} ("), f"str {opt}")
    other = kit.other(opt)
    _expect(other is opt or other != opt, f"{other!r} == {opt!r}")
    defaults = {k: signature[k].default for k in names}
    _expect(cls(**defaults) == cls(), "the defaults given explicitly make another optimizer")
    copied = pickle.loads(pickle.dumps(opt))  # worker processes receive it pickled
    _expect(copied == opt, f"pickling gives {copied!r}, not {opt!r}")
    # unknown and impossible values
    with _raises((TypeError, ConfigError), "an unknown hyper-parameter"):
        cls(not_a_hyperparameter=1.0)
    if optimizers.OPTIMIZERS.get(name) is cls:
        with _raises(ConfigError, f"optimizers.get({name!r}, not_a_hyperparameter=1.0)"):
            optimizers.get(name, not_a_hyperparameter=1.0)
        _expect(optimizers.get(name) == cls(), f"optimizers.get({name!r}) != {cls.__name__}()")
    for k, v in hyper.items():
        with _raises(ConfigError, f"{k}='not a number'"):
            cls(**{k: "not a number"})
        if not isinstance(v, bool):
            with _raises(ConfigError, f"{k}=nan"):
                cls(**{k: math.nan})
    with _raises(ConfigError, "clip_norm=-1.0"):
        cls(clip_norm=-1.0)


def _init(kit: _Kit, opt: Optimizer) -> None:
    backend, cls = kit.backend, kit.cls
    # a rule's own init_slot, or parts (a slot a part does not keep is a placeholder)
    own_slots = type(opt).init_slot is not Optimizer.init_slot or bool(type(opt).parts)
    for shapes in kit.shapes:
        for dtype in kit.dtypes:
            want = backend.dtype(dtype)
            host, _ = kit.problem(shapes)
            params = kit.arrays(backend, host, dtype)
            state = opt.init(params)
            _expect(isinstance(state, State), f"init() returned a {type(state).__name__}")
            _expect(
                type(state.count) is int and state.count == 0,
                f"the count starts at {state.count!r}, not 0",
            )
            _expect(state.members is False, "init() without members= made a member state")
            _expect(
                set(state.slots) == set(cls.slots),
                f"slots {sorted(state.slots)}, not {sorted(cls.slots)}",
            )
            for k, arrays in state.slots.items():
                _expect(
                    len(arrays) == len(params),
                    f"slot {k}: {len(arrays)} arrays for {len(params)} parameters",
                )
                for i, (a, p) in enumerate(zip(arrays, params)):
                    _on(backend, f"slot {k}[{i}]", a, want)
                    _expect(a is not p, f"slot {k}[{i}] is the parameter array itself")
                    if not own_slots:
                        _expect(
                            tuple(a.shape) == tuple(p.shape),
                            f"slot {k}[{i}] has shape {a.shape}, not {p.shape}",
                        )
            _expect(
                set(state.scalars) == set(cls.scalars),
                f"scalars {sorted(state.scalars)}, not {sorted(cls.scalars)}",
            )
            for k, a in state.scalars.items():
                _on(backend, f"scalar {k}", a, want)
                _expect(tuple(a.shape) == (), f"scalar {k} has shape {a.shape}, not ()")
            _expect(
                state.hyperparameters == opt.hyperparameters,
                f"the state's hyperparameters {state.hyperparameters}, not {opt.hyperparameters}",
            )
            _equal("the parameters after init()", params, host_cast(host, dtype))
    with _raises(ConfigError, "init() of an array instead of a list"):
        opt.init(params[0])
    with _raises(ConfigError, "init(..., hyperparameters={})"):
        opt.init(params, hyperparameters={})


def _step(kit: _Kit, opt: Optimizer) -> None:
    backend = kit.backend
    for shapes in kit.shapes:
        for dtype in kit.dtypes:
            want = backend.dtype(dtype)
            host, host_grads = kit.problem(shapes)
            params = kit.arrays(backend, host, dtype)
            state = opt.init(params)
            mine = kit.arrays(backend, host, dtype)  # the in-place run's own arrays
            mine_state = opt.init(mine)
            where = f"{dtype}, {len(shapes)} arrays"
            for t, g in enumerate(host_grads, start=1):
                grads = kit.arrays(backend, g, dtype)
                arguments = [*params, *grads, *(a for _, a in _state_arrays(state))]
                before = _host(arguments)
                new, new_state = opt.step(params, grads, state)
                _equal(f"the arguments of a copying step ({where}, step {t})", arguments, before)
                _expect(
                    not any(
                        a is b
                        for a in [*new, *(x for _, x in _state_arrays(new_state))]
                        for b in arguments
                    ),
                    f"a copying step returned one of its arguments ({where})",
                )
                mine, mine_state = opt.step(mine, grads, mine_state, xp=backend.xp, inplace=True)
                params, state = new, new_state
                _equal(
                    f"the parameters of copying and in-place steps ({where}, step {t})",
                    mine,
                    params,
                )
                _equal(
                    f"the states of copying and in-place steps ({where}, step {t})",
                    [a for _, a in _state_arrays(mine_state)],
                    [a for _, a in _state_arrays(state)],
                )
                _expect(
                    state.count == mine_state.count == t,
                    f"the count after step {t} is {state.count!r}",
                )
                _expect(
                    state.hyperparameters == opt.hyperparameters,
                    f"step() changed the hyperparameters to {state.hyperparameters}",
                )
                for what, a in [
                    *((f"parameter [{i}]", p) for i, p in enumerate(params)),
                    *_state_arrays(state),
                ]:
                    _on(backend, f"{what} after step {t} ({where})", a, want)
            for what, a in [
                *((f"parameter [{i}]", p) for i, p in enumerate(params)),
                *_state_arrays(state),
            ]:
                _expect(
                    np.all(np.isfinite(to_numpy(a))),
                    f"{what} is not finite after {kit.steps} steps ({where})",
                )
            if dtype == "float64":
                moved = any(not np.array_equal(to_numpy(p), h) for p, h in zip(params, host))
                _expect(moved, f"{kit.steps} steps left the parameters where they were")


def _members(kit: _Kit, opt: Optimizer) -> None:
    backend, other = kit.backend, kit.other(opt)
    pair = [opt, other]
    for shapes in kit.shapes:
        host = [kit.problem(shapes) for _ in pair]
        stack = kit.arrays(backend, [np.stack(p) for p in zip(*(h[0] for h in host))], "float64")
        grads = [
            kit.arrays(backend, [np.stack(g) for g in zip(*step)], "float64")
            for step in zip(*(h[1] for h in host))
        ]
        hyper = member_hyperparameters(pair, stack[0])
        state = opt.init(stack, hyperparameters=hyper, members=True)
        _expect(state.members is True, "init(..., members=True) made no member state")
        for k, a in state.scalars.items():
            _expect(tuple(a.shape) == (2, 1), f"scalar {k} of 2 members has shape {a.shape}")
        stack, state = kit.run(opt, backend, stack, grads, state)
        point = opt.eval_params(stack, state)
        for k, (member, (p, g)) in enumerate(zip(pair, host)):
            alone = kit.arrays(backend, p, "float64")
            alone_state = member.init(alone)
            alone, alone_state = kit.run(
                member,
                backend,
                alone,
                [kit.arrays(backend, s, "float64") for s in g],
                alone_state,
            )
            where = f"member {k} of 2 ({len(shapes)} arrays)"
            for i, (s, a) in enumerate(zip(stack, alone)):
                _close(f"{where}: parameter [{i}] and the run alone", s[k, ...], a)
            for (what, s), (_, a) in zip(_state_arrays(state), _state_arrays(alone_state)):
                row = s[k, 0] if what.startswith("scalar") else s[k, ...]
                _close(f"{where}: {what} and the run alone", row, a)
            for i, (s, a) in enumerate(zip(point, opt.eval_params(alone, alone_state))):
                _close(f"{where}: eval_params [{i}] and the run alone", s[k, ...], a)


def _no_host_read(kit: _Kit, opt: Optimizer) -> str | None:
    if importlib.util.find_spec("array_api_strict") is None:
        return "skipped: array-api-strict is not installed (pip install array-api-strict)"
    import array_api_strict as strict

    from .. import schedules

    backend = resolve(strict.Device("device1"), strict)
    runs = [("alone", opt, None)]
    runs.append(("2 members", opt, [opt, kit.other(opt)]))
    if "lr" in opt.hyperparameters:
        options = {"schedule": schedules.get("cosine", total_steps=3), "clip_norm": 0.5}
        optioned = type(opt)(**opt.hyperparameters, **{**opt.options, **options})
        runs.append(("with a schedule and clip_norm", optioned, None))
    for shapes in kit.shapes:
        for dtype in kit.dtypes:
            for what, o, pair in runs:
                lead = () if pair is None else (len(pair),)
                host, host_grads = kit.problem(shapes, lead)
                params = kit.arrays(backend, host, dtype)
                grads = [kit.arrays(backend, g, dtype) for g in host_grads]
                hyper = None if pair is None else member_hyperparameters(pair, params[0])
                state = o.init(params, hyperparameters=hyper, members=pair is not None)
                mine = [backend.xp.asarray(p, copy=True) for p in params]
                mine_state = o.init(mine, hyperparameters=hyper, members=pair is not None)
                where = f"{what}, {dtype}, {len(shapes)} arrays"
                with _no_exits(type(params[0])) as exits:
                    try:
                        params, state = kit.run(o, backend, params, grads, state)
                        mine, mine_state = kit.run(
                            o, backend, mine, grads, mine_state, inplace=True
                        )
                    except _HostRead:
                        pass
                _expect(
                    not exits,
                    f"step() read an array back to the host ({where}): "
                    f"{', '.join(dict.fromkeys(exits))}",
                )
                want = backend.dtype(dtype)
                for name, a in [
                    *((f"parameter [{i}]", p) for i, p in enumerate(params)),
                    *_state_arrays(state),
                ]:
                    _on(backend, f"{name} ({where})", a, want)


def _resume(kit: _Kit, opt: Optimizer) -> None:
    backend, half = kit.backend, kit.steps // 2
    for shapes in kit.shapes:
        for dtype in kit.dtypes:
            host, host_grads = kit.problem(shapes)
            grads = [kit.arrays(backend, g, dtype) for g in host_grads]
            params = kit.arrays(backend, host, dtype)
            straight, straight_state = kit.run(opt, backend, params, grads, opt.init(params))
            params = kit.arrays(backend, host, dtype)
            params, state = kit.run(opt, backend, params, grads[:half], opt.init(params))
            # the checkpoint: NumPy copies, as a Trainer's checkpoint holds them
            saved = _host(params)
            slots = {k: _host(v) for k, v in state.slots.items()}
            scalars = {k: _host([a])[0] for k, a in state.scalars.items()}
            count = int(state.count)
            del params, state
            params = kit.arrays(backend, saved, dtype)
            fresh = opt.init(params)
            rebuilt = fresh._replace(
                count=count,
                slots={k: kit.arrays(backend, v, dtype) for k, v in slots.items()},
                scalars={
                    k: backend.asarray(a, dtype=backend.dtype(dtype)) for k, a in scalars.items()
                },
            )
            params, state = kit.run(opt, backend, params, grads[half:], rebuilt)
            where = f"{dtype}, {len(shapes)} arrays"
            _equal(
                f"the parameters of a resumed run and a straight one ({where})",
                params,
                straight,
            )
            _equal(
                f"the states of a resumed run and a straight one ({where})",
                [a for _, a in _state_arrays(state)],
                [a for _, a in _state_arrays(straight_state)],
            )


def _eval_params(kit: _Kit, opt: Optimizer) -> None:
    backend = kit.backend
    for shapes in kit.shapes:
        for dtype in kit.dtypes:
            host, host_grads = kit.problem(shapes)
            params = kit.arrays(backend, host, dtype)
            grads = [kit.arrays(backend, g, dtype) for g in host_grads]
            params, state = kit.run(opt, backend, params, grads, opt.init(params))
            arguments = [*params, *(a for _, a in _state_arrays(state))]
            before = _host(arguments)
            point = opt.eval_params(params, state)
            _expect(isinstance(point, list), f"eval_params returned a {type(point).__name__}")
            _expect(
                len(point) == len(params),
                f"eval_params returned {len(point)} arrays for {len(params)} parameters",
            )
            for i, (e, p) in enumerate(zip(point, params)):
                _on(backend, f"eval_params [{i}]", e, backend.dtype(dtype))
                _expect(
                    tuple(e.shape) == tuple(p.shape),
                    f"eval_params [{i}] has shape {e.shape}, not {p.shape}",
                )
            _equal("the parameters and state after eval_params", arguments, before)
            if type(opt).eval_params is Optimizer.eval_params:
                _equal("eval_params of a rule that evaluates where it trains", point, params)


def _trainer(kit: _Kit, opt: Optimizer) -> None:
    from ..datasets import Dataset
    from ..nn import MLP
    from ..train import Trainer

    backend = kit.backend
    xp, device = backend.xp, backend.device
    rng = np.random.default_rng(kit.seed)
    images = rng.uniform(0.0, 1.0, (48, 6))
    labels = np.argmax(images @ rng.standard_normal((6, 3)), axis=1)
    data = Dataset(backend.asarray(images, dtype=xp.float64), backend.asarray(labels), 3)

    def model(seed: Any) -> MLP:
        return MLP([6, 5, 3], seed=seed, dtype="float64", xp=xp, device=device)

    first = model(0)
    start = to_numpy(first.params).copy()
    straight = Trainer(first, opt, data, batch_size=8)
    history = straight.run(1)[0]
    saved = straight.checkpoint()
    history = straight.run(2, histories=[history])[0]
    _expect(straight.state.count == 12, f"2 epochs of 6 steps counted {straight.state.count}")
    losses = [r.train_loss for r in history.epochs]
    _expect(
        len(losses) == 2 and all(map(math.isfinite, losses)),
        f"the training losses of 2 epochs are {losses}",
    )
    _expect(
        not np.array_equal(to_numpy(first.params), start),
        "2 epochs left the network's parameters where they were",
    )
    resumed_model = model(0)
    resumed = Trainer(resumed_model, opt, data, batch_size=8)
    resumed.restore(saved)
    resumed.run(2)
    _equal(
        "a Trainer restored from its checkpoint, and the run straight through",
        [resumed_model.params, resumed.eval_params()],
        [first.params, straight.eval_params()],
    )
    # two members with different learning rates, against the two trained alone
    pair = [opt, kit.other(opt)]
    both = model([0, 1])
    together = Trainer(both, pair, data, batch_size=8, seed=0)
    together.run(2)
    point = together.eval_params()
    for k, member in enumerate(pair):
        alone_model = model(k)
        alone = Trainer(alone_model, member, data, batch_size=8, seed=k)
        alone.run(2)
        # A stack's network computes its gradients with batched products, which some
        # libraries (PyTorch) round otherwise than one network's; a shape-aware rule
        # spreads that ulp over small entries (SOAP divides a rotated gradient that is
        # 0 to rounding by its own rounding): it is compared norm-wise.
        _close(
            f"member {k} of a Trainer with 2 members and the network trained alone",
            point[k, ...],
            alone.eval_params(),
            normwise=not opt.elementwise,
        )


#: Check name -> the function that runs it.
_CHECKS = {
    "protocol": _protocol,
    "init": _init,
    "step": _step,
    "members": _members,
    "no_host_read": _no_host_read,
    "resume": _resume,
    "eval_params": _eval_params,
    "trainer": _trainer,
}


def host_cast(host: Sequence[np.ndarray], dtype: str) -> list[np.ndarray]:
    return [a.astype(dtype) for a in host]


def _require_defaults(cls: type[Optimizer]) -> Any:
    """Every hyper-parameter has a default (the command line's flags need them)."""
    signature = inspect.signature(cls.__init__).parameters
    for k in parameter_names(cls):
        _expect(
            signature[k].default is not inspect.Parameter.empty,
            f"the hyper-parameter {k!r} has no default",
        )
    return signature


class _HostRead(Exception):
    """Raised by the spies on an array's exits to the host."""


@contextlib.contextmanager
def _no_exits(array_type: type) -> Iterator[list[str]]:
    """Replace ``array_type``'s exits to the host with spies that record and raise."""
    exits: list[str] = []
    originals = {name: array_type.__dict__.get(name) for name in _EXITS}

    def spy(name: str):
        def exit_(self: Any, *args: Any, **kwargs: Any) -> Any:
            exits.append(name)
            raise _HostRead(f"{name} of an array inside step()")

        return exit_

    try:
        for name in _EXITS:
            if hasattr(array_type, name):
                setattr(array_type, name, spy(name))
        yield exits
    finally:
        for name, original in originals.items():
            if original is None:
                with contextlib.suppress(AttributeError):
                    delattr(array_type, name)
            else:
                setattr(array_type, name, original)


@contextlib.contextmanager
def _raises(kinds: Any, what: str) -> Iterator[None]:
    try:
        yield
    except kinds:
        return
    except Exception as error:
        raise AssertionError(
            f"{what} raised {type(error).__name__} ({error}), not {_names(kinds)}"
        ) from error
    raise AssertionError(f"{what} was accepted: it must raise {_names(kinds)}")


def _names(kinds: Any) -> str:
    kinds = kinds if isinstance(kinds, tuple) else (kinds,)
    return " or ".join(k.__name__ for k in kinds)
