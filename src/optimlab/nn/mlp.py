"""The multilayer perceptron: parameters, forward pass, cost and backward pass.

Row-major throughout: a batch is an array of shape ``(batch, features)``.
Layer ``l`` computes ``z = a_prev @ W.T + b`` and ``a = f(z)`` with ``W`` of
shape ``(out, in)``; the output layer's activation belongs to its cost
(:mod:`optimlab.nn.losses`).

All parameters live in **one flat vector** (weights then bias of layer 1, then
layer 2, ...). The per-layer matrices are views of it. An optimizer then
updates every layer with a handful of array operations instead of a handful
per layer, which is what a batch-10 step costs.

**Members.** ``MLP(..., members=K)`` holds K independent networks: the
parameters get a leading member axis, ``(K, size)``, and each layer's view is
``(K, out, in)`` (splitting the last axis of a slice keeps it a view). The
forward and backward passes are the same code: ``matmul`` and elementwise
operations broadcast over the member axis, and batches have shape
``(K, batch, features)``. A range of members is a contiguous block, so an
optimizer can update a group of members with one set of operations.
"""

from __future__ import annotations

import json
import math
import os
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from . import activations, losses
from .._files import atomic_write
from ..backend import Backend, fast_paths, resolve, to_numpy
from ..errors import ConfigError, ModelFileError

__all__ = ["MLP"]

_FORMAT = "optimlab.mlp"
_FORMAT_VERSION = 1


