"""Learning-rate schedules: the multiplier of each update's learning rate.

A schedule ``s`` is a small immutable object; ``s(t)`` for ``t = 0, 1, 2, ...`` is
the learning-rate **multiplier** of update ``t + 1``, so that update's rate is
``lr * s(t)``::

    s = schedules.get("warmup_cosine", warmup_steps=100, total_steps=5000)
    s(0), s(100), s(5000)      # 0.0, 1.0, 0.0 (Python floats)
    s(count)                   # an array in count's namespace, on its device

``t`` is either a Python int (the result is a Python float, computed with
:mod:`math`) or an integer or floating array of any Array API library, of any
shape (a 0-d step count on a GPU, or many ``t`` at once). An array ``t`` gives an
array of the same shape, namespace and device, computed **without reading a value
on the host** (no ``float()``, ``bool()`` or ``if`` on array values: every branch
is an ``xp.where``), so that a training loop can compute ``lr * s(count)`` inside a
captured CUDA graph whose ``count`` is a device scalar. Its dtype is ``dtype=``
when given, else ``t``'s if ``t`` is floating, else the namespace's default real
floating dtype (float64 for NumPy, float32 for PyTorch unless changed). A float32
result is exact in ``t`` for ``t < 2**24``.

Each formula is written once (``_formula``) against a handful of operations that
exist twice: on Python numbers (:mod:`math`) and on arrays (the Array API), so
the two paths compute the same operations in the same order.

Where ``torch.optim.lr_scheduler`` has a schedule, it is the oracle, with its
argument defaults: ``s(t)`` is the scheduler's learning rate divided by the base
learning rate after ``t`` calls of ``scheduler.step()``. The tests check every
schedule against its oracle (or, for ``warmup_cosine`` and ``wsd``, against the
formula) to 1e-12 relative over 200 steps.

==================  ==========================================================
name                arguments (defaults) and oracle
==================  ==========================================================
``constant``        none; ``s(t) = 1``
``step``            ``step_size``, ``gamma=0.1``: ``StepLR``
``multistep``       ``milestones``, ``gamma=0.1``: ``MultiStepLR``
``exponential``     ``gamma``: ``ExponentialLR``
``cosine``          ``total_steps``, ``min_factor=0``: ``CosineAnnealingLR``
``linear``          ``start_factor=1/3``, ``end_factor=1``, ``total_steps=5``:
                    ``LinearLR``
``one_cycle``       ``total_steps``, ``pct_start=0.3``, ``div_factor=25``,
                    ``final_div_factor=1e4``: ``OneCycleLR`` (cosine, two phases)
``warmup_cosine``   ``warmup_steps``, ``total_steps``, ``min_factor=0``
``wsd``             ``warmup_steps``, ``decay_steps``, ``total_steps``,
                    ``shape="linear"``
==================  ==========================================================

On the command line a schedule is ``NAME[:key=value,...]`` with durations in
epochs: :func:`check` reads its form before the data is known (a :class:`Spec`), and
:meth:`Spec.schedule` (or :func:`parse`, both at once) makes it a schedule once the run's
steps are.
"""

from __future__ import annotations

import inspect
import math
import numbers
import sys
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, overload

import array_api_compat

from .errors import ConfigError

__all__ = [
    "SCHEDULES",
    "WSD",
    "Constant",
    "Cosine",
    "Exponential",
    "Linear",
    "MultiStep",
    "OneCycle",
    "Schedule",
    "Spec",
    "Step",
    "WarmupCosine",
    "check",
    "get",
    "parse",
]


# -- the operations a formula uses, on Python numbers and on arrays -----------------------


class _Scalar:
    """The operations on Python numbers: the path of a Python int ``t``."""

    cos = staticmethod(math.cos)
    sqrt = staticmethod(math.sqrt)

    @staticmethod
    def where(condition: bool, a: float, b: float) -> float:
        return a if condition else b

    @staticmethod
    def clip(x: float, low: float | None = None, high: float | None = None) -> float:
        if low is not None and x < low:
            x = low
        if high is not None and x > high:
            x = high
        return x

    @staticmethod
    def floor_divide(t: int, n: int) -> int:
        return t // n

    @staticmethod
    def power(base: float, exponent: float) -> float:
        try:
            return base**exponent
        except OverflowError:  # as an array's power: infinity, not an exception
            return math.inf

    @staticmethod
    def count_reached(t: int, thresholds: Sequence[int]) -> int:
        # how many of the (sorted) thresholds are <= t
        return bisect_right(thresholds, t)

    @staticmethod
    def full(value: float) -> float:
        return value


