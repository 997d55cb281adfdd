"""Search spaces: the hyper-parameters tuned per optimizer, and the trials drawn from them.

Every optimizer gets the same budget — the same number of trials and epochs — over
its own space. A space names each tuned hyper-parameter with its range and scale;
the learning rate always comes first. ``grid`` varies the learning rate alone, on a
log scale over its range, the other hyper-parameters at their defaults; ``random``
draws every dimension of the space from a scrambled Sobol' sequence seeded by the
search seed (quasi-random: evenly spread in every dimension for any number of trials).

The ranges are declared on each optimizer's class (``Hyperparameter(..., search=...)``)
and come from the literature:

* **Learning rate**: every range spans :data:`LR_DECADES` (four) decades, so a grid of
  ``N`` points has the same density for every optimizer, ``(N - 1) / 4`` steps per
  decade (the default ``--grid 8``: 1.75, neighbours ``10**(4/7) ≈ 3.7x`` apart). Each
  is DeepOBS's suggested ``1e-5…1e2`` (Schneider, Balles & Hennig 2019) cut to four
  decades around its family and contains AlgoPerf's range for it (Dahl et al. 2023,
  ``reference_algorithms/paper_baselines/*/tuning_search_space.json``): the Adam family
  and RMSprop ``1e-5…1e-1``, centred on AlgoPerf's AdamW/NAdamW ``1e-4…1e-2``; SGD,
  momentum, Nesterov, AdaGrad and Schedule-Free SGD ``1e-3…1e1``, containing AlgoPerf's
  Nesterov ``2e-2…5``; Lion ``1e-6…1e-2``, the Adam family's divided by ten (Chen et al.
  2023: Lion's rate 3–10x smaller than AdamW's); Adafactor ``1e-4…1``, containing
  AlgoPerf's ``1e-4…1e-2``; Muon ``1e-4…1``, Prodigy's multiplier ``1e-3…1e1`` and
  AdaDelta's ``1e-1…1e3`` (its rate multiplies Zeiler's unit step; the report's 100)
  around their defaults.
* **Momentum and beta1** (log scale of ``1 - beta``): ``0.5…0.996``, the union of
  AlgoPerf's ``1 - beta1`` ranges (AdamW ``2e-2…0.5``, NAdamW ``4e-3…0.1``, Nesterov
  ``5e-3…0.3``, Adafactor ``1e-2…0.45``, LAMB ``5e-2…0.3``); Adan keeps its paper's
  neighbourhoods of 0.98, 0.92 and 0.99 (Xie et al. 2022).
* **beta2**: ``0.99…0.9999``, Kingma & Ba's (2015) sweep {0.99, 0.999, 0.9999}; SOAP's
  ``0.9…0.999`` around its 0.95 (Vyas et al. 2024); Lion's ``0.9…0.999`` around its
  0.99 (0.98 for language models).
* **Decay of RMSprop and AdaDelta**: ``0.8…0.999``, containing Tieleman & Hinton's
  (2012) 0.9, torch's 0.99 and Zeiler's (2012) 0.95.
* **Weight decay**, by how the rule applies it. Decoupled (``w *= 1 - lr * wd``: AdamW,
  NAdamW, Schedule-Free AdamW, SOAP, Muon, Adafactor, Adan, AdaBelief, Prodigy):
  ``1e-5…1``, AlgoPerf's AdamW/NAdamW ``5e-3…1`` (Adafactor's and LAMB's ``1e-3…1``)
  widened down to where it does next to nothing; Lion's ``1e-4…10``, ten times that
  (Chen et al. 2023: Lion's decay 3–10x AdamW's). L2 in the gradient (``g + wd * w``:
  SGD, momentum, Nesterov, AdaGrad, RMSprop, AdaDelta, Adam, AMSGrad, NAdam, RAdam,
  Adamax, AdEMAMix, Schedule-Free SGD): ``1e-7…1e-3``, containing AlgoPerf's Nesterov
  ``1e-7…5e-5`` and the ``1e-4``/``5e-4`` of ImageNet and CIFAR ResNets (He et al. 2016).
* The rest around their papers' defaults: AdEMAMix's beta3 ``0.999…0.99999`` and alpha
  ``1…10`` (Pagliardini et al. 2024: 0.9999, 5–10), Prodigy's d0 ``1e-8…1e-2``
  (Mishchenko & Defazio 2023: 1e-6), Muon's AdamW rate ``1e-4…1e-1``.

``tests/test_spaces.py`` checks the declared ranges against these sources.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .. import optimizers, problems
from ..errors import ConfigError

__all__ = ["LR_DECADES", "SPACES", "Dimension", "grid", "random", "space"]

#: How many decades every learning-rate range spans: a grid of ``N`` points has
#: ``(N - 1) / LR_DECADES`` steps per decade for every optimizer.
LR_DECADES = 4


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
        to six significant digits (what a results file and a legend show); on the
        ``"log1m"`` scale six digits of ``1 - x``, which the scale spreads (six of ``x``
        would leave 0.99998 one digit)."""
        if self.scale == "linear":
            value = self.low + u * (self.high - self.low)
        elif self.scale == "log1m":
            rest = math.exp(
                math.log1p(-self.low) + u * (math.log1p(-self.high) - math.log1p(-self.low))
            )
            return 1.0 - float(f"{rest:.6g}")
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
    :data:`LR_DECADES` decades centred on its default (``[lr / 100, 100 lr]``).

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
    half = 10.0 ** (LR_DECADES / 2)
    return (_lr(lr / half, lr * half), *dimensions)