class MLP:
    """A fully connected network with one activation for its hidden layers.

    Parameters
    ----------
    layers
        Sizes from input to output, for example ``[784, 30, 10]``.
    activation
        Hidden-layer activation: ``"sigmoid"`` (the report's), ``"tanh"`` or ``"relu"``.
    output
        ``"sigmoid"`` (independent sigmoids with binary cross-entropy summed over the
        outputs, the report's) or ``"softmax"`` (softmax with cross-entropy).
    seed
        Seed of the initialization: ``W ~ U(-1, 1) * sqrt(1 / fan_in)``, ``b ~ U(-1, 1)``,
        drawn on the host with ``numpy.random.default_rng(seed)`` layer by layer. With
        members, one seed per member (a sequence), or an int ``s`` for ``s, s+1, ...``.
    members
        ``None`` (default) for one network; ``K`` for K networks trained side by side.
    device
        ``"cpu"`` (NumPy), ``"cuda"`` (CuPy), or with ``xp`` a device object of that namespace.
    dtype
        ``"float32"`` (default) or ``"float64"``.
    xp
        An Array API namespace (``array_api_strict``, ``array_api_compat.torch``, ...) to use
        instead of the one ``device`` names.
    params
        Initial flat parameter vector of shape ``(size,)``, instead of the random initialization.
        It is used as it is (not copied).

    Examples
    --------
    >>> model = MLP([784, 30, 10], seed=0)
    >>> model.size
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
    ) -> None:
        self.layers = _check_layers(layers)
        self.activation = activations.get(activation)
        self.output = losses.get(output)
        self.backend: Backend = resolve(device, xp)
        self.dtype = self.backend.dtype(dtype)
        #: ``"float32"`` or ``"float64"``.
        self.dtype_name = "float64" if self.dtype == self.xp.float64 else "float32"
        self.seeds = _check_seeds(seed, members)
        #: Number of member networks, or ``None`` for a single network.
        single = members is None and isinstance(seed, (int, np.integer))
        self.members = None if single else len(self.seeds)
        self._lead = () if single else (self.members,)
        # (start of W, start of b, end of b, out, in) for each layer, in the flat vector.
        self._slices: list[tuple[int, int, int, int, int]] = []
        start = 0
        for fan_in, fan_out in zip(self.layers[:-1], self.layers[1:]):
            bias = start + fan_out * fan_in
            self._slices.append((start, bias, bias + fan_out, fan_out, fan_in))
            start = bias + fan_out
        #: Number of parameters of one network.
        self.size = start
        if params is None:
            params = self.backend.asarray(self._initial_params(), dtype=self.dtype)
        elif tuple(params.shape) != (*self._lead, self.size):
            raise ConfigError(
                f"params has shape {tuple(params.shape)}; "
                f"layers {self.layers} need shape {(*self._lead, self.size)}"
            )
        self.params = params
        self._ones: dict[int, Any] = {}
        # CuPy and PyTorch run the sigmoid chains in fewer operations (kernels on a GPU).
        self._fast = fast_paths(self.xp)  # resolved here, not in the step loop
        self._chains = self._fast.sigmoid_chains
        self._fused_hidden = self._chains is not None and self.activation.name == "sigmoid"
        self._fused_output = self._chains is not None and self.output.name == "sigmoid"

    @property
    def xp(self) -> Any:
        """The array namespace of the parameters."""
        return self.backend.xp

    @property
    def device(self) -> Any:
        """The device holding the parameters."""
        return self.backend.device

    def _initial_params(self) -> np.ndarray:
        # Each member draws its layers in order from its own generator, so member k
        # equals the single network with seed ``seeds[k]``.
        members = []
        for seed in self.seeds:
            rng = np.random.default_rng(seed)
            parts = []
            for fan_in, fan_out in zip(self.layers[:-1], self.layers[1:]):
                w = rng.uniform(-1.0, 1.0, (fan_out, fan_in)) * math.sqrt(1.0 / fan_in)
                parts += [w.ravel(), rng.uniform(-1.0, 1.0, fan_out)]
            members.append(np.concatenate(parts))
        return np.stack(members) if self._lead else members[0]

    # -- views of the flat vector -------------------------------------------------------

    def unflatten(self, params: Any = None) -> list[tuple[Any, Any]]:
        """``[(W, b), ...]`` per layer: ``W`` of shape ``([K,] out, in)``, ``b`` ``([K,] 1, out)``.

        Views of ``params`` (default: :attr:`params`) where the library makes views of
        slices (K: the members, if any); ``b`` keeps a unit batch axis so that it
        broadcasts against ``([K,] batch, out)``.
        """
        return [(layer.w, layer.b) for layer in self._views(params)]

    def _views(self, params: Any = None) -> list[_Layer]:
        p = self.params if params is None else params
        xp, lead = self.xp, self._lead
        views = []
        for w, b, end, fan_out, fan_in in self._slices:
            weights = xp.reshape(p[..., w:b], (*lead, fan_out, fan_in))
            biases = xp.reshape(p[..., b:end], (*lead, 1, fan_out))
            views.append(_Layer(weights, xp.matrix_transpose(weights), biases))
        return views

    @property
    def weights(self) -> list[Any]:
        """Weight matrices, each of shape ``(out, in)`` (views of :attr:`params`)."""
        return [w for w, _ in self.unflatten()]

    @property
    def biases(self) -> list[Any]:
        """Bias vectors, each of shape ``(out,)``."""
        return [self.xp.reshape(b, (*b.shape[:-2], b.shape[-1])) for _, b in self.unflatten()]

    # -- forward, cost, backward ---------------------------------------------------------

    def logits(self, x: Any, params: Any = None) -> Any:
        """Pre-activations ``z`` of the output layer, shape ``(..., batch, outputs)``."""
        self._check_input(x)
        return self._forward(self._views(params), x)[1]

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
        return self.xp.mean(self.output.cost(self.xp, z, self._targets(y)), axis=-1)

    def gradient(self, x: Any, y: Any, params: Any = None) -> Any:
        """Gradient of :meth:`loss` with respect to the flat parameters, shape of ``params``.

        Backpropagation: ``delta_L = (a_L - y) / batch`` at the output, then
        ``delta_l = (delta_{l+1} @ W_{l+1}) * f'(z_l)``; ``dW_l = delta_l.T @ a_{l-1}``
        and ``db_l = sum(delta_l)`` over the batch.
        """
        self._check_input(x)
        return self._gradient(self._views(params), x, self._targets(y))

    def _forward(self, views: list[_Layer], x: Any) -> tuple[list[Any], Any]:
        """Hidden activations ``[x, a_1, ..., a_{L-1}]`` and the output logits."""
        xp, f = self.xp, self.activation
        acts = [x]
        for layer in views[:-1]:
            z = acts[-1] @ layer.wt
            z += layer.b
            acts.append(self._chains.sigmoid_(z) if self._fused_hidden else f.apply_(xp, z))
        z = acts[-1] @ views[-1].wt
        z += views[-1].b
        return acts, z

    def _gradient(
        self, views: list[_Layer], x: Any, y: Any, out: list[_Layer] | None = None
    ) -> Any:
        """The flat gradient; or, given ``out`` (the views of a flat buffer), written into it.

        The hot path of training: no checks, no conversions, no host synchronization,
        and as few array operations as the mathematics allows. Writing into ``out``
        saves the reshapes and the concatenation where views follow their base.
        """
        xp = self.xp
        acts, z = self._forward(views, x)
        batch = x.shape[-2]
        if self._fused_output:
            delta = self._chains.sigmoid_error_(z, y, 1.0 / batch)
        else:
            delta = self.output.delta_(self.output.apply_(xp, z), y)
            delta *= 1.0 / batch
        ones = self._ones.get(batch)
        if ones is None:  # bias gradients as (1, batch) @ delta: cheaper than a sum
            ones = self._ones[batch] = xp.ones((1, batch), dtype=self.dtype, device=self.device)
        grads: list[Any] = []
        for i in range(len(views) - 1, -1, -1):
            a_prev = acts[i]
            if out is None:
                grad_w = xp.matrix_transpose(delta) @ a_prev
                lead = grad_w.shape[:-2]
                grads += [xp.reshape(ones @ delta, (*lead, -1)), xp.reshape(grad_w, (*lead, -1))]
            else:
                self._fast.matmul_into(ones, delta, out[i].b)
                self._fast.matmul_into(xp.matrix_transpose(delta), a_prev, out[i].w)
            if i:
                delta = delta @ views[i].w
                if self._fused_hidden:
                    self._chains.times_sigmoid_slope_(delta, a_prev)
                else:
                    delta *= self.activation.derivative(xp, a_prev)
        return xp.concat(grads[::-1], axis=-1) if out is None else None

    def _targets(self, y: Any) -> Any:
        """Integer labels -> one-hot rows of the parameters' dtype; other targets unchanged."""
        xp = self.xp
        if xp.isdtype(y.dtype, "integral"):
            classes = xp.arange(self.layers[-1], device=self.device)
            return xp.astype(y[..., None] == classes, self.dtype)
        return y

    def _check_input(self, x: Any) -> None:
        if x.ndim < 2 or x.shape[-1] != self.layers[0]:
            raise ConfigError(
                f"input of shape {tuple(x.shape)} does not fit the network: expected "
                f"(batch, {self.layers[0]})"
            )

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
        return MLP(**self.config(), device=self.device, xp=self.xp, params=params)

    def to(self, device: str | Any = "cpu", *, xp: Any = None, dtype: str | Any = None) -> MLP:
        """A copy on another device (and optionally in another dtype)."""
        config = self.config()
        if dtype is not None:
            config["dtype"] = dtype
        backend = resolve(device, xp)
        params = backend.asarray(to_numpy(self.params), dtype=backend.dtype(config["dtype"]))
        return MLP(**config, device=backend.device, xp=backend.xp, params=params)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the model to ``path`` atomically and return the path.

        A ``.json`` name writes the report's format: ``{"layers": [...], "weights":
        [...], "biases": [...]}`` with each weight matrix as nested lists of shape
        ``(out, in)`` (plus ``"activation"``/``"output"`` when they are not sigmoid).
        Any other name writes the portable NumPy ``.npz`` format, readable on any
        device. An existing file is replaced only once the new one is complete.
        """
        path = Path(path)
        host = to_numpy(self.params).astype(self.dtype_name)
        if path.suffix.lower() == ".json":
            if self.members is not None:
                raise ConfigError(
                    f"the report's JSON format holds one network, not {self.members} members: "
                    "save model.member(k), or use a .npz name"
                )
            doc: dict[str, Any] = {"layers": list(self.layers), "weights": [], "biases": []}
            for w, b, end, fan_out, fan_in in self._slices:
                doc["weights"].append(host[w:b].reshape(fan_out, fan_in).tolist())
                doc["biases"].append(host[b:end].tolist())
            for key in ("activation", "output"):
                if getattr(self, key).name != "sigmoid":
                    doc[key] = getattr(self, key).name
            with atomic_write(path, "w") as f:
                json.dump(doc, f)
        else:
            c = self.config()
            with atomic_write(path, "wb") as f:
                np.savez(
                    f,
                    format=np.array(_FORMAT),
                    version=np.array(_FORMAT_VERSION),
                    layers=np.array(c["layers"]),
                    activation=np.array(c["activation"]),
                    output=np.array(c["output"]),
                    seeds=np.array(self.seeds),
                    members=np.array(-1 if self.members is None else self.members),
                    params=host,
                )
        return path

    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str],
        *,
        device: str | Any = "cpu",
        dtype: str | Any = None,
        xp: Any = None,
    ) -> MLP:
        """Read a model written by :meth:`save` (either format) onto ``device``.

        ``dtype`` defaults to the file's (float64 for the report's JSON format).

        Raises
        ------
        ModelFileError
            The file is missing, unreadable, or does not describe a valid network.
        """
        path = Path(path)
        if not path.is_file():
            raise ModelFileError(f"model file {path} does not exist")
        if path.suffix.lower() == ".json":
            config, host = _read_json(path)
        else:
            config, host = _read_npz(path)
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


class _Layer(NamedTuple):
    """Views of one layer's parameters in the flat vector."""

    w: Any  # ([K,] out, in)
    wt: Any  # its transpose, ([K,] in, out)
    b: Any  # ([K,] 1, out)


