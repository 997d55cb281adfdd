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
from .history import History
from .state import TrainerState
from .trainer import Trainer

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
        "epoch": state.epoch,
        "count": state.count,
        "rngs": state.rngs,
        "groups": [len(slots) for slots in state.slots],
        "arrays": [[len(arrays) for arrays in slots] for slots in state.slots],
        "scalars": [list(scalars) for scalars in state.scalars],
        "histories": [h.to_dict() for h in histories],
    }
    arrays = {"params": state.params}
    for g, slots in enumerate(state.slots):
        for j, slot in enumerate(slots):
            for i, a in enumerate(slot):
                arrays[_key(g, j, i, len(slot))] = a
    for g, scalars in enumerate(state.scalars):
        for name, a in scalars.items():
            arrays[f"scalar{g}_{name}"] = a
    with atomic_write(path, "wb") as f:
        np.savez(f, meta=np.array(json.dumps(meta)), **arrays)


def load(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a checkpoint: ``{"trainer": TrainerState, "histories": [...], "info": {...}}``.

    ``trainer`` is what :meth:`Trainer.restore` takes.

    Raises
    ------
    DataError
        The file is missing, unreadable, or not an optimlab checkpoint.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"checkpoint {path} does not exist")
    if not zipfile.is_zipfile(path):
        raise DataError(f"{path} is not an optimlab checkpoint")
    try:
        with np.load(path, allow_pickle=False) as f:
            if "meta" not in f.files:  # e.g. a model file
                raise DataError(f"{path} is not an optimlab checkpoint")
            meta = json.loads(str(f["meta"]))
            if not isinstance(meta, dict) or meta.get("format") != _FORMAT:
                raise DataError(f"{path} is not an optimlab checkpoint")
            counts = meta.get("arrays") or [[1] * n for n in meta["groups"]]
            slots = [
                [[f[_key(g, j, i, n)] for i in range(n)] for j, n in enumerate(group)]
                for g, group in enumerate(counts)
            ]
            scalars = [
                {name: f[f"scalar{g}_{name}"] for name in names}
                for g, names in enumerate(meta.get("scalars") or [[] for _ in counts])
            ]
            state = TrainerState(
                int(meta["epoch"]), int(meta["count"]), f["params"], slots, meta["rngs"], scalars
            )
            histories = [History.from_dict(h) for h in meta["histories"]]
    except DataError:
        raise
    except (OSError, KeyError, ValueError, TypeError, EOFError, zipfile.BadZipFile) as error:
        raise DataError(f"checkpoint {path} is unreadable: {error}") from None
    return {"trainer": state, "histories": histories, "info": meta["info"]}


def _key(group: int, slot: int, index: int, count: int) -> str:
    # one array per slot (elementwise rules, and files from before): "group0_1"
    return f"group{group}_{slot}" if count == 1 else f"group{group}_{slot}_{index}"
