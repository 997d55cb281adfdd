"""The model an experiment's setting trains: its network, or its noisy function's point."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .. import functions, problems
from ..backend import Backend
from ..nn import MLP, Model, Point
from .settings import Setting

__all__ = ["function_of", "make_model"]


def function_of(setting: Setting) -> functions.Function | None:
    """The setting's noisy function, or None when it trains a network."""
    problem = problems.PROBLEMS.get(setting.problem)
    return None if problem is None or problem.function is None else functions.get(problem.function)


def make_model(
    setting: Setting,
    seeds: int | Sequence[int],
    backend: Backend | None = None,
    params: Any = None,
) -> Model:
    """The setting's model on ``backend`` (None: the host, NumPy): one network for an int
    seed, members for a sequence of seeds; holding ``params`` if given (``([K,] size)``),
    else freshly initialized."""
    where = {} if backend is None else {"device": backend.device, "xp": backend.xp}
    seed = seeds if isinstance(seeds, int) else list(seeds)
    function = function_of(setting)
    if function is not None:
        return Point(function, seed=seed, dtype=setting.dtype, params=params, **where)
    return MLP(
        setting.layers,
        setting.activation,
        setting.output,
        seed=seed,
        dtype=setting.dtype,
        init=setting.init,
        params=params,
        **where,
    )