_SCALAR = _Scalar()


class _Array:
    """The same operations on arrays of one namespace, shape, device and dtype.

    Constants are made with ``full_like`` (a fill kernel, which a CUDA graph can
    capture) rather than ``asarray`` (a copy from the host).
    """

    def __init__(self, xp: Any, like: Any) -> None:
        self.xp = xp
        self.like = like
        self.cos = xp.cos
        self.sqrt = xp.sqrt

    def full(self, value: Any) -> Any:
        if isinstance(value, (int, float)):
            return self.xp.full_like(self.like, value)
        return value

    def where(self, condition: Any, a: Any, b: Any) -> Any:
        return self.xp.where(condition, self.full(a), self.full(b))

    def clip(self, x: Any, low: float | None = None, high: float | None = None) -> Any:
        return self.xp.clip(x, min=low, max=high)

    def floor_divide(self, t: Any, n: int) -> Any:
        return self.xp.floor(t / n)

    def power(self, base: float, exponent: Any) -> Any:
        return self.xp.pow(self.full(base), exponent)

    def count_reached(self, t: Any, thresholds: Sequence[int]) -> Any:
        count = self.xp.zeros_like(self.like)
        for threshold in thresholds:
            count = count + self.xp.astype(t >= threshold, self.like.dtype)
        return count


def _default_float(xp: Any, device: Any) -> Any:
    try:
        return xp.__array_namespace_info__().default_dtypes(device=device)["real floating"]
    except (AttributeError, TypeError, KeyError):  # an older namespace
        return xp.float64


# -- validation: one sentence naming the argument -----------------------------------------


#: The most steps a duration may count: 2**53, below which a float64 step count is exact
#: (a larger one would overflow an array's arithmetic, and no run takes that many steps).
MAX_STEPS = 2**53


def _integer(name: str, value: Any, minimum: int = 1) -> int:
    """``value`` as a Python int ``>= minimum`` and at most :data:`MAX_STEPS`."""
    what = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ConfigError(f"{name} must be {what}, not {value!r}")
    if value > MAX_STEPS:
        shown = f"{float(value):.3g}" if value < 10**300 else "more than 1e300"
        raise ConfigError(f"{name} must be at most 2**53 steps, not {shown}")
    return int(value)


def _number(
    name: str,
    value: Any,
    low: float | None = None,
    high: float | None = None,
    *,
    open_low: bool = False,
) -> float:
    """``value`` as a finite Python float in ``[low, high]`` (``(low, high]`` if open)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ConfigError(f"{name} must be a number, not {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ConfigError(f"{name} must be finite, not {value}")
    if (low is not None and (value < low or (open_low and value == low))) or (
        high is not None and value > high
    ):
        bracket = "(" if open_low else "["
        if high is None:
            where = f"> {low:g}" if open_low else f">= {low:g}"
        else:
            where = f"in {bracket}{low:g}, {high:g}]"
        raise ConfigError(f"{name} must be {where}, not {value:g}")
    return value


# -- the base class ------------------------------------------------------------------------


class Schedule:
    """Base class of the schedules: validated arguments, ``s(t)``, names.

    A subclass sets :attr:`name`, validates its arguments in ``__init__`` (one keyword
    argument each, stored under its own name) and writes ``_formula(o, t)`` once with
    the operations of ``o`` (``where``, ``clip``, ``cos``, ``sqrt``, ``power``,
    ``floor_divide``, ``count_reached``) and Python arithmetic.
    """

    #: The registry name (``optimlab.schedules.get(name)``).
    name: ClassVar[str]

    def __call__(self, t: Any, *, dtype: Any = None) -> Any:
        """The learning-rate multiplier of update ``t + 1``.

        Parameters
        ----------
        t
            Updates already taken: a Python int ``>= 0``, or an integer or floating
            array of any shape and Array API library.
        dtype
            The result's dtype for an array ``t`` (ignored for a Python int); by
            default ``t``'s if it is floating, else the namespace's default real
            floating dtype.

        Returns
        -------
        float or array
            A Python float for a Python int; else an array shaped like ``t`` in its
            namespace and on its device, computed without a host read.
        """
        if type(t) is int:
            if t < 0:
                raise ConfigError(f"t must be a non-negative integer, not {t}")
            return float(self._formula(_SCALAR, t))
        try:
            xp = array_api_compat.array_namespace(t)
        except TypeError:
            raise ConfigError(
                f"a schedule takes t as a Python int or an array, not {type(t).__name__}"
            ) from None
        if dtype is None:
            floating = xp.isdtype(t.dtype, "real floating")
            dtype = t.dtype if floating else _default_float(xp, array_api_compat.device(t))
        elif not xp.isdtype(dtype, "real floating"):
            raise ConfigError(f"a schedule's dtype must be a real floating dtype, not {dtype}")
        t = xp.astype(t, dtype)
        o = _Array(xp, t)
        return o.full(self._formula(o, t))  # a formula without t gives a Python float

    def _formula(self, o: Any, t: Any) -> Any:
        raise NotImplementedError

    @property
    def constant(self) -> bool:
        """True for the constant schedule only, whose multiplier a loop may skip."""
        return False

    @property
    def arguments(self) -> dict[str, Any]:
        """The constructor's arguments and their values (ints, floats, lists, strings)."""
        values = {name: getattr(self, name) for name in _parameters(type(self))}
        return {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.arguments.items())
        return f"{type(self).__name__}({args})"

    def __str__(self) -> str:
        """How results files and figure legends name it: the arguments that differ from
        their defaults, as in ``warmup_cosine(warmup_steps=10, total_steps=100)``."""
        defaults = _parameters(type(self))
        shown = {k: v for k, v in self.arguments.items() if v != defaults[k]}
        if not shown:
            return self.name
        return f"{self.name}({', '.join(f'{k}={_show(v)}' for k, v in shown.items())})"

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.arguments == other.arguments

    def __hash__(self) -> int:
        items = self.arguments.items()
        items = tuple((k, tuple(v) if isinstance(v, list) else v) for k, v in items)
        return hash((type(self), items))


