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

Two more files keep the directory safe:

* ``.optimlab-manifest.json`` — every file the experiment writes, listed before the
  first is written. ``--overwrite`` removes those (and their temporary files) and
  nothing else: a file of the user's in the directory is never touched;
* ``.optimlab.lock`` — held with an exclusive OS lock (``fcntl.flock``) for the
  whole run, so that two runs never write into one directory. The kernel releases
  it when the process ends, however it ends; it holds the PID of its holder.

A directory whose experiment has no complete epoch (refused or interrupted at
once) holds no experiment: the next run replaces it without ``--overwrite``.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

from .._files import atomic_write, check_name_lengths
from ..errors import ConfigError, DataError
from ..nn import MLP
from ..train import checkpoint as checkpoints
from ..train.history import VALIDATION
from .models import make_model
from .passes import PassRecord
from .results import Results, load_results
from .settings import Setting

try:  # POSIX; elsewhere runs are not locked
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "LOCK",
    "MANIFEST",
    "checkpoint_file",
    "legacy_checkpoint",
    "lock",
    "manifest_files",
    "prepare",
    "remove_checkpoints",
    "save_model",
    "save_results",
]

MANIFEST = ".optimlab-manifest.json"
LOCK = ".optimlab.lock"
_MANIFEST_FORMAT = "optimlab.manifest"
_FIGURES = ("accuracy.png", "loss.png", "misclassified.png", "sensitivity.png")


def manifest_files(setting: Setting) -> list[str]:
    """The files (relative paths) an experiment of ``setting`` may write."""
    files = ["results.json", "results.csv", *_FIGURES]
    files += [f"models/{setting.model_name(i)}.npz" for i in range(len(setting.passes))]
    files += [f"checkpoints/pass-{i}.npz" for i in range(len(setting.passes))]
    files.append("checkpoint.npz")  # where optimlab 0.1 kept the pass in progress
    return files


@contextlib.contextmanager
def lock(out: Path) -> Iterator[None]:
    """Hold ``out``'s lock file exclusively for the ``with`` block.

    Raises
    ------
    ConfigError
        Another process holds it (named by its PID).
    """
    if fcntl is None:  # pragma: no cover
        yield
        return
    path = out / LOCK
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError as error:
        raise ConfigError(f"cannot create {path}: {error.strerror or error}") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
            who = f"optimlab process {holder}" if holder.isdigit() else "another optimlab process"
            raise ConfigError(
                f"{out} is in use by {who}: wait for it to finish, or choose another --out"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock


def check_out(out: str | os.PathLike[str]) -> Path:
    """``out`` as a path, refused if empty or if it cannot become a directory."""
    if not str(out).strip():
        raise ConfigError("--out is empty: name the directory for the experiment")
    out = check_name_lengths(out)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"{out} exists and is not a directory")
    ancestor = out
    while not ancestor.exists():
        if ancestor.parent == ancestor:
            break
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise ConfigError(f"cannot create {out}: {ancestor} is not a directory")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise ConfigError(f"cannot write into {ancestor}: permission denied")
    return out


def prepare(out: Path, setting: Setting, *, resume: bool, overwrite: bool) -> bool:
    """Make ``out`` ready for ``setting``; return whether there is an experiment to resume.

    Call it holding :func:`lock`. An old experiment is removed (its own files only)
    with ``overwrite``, or when it has no complete epoch; stray temporary files of
    ours are removed in any case. The manifest of ``setting``'s files is written.

    Raises
    ------
    ConfigError
        ``out`` holds files and neither ``resume`` nor ``overwrite`` is given, holds
        nothing to resume, or a file that ``setting`` would write is not ours.
    """
    if resume and overwrite:
        raise ConfigError("--resume and --overwrite exclude each other")
    old = _old_files(out)
    started = _started(out)
    if resume and not started:
        if not old and not (out / "results.json").exists():
            raise ConfigError(f"there is nothing to resume in {out} (no results.json)")
    _remove_temporary(out, old | set(manifest_files(setting)) | {MANIFEST})
    if not (resume and started):
        if started and not overwrite:
            raise ConfigError(
                f"{out} already holds an experiment; pass --resume to continue it "
                "or --overwrite to replace it"
            )
        _remove(out, old)
        foreign = [p for p in _present(out) if p not in (LOCK, MANIFEST)]
        if foreign and not overwrite:
            raise ConfigError(
                f"{out} already holds files ({', '.join(sorted(foreign)[:3])}"
                f"{', ...' if len(foreign) > 3 else ''}); choose an empty or new directory, "
                "or pass --overwrite to write the experiment beside them"
            )
        clash = sorted(set(foreign) & set(manifest_files(setting)))
        if clash:
            raise ConfigError(
                f"{out / clash[0]} was not written by optimlab; move it away "
                "(--overwrite removes only an experiment's own files)"
            )
    (out / "models").mkdir(exist_ok=True)
    (out / "checkpoints").mkdir(exist_ok=True)
    files = sorted(set(manifest_files(setting)) | (old if resume else set()))
    with atomic_write(out / MANIFEST, "w") as f:
        json.dump({"format": _MANIFEST_FORMAT, "files": files}, f, indent=1)
        f.write("\n")
    return resume and started


