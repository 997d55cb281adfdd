"""Search spaces: the hyper-parameters tuned per optimizer, and the trials drawn from them.

Every optimizer gets the same budget — the same number of trials and epochs — over
its own space. A space names each tuned hyper-parameter with its range and scale;
the learning rate always comes first. ``grid`` varies the learning rate alone, on a
log scale over its range, the other hyper-parameters at their defaults; ``random``
draws every dimension of the space from a seeded, shifted Halton sequence
(quasi-random: evenly spread for any number of trials).

The learning-rate ranges follow DeepOBS's suggestion (1e-5 to 1e2, log scale)
narrowed per family to about four decades around the values that train this
problem, and contain AlgoPerf's AdamW range (1e-4 to 1e-2) for the Adam family.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .. import optimizers, problems
from ..errors import ConfigError

__all__ = ["SPACES", "Dimension", "grid", "random", "space"]


@dataclass(frozen=True)
class Dimension:
    """One tuned hyper-parameter: its range and the scale on which it is spread.

    ``scale`` is ``"log"`` (uniform in ``log x``), ``"linear"``, or ``"log1m"``
    (uniform in ``log(1 - x)``: for decay rates such as ``beta2``, where 0.99 and
    0.999 are as far apart as 0.9 and 0.99).
    """

    name: str
    low: float
    high: float
    scale: str = "log"

    def at(self, u: float) -> float:
        """The value at ``u`` in ``[0, 1]`` of the range (``low`` at 0, ``high`` at 1),
        to six significant digits (what a results file and a legend show)."""
        if self.scale == "linear":
            value = self.low + u * (self.high - self.low)
        elif self.scale == "log1m":
            value = -math.expm1(
                math.log1p(-self.low) + u * (math.log1p(-self.high) - math.log1p(-self.low))
            )
        else:
            value = math.exp(math.log(self.low) + u * (math.log(self.high) - math.log(self.low)))
        return float(f"{value:.6g}")


def _lr(low: float, high: float) -> Dimension:
    return Dimension("lr", low, high)


def declared(cls: type[optimizers.Optimizer]) -> tuple[Dimension, ...]:
    """The search space an optimizer class declares: each hyper-parameter with a
    ``search`` range, in declaration order, the learning rate first (empty: none)."""
    dimensions = [
        Dimension(k, *h.search, h.scale) for k, h in cls.declared.items() if h.search is not None
    ]
    return tuple(sorted(dimensions, key=lambda d: d.name != "lr"))  # stable: lr first


#: The search space of every registered optimizer that declares one (see :func:`space`).
SPACES: dict[str, tuple[Dimension, ...]] = {
    name: declared(cls) for name, cls in optimizers.OPTIMIZERS.items() if declared(cls)
}


def space(name: str, problem: str | None = None) -> tuple[Dimension, ...]:
    """The search space of optimizer ``name``: the one its class declares (its row of
    :data:`SPACES`), or for an optimizer that declares none its learning rate over
    ``[lr / 100, 100 lr]`` around its default.

    On a ``problem`` with its own default rate for ``name`` (the 2-D functions:
    :meth:`optimlab.problems.Problem.learning_rate`), the learning rate spans as many
    decades as in the table, centred (geometrically) on that rate: the table's ranges
    are drawn for networks, and a 2-D function's curvature puts SGD's best rate 100x
    below a network's.

    Raises
    ------
    ConfigError
        ``name`` is not registered, or is a plugin without a learning rate.
    """
    rate = None if problem is None else problems.get(problem).learning_rate(name)
    defaults = optimizers.defaults(name)  # raises for an unknown name
    dimensions = SPACES.get(name) or declared(optimizers.OPTIMIZERS[name.lower()])
    if dimensions and dimensions[0].name == "lr":
        if rate is None:
            return dimensions
        lr, *rest = dimensions
        half = math.sqrt(lr.high / lr.low)
        return (_lr(float(f"{rate / half:.6g}"), float(f"{rate * half:.6g}")), *rest)
    lr = defaults.get("lr")
    if not isinstance(lr, (int, float)) or isinstance(lr, bool) or not lr > 0:
        raise ConfigError(
            f"optimizer {name!r} has no search space and no positive default lr to tune around"
        )
    return (_lr(lr / 100.0, lr * 100.0), *dimensions)


def grid(name: str, points: int, problem: str | None = None) -> list[dict[str, float]]:
    """``points`` learning rates, log-spaced over the range of ``name``'s space (on
    ``problem``), both ends included (one point: the range's geometric middle)."""
    lr = space(name, problem)[0]
    if points == 1:
        return [{"lr": lr.at(0.5)}]
    return [{"lr": lr.at(i / (points - 1))} for i in range(points)]


def random(name: str, trials: int, seed: int, problem: str | None = None) -> list[dict[str, float]]:
    """``trials`` settings of every dimension of ``name``'s space (on ``problem``):
    points 1..trials of the Halton sequence in as many dimensions, shifted modulo 1 by a
    uniform vector drawn with ``seed`` (a Cranley–Patterson rotation), mapped onto each
    range."""
    dimensions = space(name, problem)
    shift = np.random.default_rng(seed).random(len(dimensions))
    settings = []
    for i in range(1, trials + 1):
        point = (np.array([_radical_inverse(i, p) for p in _PRIMES[: len(dimensions)]]) + shift) % 1
        settings.append({d.name: d.at(float(u)) for d, u in zip(dimensions, point)})
    return settings


_PRIMES = (2, 3, 5, 7, 11, 13, 17, 19)


def _radical_inverse(i: int, base: int) -> float:
    """``i``'s digits in ``base`` mirrored about the point: the Halton coordinate."""
    value, scale = 0.0, 1.0 / base
    while i:
        i, digit = divmod(i, base)
        value += digit * scale
        scale /= base
    return value