def _parameters(cls: type) -> dict[str, Any]:
    """``cls``'s constructor arguments and their defaults (``inspect.Parameter.empty``)."""
    parameters = list(inspect.signature(cls.__init__).parameters.values())[1:]
    named = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return {p.name: p.default for p in parameters if p.kind in named}


def _show(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list):
        return f"[{', '.join(_show(v) for v in value)}]"
    return str(value)


# -- the schedules --------------------------------------------------------------------------


class Constant(Schedule):
    r"""No schedule: :math:`s(t) = 1`.

    Its :attr:`constant` is True, so a training loop may skip the multiplication.
    """

    name = "constant"

    def _formula(self, o: Any, t: Any) -> Any:
        return 1.0

    @property
    def constant(self) -> bool:
        return True


class Step(Schedule):
    r"""Decay by ``gamma`` every ``step_size`` updates: :math:`s(t) = \gamma^{\lfloor t/n \rfloor}`.

    Equal to ``torch.optim.lr_scheduler.StepLR(step_size=n, gamma=gamma)`` (whose
    default ``gamma`` is 0.1).

    Parameters
    ----------
    step_size : int
        :math:`n \ge 1`, the updates between two decays.
    gamma : float
        The factor of each decay, ``> 0``.
    """

    name = "step"

    def __init__(self, step_size: int, gamma: float = 0.1) -> None:
        self.step_size = _integer("step_size", step_size)
        self.gamma = _number("gamma", gamma, 0.0, open_low=True)

    def _formula(self, o: Any, t: Any) -> Any:
        return o.power(self.gamma, o.floor_divide(t, self.step_size))


class MultiStep(Schedule):
    r"""Decay by ``gamma`` at each milestone: :math:`s(t) = \gamma^{\#\{i : m_i \le t\}}`.

    Equal to ``torch.optim.lr_scheduler.MultiStepLR(milestones, gamma)`` (default
    ``gamma`` 0.1); a milestone given twice decays twice, as there.

    Parameters
    ----------
    milestones : sequence of int
        The updates :math:`m_i \ge 1` from which the rate is multiplied by ``gamma``
        once more; kept sorted.
    gamma : float
        The factor of each decay, ``> 0``.
    """

    name = "multistep"

    def __init__(self, milestones: Sequence[int], gamma: float = 0.1) -> None:
        if isinstance(milestones, (str, bytes)) or not isinstance(milestones, Sequence):
            raise ConfigError(f"milestones must be a list of positive integers, not {milestones!r}")
        if not milestones:
            raise ConfigError("milestones must name at least one step")
        self.milestones = tuple(sorted(_integer("a milestone", m) for m in milestones))
        self.gamma = _number("gamma", gamma, 0.0, open_low=True)

    def _formula(self, o: Any, t: Any) -> Any:
        return o.power(self.gamma, o.count_reached(t, self.milestones))