def _check_seeds(seed: int | Sequence[int], members: int | None) -> list[int]:
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        if members is None:
            return [int(seed)]
        if isinstance(members, bool) or not isinstance(members, int) or members < 1:
            raise ConfigError(f"members must be a positive integer, not {members!r}")
        return [int(seed) + k for k in range(members)]
    try:
        seeds = [int(s) for s in seed]
    except (TypeError, ValueError):
        raise ConfigError(
            f"seed must be an integer or a sequence of integers, not {seed!r}"
        ) from None
    if not seeds or (members is not None and members != len(seeds)):
        raise ConfigError(f"{len(seeds)} seeds given for members={members}")
    return seeds


def _check_layers(layers: Sequence[int]) -> tuple[int, ...]:
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


def _read_json(path: Path) -> tuple[dict[str, Any], np.ndarray]:
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ModelFileError(f"model file {path} is not readable JSON: {error}") from None
    if not isinstance(doc, dict) or not {"layers", "weights", "biases"} <= doc.keys():
        raise ModelFileError(f"model file {path} lacks the keys 'layers', 'weights' and 'biases'")
    layers = doc["layers"]
    try:
        layers = _check_layers(layers)
        weights = [np.asarray(w, dtype=np.float64) for w in doc["weights"]]
        biases = [np.asarray(b, dtype=np.float64) for b in doc["biases"]]
    except (ConfigError, TypeError, ValueError) as error:
        raise ModelFileError(f"model file {path} holds malformed values: {error}") from None
    if len(weights) != len(layers) - 1 or len(biases) != len(layers) - 1:
        raise ModelFileError(
            f"model file {path} has {len(weights)} weight matrices and {len(biases)} bias vectors "
            f"for {len(layers) - 1} layers"
        )
    parts = []
    for i, (w, b) in enumerate(zip(weights, biases)):
        expected = (layers[i + 1], layers[i])
        if w.shape != expected or b.shape != expected[:1]:
            raise ModelFileError(
                f"model file {path}: layer {i + 1} has weights {w.shape} and biases {b.shape}, "
                f"expected {expected} and {expected[:1]}"
            )
        parts += [w.ravel(), b]
    config = {
        "layers": list(layers),
        "activation": doc.get("activation", "sigmoid"),
        "output": doc.get("output", "sigmoid"),
        "dtype": "float64",
    }
    return config, np.concatenate(parts)


