"""Where each layer's parameters sit in the one flat vector, and how they start.

All parameters of a network live in **one flat vector** (weights then bias of
layer 1, then layer 2, ...); the per-layer matrices are views of it. An
elementwise optimizer then updates every layer with a handful of array
operations instead of a handful per layer, which is what a batch-10 step costs.
With K members the vector gets a leading member axis, ``(K, size)``, and each
layer's views are ``(K, out, in)`` (splitting the last axis of a slice keeps it a
view).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from ..errors import ConfigError

__all__ = ["Layer", "Layout", "Slice", "check_layers"]


class Slice(NamedTuple):
    """One layer's place in the flat vector: ``[w, b)`` weights, ``[b, end)`` biases."""

    w: int
    b: int
    end: int
    out: int
    inp: int


class Layer(NamedTuple):
    """Views of one layer's parameters in the flat vector."""

    #: Weights, ``([K,] out, in)``.
    w: Any
    #: Their transpose, ``([K,] in, out)`` (what the forward pass multiplies by).
    wt: Any
    #: Biases, ``([K,] 1, out)``: a unit batch axis, so they broadcast over a batch.
    b: Any


class Layout:
    """The flat-vector layout of a fully connected network with sizes ``layers``."""

    def __init__(self, layers: Sequence[int]) -> None:
        self.layers = check_layers(layers)
        self.slices: list[Slice] = []
        start = 0
        for fan_in, fan_out in zip(self.layers[:-1], self.layers[1:]):
            bias = start + fan_out * fan_in
            self.slices.append(Slice(start, bias, bias + fan_out, fan_out, fan_in))
            start = bias + fan_out
        #: Number of parameters of one network.
        self.size = start

    def views(self, xp: Any, params: Any) -> list[Layer]:
        """The :class:`Layer` views of ``params`` (shape ``([K,] size)``), layer by layer.

        Views where the library makes views of slices and reshapes (NumPy, CuPy,
        PyTorch); copies on the others.
        """
        lead = tuple(params.shape[:-1])
        views = []
        for s in self.slices:
            weights = xp.reshape(params[..., s.w : s.b], (*lead, s.out, s.inp))
            biases = xp.reshape(params[..., s.b : s.end], (*lead, 1, s.out))
            views.append(Layer(weights, xp.matrix_transpose(weights), biases))
        return views

    def arrays(self, xp: Any, flat: Any) -> list[Any]:
        """What a shape-aware optimizer updates of ``flat`` (parameters or gradients,
        ``([k,] size)``): each layer's weight matrix ``([k,] out, in)`` and bias vector
        ``([k,] out)``, as views."""
        lead = tuple(flat.shape[:-1])
        return [
            a for layer in self.views(xp, flat) for a in (layer.w, xp.reshape(layer.b, (*lead, -1)))
        ]

    def bias_mask(self) -> np.ndarray:
        """A host vector of :attr:`size`: 1 on the bias coordinates, 0 on the weights."""
        mask = np.zeros(self.size)
        for s in self.slices:
            mask[s.b : s.end] = 1.0
        return mask

    def check_input(self, x: Any) -> None:
        """A :class:`ConfigError` unless ``x`` is a batch ``([K,] batch, layers[0])``."""
        if x.ndim < 2 or x.shape[-1] != self.layers[0]:
            raise ConfigError(
                f"input of shape {tuple(x.shape)} does not fit the network: expected "
                f"(batch, {self.layers[0]})"
            )

    def initial_params(
        self, seeds: Sequence[int], members: bool, init: str = "uniform"
    ) -> np.ndarray:
        """Host parameters per seed, drawn by the scheme ``init`` (see :data:`INITS`).

        Each member draws its layers in order from its own
        ``numpy.random.default_rng(seed)``, so member k equals the single network
        with seed ``seeds[k]``. Shape ``(size,)``, or ``(K, size)`` with ``members``.
        """
        draw = _DRAW.get(init)
        if draw is None:
            raise ConfigError(f"unknown initialization {init!r}; choose from {', '.join(INITS)}")
        rows = []
        for seed in seeds:
            rng = np.random.default_rng(seed)
            parts = []
            for s in self.slices:
                w, b = draw(rng, s.out, s.inp)
                parts += [w.ravel(), b]
            rows.append(np.concatenate(parts))
        return np.stack(rows) if members else rows[0]


def _uniform(rng: np.random.Generator, out: int, inp: int) -> tuple[np.ndarray, np.ndarray]:
    return rng.uniform(-1.0, 1.0, (out, inp)) * math.sqrt(1.0 / inp), rng.uniform(-1.0, 1.0, out)


def _truncated_normal(
    rng: np.random.Generator, out: int, inp: int
) -> tuple[np.ndarray, np.ndarray]:
    # TensorFlow's truncated normal: draws beyond two standard deviations are redrawn
    w = rng.normal(0.0, 1.0, (out, inp))
    while (outside := np.abs(w) > 2.0).any():
        w[outside] = rng.normal(0.0, 1.0, int(outside.sum()))
    return 3e-2 * w, np.zeros(out)


def _zeros(rng: np.random.Generator, out: int, inp: int) -> tuple[np.ndarray, np.ndarray]:
    return np.zeros((out, inp)), np.zeros(out)


_DRAW = {"uniform": _uniform, "truncated_normal": _truncated_normal, "zeros": _zeros}
#: The initializations: ``"uniform"`` (the report's: ``W ~ U(-1, 1) sqrt(1 / fan_in)``,
#: ``b ~ U(-1, 1)``), ``"truncated_normal"`` (DeepOBS's MLPs: ``W ~ N(0, 0.03²)``
#: redrawn beyond two standard deviations, ``b = 0``) and ``"zeros"`` (DeepOBS's
#: logistic regression: every parameter 0).
INITS = tuple(_DRAW)


def check_layers(layers: Sequence[int]) -> tuple[int, ...]:
    try:
        sizes = tuple(int(n) for n in layers)
    except (TypeError, ValueError):
        raise ConfigError(
            f"layers must be a sequence of positive integers, not {layers!r}"
        ) from None
    if len(sizes) < 2 or any(n < 1 for n in sizes) or sizes != tuple(layers):
        raise ConfigError(
            "layers must list at least two positive integer sizes (input ... output), "
            f"not {list(layers)}"
        )
    return sizes
