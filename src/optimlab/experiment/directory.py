"""An experiment's output directory: preparing it, and the files written into it.

Every file is written atomically (a temporary file, then a rename):

* ``results.json`` — the results (:mod:`optimlab.experiment.results`), rewritten
  after every epoch and every finished pass;
* ``results.csv`` — one row per trial and epoch;
* ``checkpoints/pass-<i>.npz`` — where pass ``i`` stands after its last complete
  epoch, written by whichever process runs it, removed when the pass is done;
* ``models/<name>.npz`` — each finished pass's trained members
  (:meth:`Setting.model_name <optimlab.experiment.Setting.model_name>`);
* the figures (:mod:`optimlab.plotting`).
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
from pathlib import Path

from .._files import atomic_write
from ..errors import ConfigError, DataError
from ..nn import MLP
from ..train import checkpoint as checkpoints
from .passes import PassRecord
from .results import Results, load_results
from .settings import Setting

__all__ = [
    "checkpoint_file",
    "legacy_checkpoint",
    "prepare",
    "remove_checkpoints",
    "save_model",
    "save_results",
]

_OUTPUTS = (
    "results.json",
    "results.csv",
    "checkpoints",
    "checkpoint.npz",  # where optimlab 0.1 kept the checkpoint of the pass in progress
    "accuracy.png",
    "loss.png",
    "misclassified.png",
    "sensitivity.png",
    "models",
)


def prepare(out: Path, *, resume: bool, overwrite: bool) -> Path:
    """Check that ``out`` can take an experiment, empty it of an old one if asked, create it.

    Raises
    ------
    ConfigError
        ``out`` holds files and neither ``resume`` nor ``overwrite`` is given, holds
        nothing to resume, or cannot be written.
    """
    if resume and overwrite:
        raise ConfigError("--resume and --overwrite exclude each other")
    if out.exists() and not out.is_dir():
        raise ConfigError(f"{out} exists and is not a directory")
    if resume:
        if not (out / "results.json").is_file():
            raise ConfigError(f"there is nothing to resume in {out} (no results.json)")
    elif out.is_dir() and any(out.iterdir()):
        if not overwrite:
            raise ConfigError(
                f"{out} already holds files; pass --resume to continue the experiment in it "
                "or --overwrite to replace it"
            )
        if (out / "results.json").exists():
            load_results(out / "results.json")  # only ever replace our own experiments
        for name in _OUTPUTS:
            target = out / name
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
    parent = out.parent if not out.exists() else out
    if not parent.is_dir():
        raise ConfigError(f"cannot create {out}: directory {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ConfigError(f"cannot write into {parent}: permission denied")
    (out / "models").mkdir(parents=True, exist_ok=True)
    (out / "checkpoints").mkdir(exist_ok=True)
    return out


def save_results(out: Path, results: Results) -> None:
    """Write ``results.json`` and ``results.csv``."""
    with atomic_write(out / "results.json", "w") as f:
        json.dump(results.to_dict(), f, indent=1)
        f.write("\n")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    names = sorted({k for trial in results.trials for k in trial.hyperparameters})
    figures = ["epoch", "train_loss", "test_accuracy", "test_loss", "seconds"]
    writer.writerow(["optimizer", *names, "seed", *figures, "status"])
    for trial in results.trials:
        hyper = [trial.hyperparameters.get(k, "") for k in names]
        for e in trial.epochs:
            row = [e.epoch, e.train_loss, e.test_accuracy, e.test_loss, e.seconds]
            writer.writerow([trial.optimizer, *hyper, trial.seed, *row, trial.status])
    with atomic_write(out / "results.csv", "w") as f:
        f.write(buffer.getvalue())


def save_model(out: Path, setting: Setting, record: PassRecord) -> Path:
    """Write a finished pass's trained members to ``models/<name>.npz``."""
    trials = setting.passes[record.index]
    model = MLP(
        setting.layers,
        setting.activation,
        setting.output,
        seed=[t.seed for t in trials],
        dtype=setting.dtype,
        params=record.params,
    )
    path = out / "models" / f"{setting.model_name(record.index)}.npz"
    model.save(path)
    return path


def checkpoint_file(out: Path, index: int) -> Path:
    """Where pass ``index`` keeps its checkpoint."""
    return out / "checkpoints" / f"pass-{index}.npz"


def legacy_checkpoint(out: Path, index: int) -> Path | None:
    """The single ``checkpoint.npz`` of an experiment interrupted under optimlab 0.1,
    if it holds pass ``index``."""
    path = out / "checkpoint.npz"
    if not path.is_file():
        return None
    try:
        saved = checkpoints.load(path)
    except DataError:
        return None
    return path if saved["info"].get("pass") == index else None


def remove_checkpoints(out: Path, index: int) -> None:
    """Remove pass ``index``'s checkpoint (the pass is done and saved)."""
    checkpoint_file(out, index).unlink(missing_ok=True)
    if legacy_checkpoint(out, index) is not None:
        (out / "checkpoint.npz").unlink()