def _old_files(out: Path) -> set[str]:
    """The files of the experiment in ``out``: its manifest's, else what its results name."""
    try:
        d = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
        if d.get("format") == _MANIFEST_FORMAT:
            return {f for f in d["files"] if isinstance(f, str) and _inside(f)}
    except (OSError, ValueError, AttributeError, KeyError, TypeError):
        pass
    if not (out / "results.json").exists():
        return set()
    results = load_results(out / "results.json")  # only ever remove our own experiments
    return set(manifest_files(results.setting))


def remove_experiment(out: Path) -> None:
    """Remove the experiment in ``out`` — its own files only — and ``out`` itself if
    nothing else is left in it (``optimlab benchmark --overwrite``)."""
    if not out.is_dir():
        return
    _remove(out, _old_files(out))
    for name in ("results.json", "results.csv", LOCK):
        (out / name).unlink(missing_ok=True)
    with contextlib.suppress(OSError):  # left where it holds files not ours
        out.rmdir()


def _inside(name: str) -> bool:
    parts = Path(name).parts
    return bool(parts) and not Path(name).is_absolute() and ".." not in parts


def _started(out: Path) -> bool:
    """Whether ``out`` holds an experiment with at least one complete epoch."""
    if not (out / "results.json").exists():
        return False
    results = load_results(out / "results.json")
    return any(t.epochs for t in results.trials) or any(p.complete for p in results.passes)


def _present(out: Path) -> list[str]:
    """Every file under ``out`` (relative paths), empty directories left out."""
    return [str(p.relative_to(out)) for p in out.rglob("*") if p.is_file() or p.is_symlink()]


def _remove(out: Path, files: set[str]) -> None:
    for name in files:
        (out / name).unlink(missing_ok=True)
    (out / MANIFEST).unlink(missing_ok=True)
    for folder in ("models", "checkpoints"):
        with contextlib.suppress(OSError):  # left where it holds files not ours
            (out / folder).rmdir()


_TEMPORARY = re.compile(r"^\.(?P<name>.+)\.[A-Za-z0-9_]+\.tmp$")


def _remove_temporary(out: Path, ours: set[str]) -> None:
    """Remove the ``.NAME.*.tmp`` files an interrupted atomic write of ours left."""
    for folder in {Path(name).parent for name in ours}:
        if not (out / folder).is_dir():
            continue
        for path in (out / folder).iterdir():
            match = _TEMPORARY.match(path.name)
            if match and str(folder / match["name"]) in {str(Path(n)) for n in ours}:
                path.unlink(missing_ok=True)


def save_results(out: Path, results: Results) -> None:
    """Write ``results.json`` and ``results.csv``."""
    with atomic_write(out / "results.json", "w") as f:
        json.dump(results.to_dict(), f, indent=1, allow_nan=False)
        f.write("\n")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    names = sorted({k for trial in results.trials for k in trial.hyperparameters})
    figures = ["epoch", "train_loss", "test_accuracy", "test_loss", "seconds"]
    if results.setting.validation is not None:  # a benchmark's experiments
        figures += list(VALIDATION)
    writer.writerow(["optimizer", *names, "seed", *figures, "status"])
    for trial in results.trials:
        hyper = [trial.hyperparameters.get(k, "") for k in names]
        for e in trial.epochs:
            row = [getattr(e, name) for name in figures]
            writer.writerow([trial.optimizer, *hyper, trial.seed, *row, trial.status])
    with atomic_write(out / "results.csv", "w") as f:  # NaN written as nan: CSV has no null
        f.write(buffer.getvalue())


def save_model(out: Path, setting: Setting, record: PassRecord) -> Path | None:
    """Write a finished pass's trained members to ``models/<name>.npz``; None for a noisy
    function (its points are not a network: there is no model file to write)."""
    trials = setting.passes[record.index]
    model = make_model(setting, [t.seed for t in trials], params=record.params)
    if not isinstance(model, MLP):
        return None
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