class Exponential(Schedule):
    r"""Decay by ``gamma`` at every update: :math:`s(t) = \gamma^t`.

    Equal to ``torch.optim.lr_scheduler.ExponentialLR(gamma)`` (no default there).

    Parameters
    ----------
    gamma : float
        The factor of each update, ``> 0``.
    """

    name = "exponential"

    def __init__(self, gamma: float) -> None:
        self.gamma = _number("gamma", gamma, 0.0, open_low=True)

    def _formula(self, o: Any, t: Any) -> Any:
        return o.power(self.gamma, t)


class Cosine(Schedule):
    r"""Cosine annealing to ``min_factor`` over ``total_steps`` updates, then held.

    .. math::
        s(t) = m + (1 - m)\,\frac{1 + \cos(\pi \min(t, T) / T)}{2}

    For :math:`t \le T` this equals ``torch.optim.lr_scheduler.CosineAnnealingLR(
    T_max=T, eta_min=m * lr)`` divided by ``lr``. After :math:`T` torch's rate rises
    again (its closed form is periodic, with period :math:`2T`); here it stays at
    :math:`m`, since a schedule's length is meant to be the run's.

    Parameters
    ----------
    total_steps : int
        :math:`T \ge 1`, the updates from 1 down to ``min_factor``.
    min_factor : float
        :math:`m \in [0, 1]`, the final multiplier (torch's ``eta_min / lr``, default 0).
    """

    name = "cosine"

    def __init__(self, total_steps: int, min_factor: float = 0.0) -> None:
        self.total_steps = _integer("total_steps", total_steps)
        self.min_factor = _number("min_factor", min_factor, 0.0, 1.0)

    def _formula(self, o: Any, t: Any) -> Any:
        m, total = self.min_factor, self.total_steps
        t = o.clip(t, high=total)
        return m + (1.0 - m) * (1.0 + o.cos(math.pi * t / total)) / 2


class Linear(Schedule):
    r"""A linear change from ``start_factor`` to ``end_factor`` over ``total_steps``.

    .. math::
        s(t) = a\,(1 - x) + b\,x, \qquad x = \min(t, T) / T

    Equal (to rounding) to ``torch.optim.lr_scheduler.LinearLR(start_factor=a,
    end_factor=b, total_iters=T)``, with its defaults (``1/3``, ``1``, ``5``) and its bounds. After
    :math:`T` the multiplier stays :math:`b`, as there. (On the command line
    ``total`` defaults to the run's length instead: see :func:`parse`.)

    Parameters
    ----------
    start_factor : float
        :math:`a \in (0, 1]`, the multiplier of the first update.
    end_factor : float
        :math:`b \in [0, 1]`, the multiplier from update :math:`T + 1` on.
    total_steps : int
        :math:`T \ge 1`.
    """

    name = "linear"

    def __init__(
        self, start_factor: float = 1.0 / 3, end_factor: float = 1.0, total_steps: int = 5
    ) -> None:
        self.start_factor = _number("start_factor", start_factor, 0.0, 1.0, open_low=True)
        self.end_factor = _number("end_factor", end_factor, 0.0, 1.0)
        self.total_steps = _integer("total_steps", total_steps)

    def _formula(self, o: Any, t: Any) -> Any:
        a, b, total = self.start_factor, self.end_factor, self.total_steps
        x = o.clip(t, high=total) / total
        return a * (1.0 - x) + b * x  # exactly b from T on (torch's a + (b - a) x may not be)


