"""Model files: the portable ``.npz`` format and the report's JSON format.

These functions read and write plain data (the architecture as a dictionary and
the parameters as a host array); :meth:`optimlab.MLP.save` and
:meth:`optimlab.MLP.load` build on them. Writes are atomic: an existing file is
replaced only once the new one is complete. ``.npz`` files are read with
``allow_pickle=False``: a model file never runs code.
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from .._files import atomic_write
from ..errors import ConfigError, ModelFileError
from .layout import Layout, check_layers

__all__ = ["read", "write"]

_FORMAT = "optimlab.mlp"
_FORMAT_VERSION = 1


def write(
    path: str | os.PathLike[str], config: dict[str, Any], seeds: list[int], host: np.ndarray
) -> Path:
    """Write a model (``config`` as :meth:`MLP.config` gives it, ``host`` its parameters).

    A ``.json`` name writes the report's format: ``{"layers": [...], "weights":
    [...], "biases": [...]}`` with each weight matrix as nested lists of shape
    ``(out, in)`` (plus ``"activation"``/``"output"`` when they are not sigmoid).
    Any other name writes the portable NumPy ``.npz`` format.
    """
    path = Path(path)
    if path.suffix.lower() == ".json":
        if config["members"] is not None:
            raise ConfigError(
                f"the report's JSON format holds one network, not {config['members']} members: "
                "save model.member(k), or use a .npz name"
            )
        doc: dict[str, Any] = {"layers": list(config["layers"]), "weights": [], "biases": []}
        for layer in Layout(config["layers"]).slices:
            doc["weights"].append(host[layer.w : layer.b].reshape(layer.out, layer.inp).tolist())
            doc["biases"].append(host[layer.b : layer.end].tolist())
        for key in ("activation", "output"):
            if config[key] != "sigmoid":
                doc[key] = config[key]
        with atomic_write(path, "w") as f:
            json.dump(doc, f)
    else:
        members = config["members"]
        with atomic_write(path, "wb") as f:
            np.savez(
                f,
                format=np.array(_FORMAT),
                version=np.array(_FORMAT_VERSION),
                layers=np.array(config["layers"]),
                activation=np.array(config["activation"]),
                output=np.array(config["output"]),
                seeds=np.array(seeds),
                members=np.array(-1 if members is None else members),
                params=host,
            )
    return path


def read(path: str | os.PathLike[str]) -> tuple[dict[str, Any], np.ndarray]:
    """The architecture (keyword arguments of :class:`MLP`, with ``dtype``) and parameters.

    Raises
    ------
    ModelFileError
        The file is missing, unreadable, or does not describe a valid network.
    """
    path = Path(path)
    if path.is_dir():
        raise ModelFileError(f"{path} is a directory, not a model file")
    if not path.is_file():
        raise ModelFileError(f"model file {path} does not exist")
    if path.suffix.lower() == ".json":
        return _read_json(path)
    if not zipfile.is_zipfile(path):
        raise ModelFileError(
            f"{path} is not an optimlab model file (a .npz written by optimlab, or the "
            "report's .json)"
        )
    return _read_npz(path)


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
        layers = check_layers(layers)
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
                "layers": [int(n) for n in _vector(path, f["layers"])],
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


def _vector(path: Path, layers: np.ndarray) -> np.ndarray:
    if layers.ndim != 1:
        raise ModelFileError(f"model file {path} holds layers of shape {layers.shape}, not a list")
    return layers
