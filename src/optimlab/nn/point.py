"""A noisy function's point as a trainable model: what the Trainer steps in place of a network.

:class:`Point` holds ``theta`` (``([K,] dim)``, one row per member) for an
:class:`Objective` (such as :class:`optimlab.problems.functions.Function`) and offers
what :class:`optimlab.Trainer` uses of a model: :meth:`views`, :meth:`targets`,
``passes.backward`` (the gradient of a batch's mean loss) and :meth:`arrays`. The samples of a batch are the rows of a
:class:`~optimlab.datasets.Dataset` whose labels are all 0 (a function has no
classes), so the Trainer's shuffles, batches, members, checkpoints and CUDA graphs
apply unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from .. import _checks
from ..backend import Backend, resolve
from ..errors import ConfigError

__all__ = ["Objective", "Point"]


class Objective(Protocol):
    """What a :class:`Point` trains: a loss over samples and its gradient, written with
    the array namespace ``xp`` it is given (so it runs on any Array API library)."""

    #: Its name, for messages.
    name: str
    #: Dimensions of the point ``theta``.
    dim: int
    #: ``theta`` at the start, ``(dim,)``, on the host.
    start: np.ndarray

    def constants(self, backend: Backend, dtype: Any) -> Any:
        """What :meth:`loss` and :meth:`gradient` need on the device (or None)."""

    def loss(self, xp: Any, constants: Any, theta: Any, x: Any) -> Any:
        """Each sample's loss, ``([K,] n)``, at ``theta`` ``([K,] dim)`` for the samples
        ``x`` ``(n, dim)``."""

    def gradient(self, xp: Any, constants: Any, theta: Any, mean: Any) -> Any:
        """The gradient of a batch's mean loss at ``theta``, from the batch's mean
        sample ``mean`` ``([K,] dim)`` (the loss is linear in the samples)."""


class Point:
    """The point ``theta`` of a noisy function, trained like a network's parameters.

    Parameters
    ----------
    function
        The :class:`Objective` (DeepOBS's: :class:`optimlab.problems.functions.Function`).
    seed
        As for :class:`~optimlab.MLP` (a list makes members); every member starts at the
        function's start point, so the seed only draws the shuffles.
    device, dtype, xp, params
        As for :class:`~optimlab.MLP`.
    """

    def __init__(
        self,
        function: Objective,
        *,
        seed: int | Sequence[int] = 0,
        device: str | Any = "cpu",
        dtype: str | Any = "float32",
        xp: Any = None,
        params: Any = None,
    ) -> None:
        self.function = function
        #: ``(dim,)``: the data's features, as a network's layer sizes start with them.
        self.layers = (function.dim,)
        self.size = function.dim
        self.backend: Backend = resolve(device, xp)
        self.xp, self.device = self.backend.xp, self.backend.device
        self.dtype = self.backend.dtype(dtype)
        self.dtype_name = "float64" if self.dtype == self.xp.float64 else "float32"
        single = isinstance(seed, int) and not isinstance(seed, bool)
        self.seeds = _checks.seeds(seed, None)
        self.members = None if single else len(self.seeds)
        lead = () if single else (self.members,)
        if params is None:
            params = self.backend.asarray(
                np.broadcast_to(function.start, (*lead, self.size)).copy(), dtype=self.dtype
            )
        elif tuple(getattr(params, "shape", ())) != (*lead, self.size):
            raise ConfigError(f"params must be an array of shape {(*lead, self.size)}")
        self.params = params
        self.constants = function.constants(self.backend, self.dtype)
        #: The hot path, as a network's ``passes``.
        self.passes = self
        #: Where its parts sit in the flat vector, as a network's ``layout``.
        self.layout = _PointLayout(self.size)

    def views(self, params: Any = None) -> list[Any]:
        """``[params]`` (default :attr:`params`): the point is its own only "layer"."""
        return [self.params if params is None else params]

    def targets(self, labels: Any) -> Any:
        """One column of zeros per sample: the batches carry no targets."""
        return self.xp.zeros((labels.shape[0], 1), dtype=self.dtype, device=self.device)

    def backward(self, views: list[Any], x: Any, y: Any, out: list[Any] | None = None) -> Any:
        """The gradient of the batch's mean loss at ``views[0]`` for the samples ``x``
        (``([K,] B, dim)``), written into ``out[0]`` when given, else returned."""
        mean = self.xp.mean(x, axis=-2)
        grad = self.function.gradient(self.xp, self.constants, views[0], mean)
        if out is None:
            return grad
        out[0][...] = grad
        return out[0]

    def losses(self, params: Any, x: Any) -> Any:
        """Each sample's loss ``([K,] n)`` at ``params`` for the samples ``x`` ``(n, dim)``."""
        return self.function.loss(self.xp, self.constants, params, x)

    def __repr__(self) -> str:
        name, backend = self.function.name, self.backend.name
        return f"Point({name!r}, dtype={self.dtype_name!r}, backend={backend!r})"


class _PointLayout:
    """A point's layout: one vector, no biases."""

    def __init__(self, size: int) -> None:
        self.size = size

    def arrays(self, xp: Any, flat: Any) -> list[Any]:
        """What a shape-aware optimizer updates: the point, a vector ``([K,] dim)``."""
        return [flat]

    def bias_mask(self) -> np.ndarray:
        """No entry of a point is a bias (``decay_biases=False`` decays all of it)."""
        return np.zeros(self.size)