class OneCycle(Schedule):
    r"""The 1cycle policy (Smith & Topin 2017): cosine up to 1, then cosine down.

    With :math:`p = \mathrm{pct\_start}\cdot T - 1` (the last update of the rise),
    :math:`a = 1/\mathrm{div\_factor}` and :math:`z = a/\mathrm{final\_div\_factor}`,
    and :math:`c(u, v, x) = v + (u - v)(1 + \cos \pi x)/2` (from :math:`u` at
    :math:`x = 0` to :math:`v` at :math:`x = 1`):

    .. math::
        s(t) = \begin{cases} c(a, 1, t/p) & t \le p \\
                             c(1, z, (t - p)/(T - 1 - p)) & p < t \le T - 1 \\
                             s(T - 1) & t \ge T - 1 \end{cases}

    Equal to ``torch.optim.lr_scheduler.OneCycleLR(max_lr=lr, total_steps=T,
    pct_start, div_factor, final_div_factor, anneal_strategy="cos",
    cycle_momentum=False, three_phase=False)`` divided by ``lr``, for its ``T``
    updates (:math:`t \le T - 1`). torch refuses to go further (and allows one extra
    ``step()`` whose rate rises slightly above :math:`z`); here the multiplier stays
    at :math:`s(T - 1)`. Where :math:`p = 0` exactly (torch divides 0 by 0), the
    rise is empty and the fall starts at :math:`t = 0`.

    Parameters
    ----------
    total_steps : int
        :math:`T \ge 1`, the length of the cycle.
    pct_start : float
        In :math:`[0, 1]`: the fraction of the cycle spent rising (default 0.3).
    div_factor : float
        ``>= 1``: the first multiplier is ``1 / div_factor`` (default 25).
    final_div_factor : float
        ``>= 1``: the last is ``1 / (div_factor * final_div_factor)`` (default 1e4).
    """

    name = "one_cycle"

    def __init__(
        self,
        total_steps: int,
        pct_start: float = 0.3,
        div_factor: float = 25.0,
        final_div_factor: float = 1e4,
    ) -> None:
        self.total_steps = _integer("total_steps", total_steps)
        self.pct_start = _number("pct_start", pct_start, 0.0, 1.0)
        self.div_factor = _number("div_factor", div_factor, 1.0)
        self.final_div_factor = _number("final_div_factor", final_div_factor, 1.0)
        # torch's phases, computed as torch computes them (max_lr = 1)
        self._initial = 1.0 / self.div_factor
        self._final = self._initial / self.final_div_factor
        self._rise_end = float(self.pct_start * self.total_steps) - 1
        fall = (self.total_steps - 1) - self._rise_end
        self._fall_length = fall if fall != 0 else 1.0  # pct_start = 1: there is no fall

    def _formula(self, o: Any, t: Any) -> Any:
        t = o.clip(t, high=self.total_steps - 1)
        p = self._rise_end
        x = (t - p) / self._fall_length
        value = self._final + (1.0 - self._final) / 2.0 * (o.cos(math.pi * x) + 1)
        if p > 0:
            x = t / p
            rise = 1.0 + (self._initial - 1.0) / 2.0 * (o.cos(math.pi * x) + 1)
            value = o.where(t <= p, rise, value)
        return value


class WarmupCosine(Schedule):
    r"""A linear warm-up from 0, then cosine annealing to ``min_factor``, then held.

    .. math::
        s(t) = \begin{cases} t / W & t < W \\
            m + (1 - m)\,\frac{1 + \cos(\pi (t - W) / (T - W))}{2} & W \le t \le T \\
            m & t \ge T \end{cases}

    The first update's multiplier is 0 (as the formula says); ``warmup_steps=0``
    is plain cosine annealing.

    Parameters
    ----------
    warmup_steps : int
        :math:`W \ge 0`, the updates of the warm-up.
    total_steps : int
        :math:`T > W`, where the annealing ends.
    min_factor : float
        :math:`m \in [0, 1]`, the final multiplier (default 0).
    """

    name = "warmup_cosine"

    def __init__(self, warmup_steps: int, total_steps: int, min_factor: float = 0.0) -> None:
        self.warmup_steps = _integer("warmup_steps", warmup_steps, 0)
        self.total_steps = _integer("total_steps", total_steps)
        self.min_factor = _number("min_factor", min_factor, 0.0, 1.0)
        if self.total_steps <= self.warmup_steps:
            raise ConfigError(
                f"total_steps must exceed warmup_steps ({self.warmup_steps}), "
                f"not {self.total_steps}"
            )

    def _formula(self, o: Any, t: Any) -> Any:
        w, total, m = self.warmup_steps, self.total_steps, self.min_factor
        x = (o.clip(t, high=total) - w) / (total - w)
        value = m + (1.0 - m) * (1.0 + o.cos(math.pi * x)) / 2
        return o.where(t < w, t / w, value) if w > 0 else value


