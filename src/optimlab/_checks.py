"""Argument checks shared by the library and the command line: one sentence each."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .errors import ConfigError


def positive_int(name: str, value: Any) -> int:
    """``value`` as an int >= 1, or a :class:`ConfigError` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ConfigError(f"{name} must be a positive integer, not {value!r}")
    return int(value)


def noise(problem: str, value: Any, has_noise: bool) -> float:
    """``value`` as a float ``>= 0``: the standard deviation of a noisy function's samples
    (``--noise``), refused on a ``problem`` without a noise model unless it is 0."""
    try:
        level = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"--noise takes a number >= 0, not {value!r}") from None
    if isinstance(value, bool) or not np.isfinite(level) or level < 0:
        raise ConfigError(f"--noise takes a finite number >= 0, not {value!r}")
    if level and not has_noise:
        raise ConfigError(f"--noise does not apply to {problem}: it has no noise model")
    return level


def seeds(seed: int | Sequence[int], members: int | None, what: str = "seeds") -> list[int]:
    """One seed per member: an int ``s`` gives ``s, s+1, ...``; a sequence is used as is.

    ``members`` is None for a single network (one seed). Seeds must be integers >= 0,
    as :func:`numpy.random.default_rng` requires.
    """
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        count = 1 if members is None else positive_int("members", members)
        chosen = [int(seed) + k for k in range(count)]
    else:
        try:
            chosen = [_integer(s) for s in seed]
        except (TypeError, ValueError):
            raise ConfigError(
                f"{what} must be an integer or a sequence of integers, not {seed!r}"
            ) from None
        if not chosen or (members is not None and members != len(chosen)):
            target = "a single network" if members is None else f"{members} members"
            raise ConfigError(f"{len(chosen)} {what} given for {target}")
    negative = [s for s in chosen if s < 0]
    if negative:
        raise ConfigError(f"{what} must be integers >= 0, not {negative[0]}")
    return chosen


def _integer(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(value)
    return int(value)