def grid(name: str, points: int, problem: str | None = None) -> list[dict[str, float]]:
    """``points`` learning rates, log-spaced over the range of ``name``'s space (on
    ``problem``), both ends included (one point: the range's geometric middle): on a range
    of :data:`LR_DECADES` decades, ``(points - 1) / LR_DECADES`` steps per decade."""
    lr = space(name, problem)[0]
    if points == 1:
        return [{"lr": lr.at(0.5)}]
    return [{"lr": lr.at(i / (points - 1))} for i in range(points)]


def random(name: str, trials: int, seed: int, problem: str | None = None) -> list[dict[str, float]]:
    """``trials`` settings of every dimension of ``name``'s space (on ``problem``): the
    first ``trials`` points of a scrambled Sobol' sequence in as many dimensions
    (:class:`scipy.stats.qmc.Sobol`, its scrambling drawn from ``seed``: another seed,
    another sequence of the same evenness), mapped onto each range.

    Sobol' rather than Halton: the first ``2**m`` points of a Sobol' sequence put one point
    in each interval ``[k / 2**m, (k + 1) / 2**m)`` of every dimension (a (0, m, 1)-net in
    each), and scrambling keeps that, so any ``n >= 2`` trials give every dimension ``n``
    distinct values spread over its range (the default 8 trials are a whole net); Halton's
    coordinate in base ``p`` (17 for the seventh dimension) needs ``p`` points to cover its
    range once. A budget that is not a power of two takes the sequence's first points,
    still in distinct strata of every dimension.
    """
    dimensions = space(name, problem)
    points = _sobol(len(dimensions), trials, seed)
    return [{d.name: d.at(float(u)) for d, u in zip(dimensions, point)} for point in points]


def _sobol(dimensions: int, n: int, seed: int) -> np.ndarray:
    """The first ``n`` points of the scrambled Sobol' sequence of ``seed`` in ``[0, 1)``."""
    from scipy.stats import qmc  # here, not at the top: importing it takes half a second

    rng = np.random.default_rng(seed)
    try:
        engine = qmc.Sobol(dimensions, scramble=True, rng=rng)
    except TypeError:  # scipy < 1.15 calls it seed
        engine = qmc.Sobol(dimensions, scramble=True, seed=rng)
    # whole powers of two: the same points as random(n), without its warning about balance
    return engine.random_base2((n - 1).bit_length())[:n]