def _read_npz(path: Path) -> tuple[dict[str, Any], np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as f:
            if str(f["format"]) != _FORMAT:
                raise ModelFileError(f"model file {path} is not an optimlab model")
            if int(f["version"]) > _FORMAT_VERSION:
                raise ModelFileError(
                    f"model file {path} has format version {int(f['version'])}; "
                    f"this optimlab reads up to {_FORMAT_VERSION}"
                )
            params = f["params"]
            config = {
                "layers": [int(n) for n in f["layers"]],
                "activation": str(f["activation"]),
                "output": str(f["output"]),
                "dtype": str(params.dtype),
            }
            if "members" in f and int(f["members"]) > 0:
                config["members"] = int(f["members"])
                config["seed"] = [int(s) for s in f["seeds"]]
    except ModelFileError:
        raise
    except (OSError, KeyError, ValueError, zipfile.BadZipFile, EOFError) as error:
        raise ModelFileError(
            f"model file {path} is not a readable optimlab model (.npz): {error}"
        ) from None
    if params.ndim != (1 if "members" not in config else 2) or params.dtype not in (
        np.float32,
        np.float64,
    ):
        raise ModelFileError(
            f"model file {path} holds parameters of shape {params.shape}, dtype {params.dtype}"
        )
    return config, params
