"""Checkpoint files: where a training run stands, so that it can continue exactly.

A checkpoint holds a :class:`~optimlab.Trainer`'s state (parameters, every
optimizer accumulator, the step count, the shuffle generators, the epoch count),
the histories so far and a small dictionary of the caller's (what was run), in one
``.npz`` file written atomically: an interruption leaves the previous checkpoint
whole. Restoring it into a new ``Trainer`` of the same model, optimizers and data
continues bit for bit on the CPU.
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from .._files import atomic_write
from ..errors import DataError
from .trainer import History, Trainer

__all__ = ["load", "save"]

_FORMAT = "optimlab.checkpoint"


def save(
    path: str | os.PathLike[str], trainer: Trainer, histories: list[History], info: dict[str, Any]
) -> None:
    """Write ``trainer``'s state, the ``histories`` and ``info`` (JSON-able) to ``path``."""
    state = trainer.checkpoint()
    meta = {
        "format": _FORMAT,
        "info": info,
        "epoch": state["epoch"],
        "count": state["count"],
        "rngs": state["rngs"],
        "groups": [len(g) for g in state["accumulators"]],
        "histories": [h.to_dict() for h in histories],
    }
    arrays = {"params": state["params"]}
    for g, accumulators in enumerate(state["accumulators"]):
        for j, a in enumerate(accumulators):
            arrays[f"group{g}_{j}"] = a
    with atomic_write(path, "wb") as f:
        np.savez(f, meta=np.array(json.dumps(meta)), **arrays)


def load(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a checkpoint: ``{"trainer": ..., "histories": [...], "info": {...}}``.

    ``trainer`` is what :meth:`Trainer.restore` takes.

    Raises
    ------
    DataError
        The file is missing, unreadable, or not an optimlab checkpoint.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"checkpoint {path} does not exist")
    try:
        with np.load(path, allow_pickle=False) as f:
            meta = json.loads(str(f["meta"]))
            if meta.get("format") != _FORMAT:
                raise DataError(f"{path} is not an optimlab checkpoint")
            accumulators = [
                [f[f"group{g}_{j}"] for j in range(n)] for g, n in enumerate(meta["groups"])
            ]
            params = f["params"]
    except DataError:
        raise
    except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise DataError(f"checkpoint {path} is unreadable: {error}") from None
    trainer = {
        "epoch": meta["epoch"],
        "count": meta["count"],
        "rngs": meta["rngs"],
        "params": params,
        "accumulators": accumulators,
    }
    histories = [History.from_dict(h) for h in meta["histories"]]
    return {"trainer": trainer, "histories": histories, "info": meta["info"]}