class WSD(Schedule):
    r"""Warm-up, stable, decay (Hägele et al. 2024, "Scaling laws and compute-optimal
    training beyond fixed training durations").

    With :math:`x = \mathrm{clip}((t - (T - D)) / D, 0, 1)`:

    .. math::
        s(t) = \begin{cases} t / W & t < W \\ 1 - x & \text{linear shape} \\
                             1 - \sqrt{x} & \text{sqrt shape} \end{cases}

    that is 1 from :math:`W` to :math:`T - D`, then down to 0 at :math:`T`, and 0
    after. ``warmup_steps=0`` has no warm-up.

    Parameters
    ----------
    warmup_steps : int
        :math:`W \ge 0`.
    decay_steps : int
        :math:`D \ge 1`.
    total_steps : int
        :math:`T \ge W + D`.
    shape : {"linear", "sqrt"}
        The decay's shape.
    """

    name = "wsd"

    def __init__(
        self, warmup_steps: int, decay_steps: int, total_steps: int, shape: str = "linear"
    ) -> None:
        self.warmup_steps = _integer("warmup_steps", warmup_steps, 0)
        self.decay_steps = _integer("decay_steps", decay_steps)
        self.total_steps = _integer("total_steps", total_steps)
        if shape not in ("linear", "sqrt"):
            raise ConfigError(f"shape must be 'linear' or 'sqrt', not {shape!r}")
        self.shape = shape
        if self.total_steps < self.warmup_steps + self.decay_steps:
            raise ConfigError(
                f"total_steps must be at least warmup_steps + decay_steps "
                f"({self.warmup_steps + self.decay_steps}), not {self.total_steps}"
            )

    def _formula(self, o: Any, t: Any) -> Any:
        w, d, total = self.warmup_steps, self.decay_steps, self.total_steps
        x = o.clip((t - (total - d)) / d, 0.0, 1.0)
        value = 1.0 - (o.sqrt(x) if self.shape == "sqrt" else x)
        return o.where(t < w, t / w, value) if w > 0 else value


#: Every schedule by its name.
SCHEDULES: dict[str, type[Schedule]] = {
    cls.name: cls
    for cls in (
        Constant,
        Step,
        MultiStep,
        Exponential,
        Cosine,
        Linear,
        OneCycle,
        WarmupCosine,
        WSD,
    )
}


def get(name: str, **kwargs: Any) -> Schedule:
    """The schedule ``name`` with the arguments ``kwargs``.

    Raises
    ------
    ConfigError
        An unknown name, an unknown or missing argument, or an impossible value.
    """
    try:
        cls = SCHEDULES[name]
    except (KeyError, TypeError):
        raise ConfigError(
            f"unknown schedule {name!r}; choose from {', '.join(SCHEDULES)}"
        ) from None
    parameters = _parameters(cls)
    unknown = [k for k in kwargs if k not in parameters]
    if unknown:
        takes = ", ".join(parameters) or "no arguments"
        raise ConfigError(f"schedule {name} takes {takes}, not {', '.join(unknown)}")
    missing = [k for k, v in parameters.items() if v is inspect.Parameter.empty and k not in kwargs]
    if missing:
        raise ConfigError(f"schedule {name} needs {', '.join(missing)}")
    return cls(**kwargs)


# -- the command line's form ------------------------------------------------------------------

#: Command-line duration names (in epochs) -> argument names (in steps).
_DURATIONS = {
    "warmup": "warmup_steps",
    "total": "total_steps",
    "decay": "decay_steps",
    "step_size": "step_size",
}
_STEP_NAMES = {v: k for k, v in _DURATIONS.items()}


@dataclass(frozen=True)
class Spec:
    """A schedule as a command line writes it, ``NAME[:key=value,...]``, read but not yet
    a :class:`Schedule`: its durations are still in epochs.

    :func:`check` reads it before the data is known (its form only); :meth:`schedule`
    makes it a schedule once, when the run's steps per epoch and length are known.
    """

    #: The schedule's name (a key of :data:`SCHEDULES`).
    name: str
    #: Its arguments under the schedule's own names: a duration (``warmup_steps``, ...)
    #: as a number of epochs, ``milestones`` as a tuple of epochs, the others as given
    #: (numbers; ``shape`` a word).
    arguments: Mapping[str, Any]
    #: The text it was read from, and the option that gave it (for messages).
    text: str
    option: str = "--schedule"

    def schedule(self, steps_per_epoch: int, total_steps: int) -> Schedule:
        """The schedule of a run of ``total_steps`` updates, ``steps_per_epoch`` per epoch.

        Each duration of ``e`` epochs becomes ``round(e * steps_per_epoch)`` steps
        (halves up), at least 1 if ``e`` is not 0; a schedule with a ``total_steps`` that
        the text does not give lasts the run.

        Raises
        ------
        ConfigError
            The durations do not fit (in steps), an argument is impossible, or the
            multiplier passes a float's range within the run (one sentence).
        """
        spe = _integer("steps_per_epoch", steps_per_epoch)
        run = _integer("total_steps", total_steps)
        option, where = self.option, f"{self.option} {self.text!r}"
        kwargs: dict[str, Any] = {}
        for argument, value in self.arguments.items():
            key = _STEP_NAMES.get(argument, argument)
            if argument == "milestones":
                kwargs[argument] = [_steps(option, key, e, spe) for e in value]
            elif argument in _STEP_NAMES:
                kwargs[argument] = _steps(option, key, value, spe)
            else:
                kwargs[argument] = value
        if "total_steps" in _parameters(SCHEDULES[self.name]) and "total_steps" not in kwargs:
            kwargs["total_steps"] = run
            total = f"the run's {run} steps"
        else:
            total = f"{kwargs.get('total_steps')} steps"
        _check_durations(where, kwargs, total, "steps")
        try:
            schedule = get(self.name, **kwargs)
        except ConfigError as error:
            raise ConfigError(f"{where}: {error}") from None
        _check_range(where, schedule, run)
        return schedule


