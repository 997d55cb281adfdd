"""The multilayer perceptron: the public face of the network.

:class:`MLP` holds the architecture, the backend and the parameters, checks its
input and offers the whole-network operations (logits, loss, gradient, copies,
files). It is built from three parts, each in its own module:
:mod:`~optimlab.nn.layout` (where each layer sits in the one flat parameter
vector, and the initialization), :mod:`~optimlab.nn.passes` (the forward and
backward passes, the hot path) and :mod:`~optimlab.nn.files` (model files).

**Members.** ``MLP(..., members=K)`` holds K independent networks: the
parameters get a leading member axis, ``(K, size)``, and each layer's view is
``(K, out, in)``. The forward and backward passes are the same code: ``matmul``
and elementwise operations broadcast over the member axis, and batches have
shape ``(K, batch, features)``. A range of members is a contiguous block, so an
optimizer can update a group of members with one set of operations.

**What training uses** is public: :meth:`MLP.views`, :meth:`MLP.targets`,
and ``MLP.passes`` (:class:`~optimlab.nn.passes.Passes`: ``forward`` and
``backward`` on layer views, unchecked) serve loops that own their arrays, such
as :class:`optimlab.Trainer`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from numbers import Integral
from pathlib import Path
from typing import Any

from .. import _checks
from ..backend import Backend, resolve, to_numpy
from ..errors import ConfigError, ModelFileError
from . import activations, files, losses
from .layout import Layer, Layout
from .passes import Passes

__all__ = ["MLP"]


class MLP:
    """A fully connected network with one activation for its hidden layers.

    Parameters
    ----------
    layers, activation
        Sizes from input to output (``[784, 30, 10]``); the hidden layers' activation,
        ``"sigmoid"`` (the report's), ``"tanh"`` or ``"relu"``.
    output
        ``"sigmoid"`` (independent sigmoids with binary cross-entropy summed over the
        outputs, the report's) or ``"softmax"`` (softmax with cross-entropy).
    seed
        Seed (>= 0) of the initialization (:meth:`~optimlab.nn.layout.Layout.initial_params`);
        with members, one per member, or an int ``s`` for ``s, s+1, ...``.
    members
        ``None`` (default) for one network; ``K`` for K networks trained side by side.
    device
        ``"cpu"`` (NumPy), ``"cuda"`` (CuPy), or with ``xp`` a device object of that namespace.
    dtype
        ``"float32"`` (default) or ``"float64"``.
    xp
        An Array API namespace (``array_api_strict``, ...) instead of the one ``device`` names.
    params, init
        Flat parameters of shape ``([K,] size)`` (not copied), or how to draw them:
        ``"uniform"`` (the report's), ``"truncated_normal"``, ``"zeros"`` (``INITS``).

    Examples
    --------
    >>> MLP([784, 30, 10], seed=0).size
    23860
    """

    def __init__(
        self,
        layers: Sequence[int] = (784, 30, 10),
        activation: str = "sigmoid",
        output: str = "sigmoid",
        *,
        seed: int | Sequence[int] = 0,
        members: int | None = None,
        device: str | Any = "cpu",
        dtype: str | Any = "float32",
        xp: Any = None,
        params: Any = None,
        init: str = "uniform",
    ) -> None:
        self.layout = Layout(layers)
        #: Layer sizes, and the number of parameters of one network.
        self.layers, self.size = self.layout.layers, self.layout.size
        self.activation = activations.get(activation)
        self.output = losses.get(output)
        self.backend: Backend = resolve(device, xp)
        #: The array namespace of the parameters, and the device holding them.
        self.xp, self.device = self.backend.xp, self.backend.device
        self.dtype = self.backend.dtype(dtype)
        #: ``"float32"`` or ``"float64"``.
        self.dtype_name = "float64" if self.dtype == self.xp.float64 else "float32"
        single = members is None and isinstance(seed, Integral) and not isinstance(seed, bool)
        self.seeds = _checks.seeds(seed, members)
        #: Number of member networks, or ``None`` for a single network.
        self.members = None if single else len(self.seeds)
        self._lead = () if single else (self.members,)
        if params is None:
            host = self.layout.initial_params(self.seeds, members=not single, init=init)
            params = self.backend.asarray(host, dtype=self.dtype)
        elif not hasattr(params, "shape") or tuple(params.shape) != (*self._lead, self.size):
            shape = tuple(params.shape) if hasattr(params, "shape") else type(params).__name__
            raise ConfigError(
                f"params must be an array of shape {(*self._lead, self.size)} for layers "
                f"{self.layers}, not {shape}"
            )
        self.params = params
        self.passes = Passes(
            self.activation, self.output, self.layers[-1], self.xp, self.dtype, self.device
        )

    # -- layer views and the hot path ----------------------------------------------------

    def views(self, params: Any = None) -> list[Layer]:
        """Each layer's :class:`~optimlab.nn.layout.Layer` ``(w, wt, b)``: views of
        ``params`` (default :attr:`params`), ``w`` of shape ``([K,] out, in)``."""
        return self.layout.views(self.xp, self.params if params is None else params)

    @property
    def weights(self) -> list[Any]:
        """Weight matrices, each of shape ``(out, in)`` (views of :attr:`params`)."""
        return [layer.w for layer in self.views()]

    @property
    def biases(self) -> list[Any]:
        """Bias vectors, each of shape ``(out,)``."""
        return [self.xp.reshape(layer.b, (*layer.b.shape[:-2], -1)) for layer in self.views()]

    def targets(self, labels: Any) -> Any:
        """Integer labels -> one-hot rows of the parameters' dtype; other targets unchanged."""
        return self.passes.targets(labels)

    # -- forward, cost, backward ---------------------------------------------------------

    def logits(self, x: Any, params: Any = None) -> Any:
        """Pre-activations ``z`` of the output layer, shape ``(..., batch, outputs)``."""
        self.layout.check_input(x)
        return self.passes.forward(self.views(params), x)[1]

    def forward(self, x: Any, params: Any = None) -> Any:
        """Output activations (probabilities), shape ``(..., batch, outputs)``."""
        return self.output(self.xp, self.logits(x, params))

    def predict(self, x: Any, params: Any = None) -> Any:
        """The predicted class of each sample (its largest output): integers, ``(..., batch)``."""
        return self.xp.argmax(self.logits(x, params), axis=-1)

    def loss(self, x: Any, y: Any, params: Any = None) -> Any:
        """Mean cost per sample over the batch in nats (a 0-d array; ``(...,)`` with leading axes).

        ``y`` holds integer class labels of shape ``(..., batch)`` or targets of the
        output's shape (one-hot rows).
        """
        z = self.logits(x, params)
        return self.xp.mean(self.output.cost(self.xp, z, self.targets(y)), axis=-1)

    def gradient(self, x: Any, y: Any, params: Any = None) -> Any:
        """Gradient of :meth:`loss` with respect to the flat parameters, shape of ``params``.

        Backpropagation: ``delta_L = (a_L - y) / batch`` at the output, then
        ``delta_l = (delta_{l+1} @ W_{l+1}) * f'(z_l)``; ``dW_l = delta_l.T @ a_{l-1}``
        and ``db_l = sum(delta_l)`` over the batch.
        """
        self.layout.check_input(x)
        return self.passes.backward(self.views(params), x, self.targets(y))

    # -- copies, devices and files -------------------------------------------------------

    def config(self) -> dict[str, Any]:
        """The architecture as plain Python values (layers, activation, output, dtype)."""
        return {
            "layers": list(self.layers),
            "activation": self.activation.name,
            "output": self.output.name,
            "dtype": self.dtype_name,
            "members": self.members,
        }

    def member(self, k: int) -> MLP:
        """Member ``k`` as a network of its own (a copy), on the same backend."""
        if self.members is None:
            raise ConfigError("this network has no members")
        if not 0 <= k < self.members:
            raise ConfigError(f"member {k} does not exist: there are {self.members}")
        config = {**self.config(), "members": None}
        params = self.xp.asarray(self.params[k, ...], copy=True)
        return MLP(**config, seed=self.seeds[k], device=self.device, xp=self.xp, params=params)

    def replace(self, params: Any) -> MLP:
        """A model of the same architecture and backend holding ``params``."""
        return MLP(**self.config(), seed=self.seeds, device=self.device, xp=self.xp, params=params)

    def to(self, device: str | Any = "cpu", *, xp: Any = None, dtype: str | Any = None) -> MLP:
        """A copy on another device (and optionally in another dtype)."""
        config = self.config()
        if dtype is not None:
            config["dtype"] = dtype
        backend = resolve(device, xp)
        params = backend.asarray(to_numpy(self.params), dtype=backend.dtype(config["dtype"]))
        return MLP(**config, device=backend.device, xp=backend.xp, params=params)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the model to ``path`` atomically (see :func:`optimlab.nn.files.write`)."""
        host = to_numpy(self.params).astype(self.dtype_name)
        return files.write(path, self.config(), self.seeds, host)

    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str],
        *,
        device: str | Any = "cpu",
        dtype: str | Any = None,
        xp: Any = None,
    ) -> MLP:
        """Read a model written by :meth:`save` onto ``device``; a :class:`ModelFileError`
        if it is missing, unreadable or invalid. ``dtype`` defaults to the file's."""
        config, host = files.read(path)
        backend = resolve(device, xp)
        dtype = dtype if dtype is not None else config.pop("dtype")
        config.pop("dtype", None)
        try:
            params = backend.asarray(host, dtype=backend.dtype(dtype))
            return cls(**config, device=backend.device, xp=backend.xp, dtype=dtype, params=params)
        except ConfigError as error:
            raise ModelFileError(
                f"model file {path} does not describe a valid network: {error}"
            ) from None

    def __repr__(self) -> str:
        return (
            f"MLP({list(self.layers)}, activation={self.activation.name!r}, "
            f"output={self.output.name!r}, dtype={self.dtype_name!r}, "
            f"backend={self.backend.name!r})"
        )