def check(text: str, *, option: str = "--schedule") -> Spec:
    """Read a command line's ``NAME[:key=value,...]`` before the run's steps are known: its
    form only (the one check of a schedule's text before the data is loaded).

    The durations take short names and count **epochs** (fractions allowed):
    ``warmup`` (``warmup_steps``), ``total`` (``total_steps``; by default the run's
    ``total_steps`` for every schedule that has one), ``decay`` (``decay_steps``),
    ``step_size``, and ``milestones`` (epochs separated by ``/``). The other keys keep
    their names: ``gamma``, ``min_factor``, ``start_factor``, ``end_factor``,
    ``pct_start``, ``div_factor``, ``final_div_factor`` (numbers) and ``shape`` (a word).

    Checked here: the name, the keys, that each value is a number (a duration one of at
    most 2**53 epochs, not negative), that no argument the schedule needs is missing,
    and that a warm-up and decay given with a ``total`` fit in it, in epochs. What
    depends on the number of steps, and the other arguments' ranges, are checked when
    :meth:`Spec.schedule` makes the schedule, against the run's real steps: no
    placeholder length is invented.

    Raises
    ------
    ConfigError
        Text that does not name a schedule in this form (one sentence starting with
        ``option``).
    """
    spec = _read(text, option)
    given = dict(spec.arguments)
    if "total_steps" in given:
        _check_durations(f"{option} {text!r}", given, f"{given['total_steps']:g} epochs", "epochs")
    return spec


def _read(text: str, option: str) -> Spec:
    """The :class:`Spec` of ``text``: its syntax, keys and numbers checked."""
    if not isinstance(text, str):
        raise ConfigError(f"{option} takes NAME[:key=value,...], not {text!r}")
    name, colon, rest = text.strip().partition(":")
    name = name.strip()
    if name not in SCHEDULES:
        raise ConfigError(
            f"{option}: unknown schedule {name!r}; choose from {', '.join(SCHEDULES)}"
        )
    parameters = _parameters(SCHEDULES[name])
    arguments: dict[str, Any] = {}
    items = rest.split(",") if colon else []
    for item in items:
        key, equals, value = (s.strip() for s in item.partition("="))
        if not equals or not key or not value:
            raise ConfigError(f"{option}: {text!r} needs key=value pairs")
        argument = _DURATIONS.get(key, key)
        if argument in _STEP_NAMES and key != _STEP_NAMES[argument]:
            raise ConfigError(
                f"{option}: durations are in epochs, under the name "
                f"{_STEP_NAMES[argument]}=, not {key}="
            )
        if argument not in parameters:
            takes = ", ".join(_STEP_NAMES.get(p, p) for p in parameters) or "no arguments"
            raise ConfigError(f"{option}: schedule {name} takes {takes}, not {key}")
        if argument in arguments:
            raise ConfigError(f"{option}: {key} is given twice in {text!r}")
        if argument == "milestones":
            arguments[argument] = tuple(_epochs(option, key, e) for e in value.split("/"))
        elif argument in _STEP_NAMES:
            arguments[argument] = _epochs(option, key, value)
        elif argument == "shape":
            arguments[argument] = value
        else:
            arguments[argument] = _float(option, key, value)
    missing = [
        _STEP_NAMES.get(k, k)
        for k, v in parameters.items()
        if v is inspect.Parameter.empty and k not in arguments and k != "total_steps"
    ]
    if missing:
        raise ConfigError(f"{option} {text!r}: schedule {name} needs {', '.join(missing)}")
    return Spec(name, arguments, text, option)


@overload
def parse(text: str, *, steps_per_epoch: int, total_steps: int, option: str = ...) -> Schedule: ...


@overload
def parse(text: str, *, steps_per_epoch: int, total_steps: None, option: str = ...) -> None: ...


def parse(
    text: str,
    *,
    steps_per_epoch: int,
    total_steps: int | None,
    option: str = "--schedule",
) -> Schedule | None:
    """The schedule of a command line's ``NAME[:key=value,...]`` (durations in epochs, see
    :func:`check`) for a run of ``total_steps`` updates, ``steps_per_epoch`` per epoch:
    ``check(text, option=option).schedule(steps_per_epoch, total_steps)``.

    With 100 steps per epoch and 1000 in the run, ``warmup_cosine:warmup=0.5`` is
    ``WarmupCosine(warmup_steps=50, total_steps=1000)`` and
    ``multistep:milestones=2/4.5,gamma=0.5`` is ``MultiStep([200, 450], 0.5)``.

    ``total_steps=None`` (kept for callers written before :func:`check`) checks the
    form only, as :func:`check` does, and returns None.

    Raises
    ------
    ConfigError
        Text that does not name a schedule with valid arguments for this run (one
        sentence starting with ``option``).
    """
    if total_steps is None:
        check(text, option=option)
        return None
    _integer("steps_per_epoch", steps_per_epoch)
    return _read(text, option).schedule(steps_per_epoch, total_steps)


def _check_durations(where: str, kwargs: dict[str, Any], total: str, unit: str) -> None:
    """The warm-up and decay fit in the schedule's length (``total`` describes it), in
    ``unit`` (``"steps"``, or ``"epochs"`` before the steps are known)."""
    if "total_steps" not in kwargs:
        return
    warmup, decay = kwargs.get("warmup_steps", 0), kwargs.get("decay_steps", 0)
    if "decay_steps" in kwargs and warmup + decay > kwargs["total_steps"]:
        raise ConfigError(
            f"{where}: warmup + decay ({warmup + decay:g} {unit}) must fit in total ({total})"
        )
    if "warmup_steps" in kwargs and "decay_steps" not in kwargs and warmup >= kwargs["total_steps"]:
        raise ConfigError(f"{where}: warmup ({warmup:g} {unit}) must end before total ({total})")


def _check_range(where: str, schedule: Schedule, run: int) -> None:
    """A multiplier that passes a float's range within the run's ``run`` steps (an
    exponential ``gamma > 1``) is refused now, not met as an overflow in training."""
    gamma = getattr(schedule, "gamma", None)
    if not isinstance(schedule, Exponential) or gamma is None or gamma <= 1:
        return
    limit = math.log(sys.float_info.max) / math.log(gamma)  # gamma**t is finite for t <= it
    if run - 1 > limit:
        first = math.floor(limit) + 1
        raise ConfigError(
            f"{where}: the multiplier gamma**t passes the largest float at step {first} "
            f"of the run's {run}: take a gamma closer to 1"
        )


def _float(option: str, key: str, value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise ConfigError(f"{option}: {key} must be a number, not {value!r}") from None
    if not math.isfinite(number):
        raise ConfigError(f"{option}: {key} must be finite, not {value!r}")
    return number


def _epochs(option: str, key: str, text: str) -> float:
    """A duration's text as a number of epochs: finite, not negative, at most 2**53 (each
    epoch is at least one step)."""
    number = _float(option, key, text.strip())
    if number < 0:
        raise ConfigError(f"{option}: {key} must be a non-negative number of epochs, not {text}")
    if number > MAX_STEPS:
        raise ConfigError(
            f"{option}: {key}={text.strip()} epochs is more than 2**53 steps, "
            "more than any run takes"
        )
    return number


def _steps(option: str, key: str, epochs: float, steps_per_epoch: int) -> int:
    """``epochs`` as the nearest whole number of steps (halves up), at least 1 unless 0."""
    if epochs * steps_per_epoch > MAX_STEPS:
        raise ConfigError(
            f"{option}: {key}={epochs:g} epochs is more than 2**53 steps, more than any run takes"
        )
    steps = math.floor(epochs * steps_per_epoch + 0.5)
    return max(steps, 1) if epochs > 0 else 0
