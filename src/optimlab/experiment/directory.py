"""An experiment's output directory: preparing it, and the files written into it.

Every file is written atomically (a temporary file, then a rename):

* ``results.json`` — the results (:mod:`optimlab.experiment.results`), rewritten
  after every epoch and every finished pass;
* ``results.csv`` — one row per trial and epoch;
* ``checkpoints/pass-<i>.npz`` — where pass ``i`` stands after its last complete
  epoch, written by whichever process runs it, removed when the pass is done;
* ``models/<name>.npz`` — each finished pass's trained members
  (:meth:`Setting.model_name <optimlab.experiment.Setting.model_name>`);
* the figures, drawn by the commands once the results exist
  (:func:`optimlab.figures.draw_experiment`).

Two more files keep the directory safe:

* ``.optimlab-manifest.json`` — the kind of experiment (``experiment`` for
  ``compare`` and ``sweep``, ``benchmark``, ``benchmark-tuning``,
  ``benchmark-final``, ``trajectories``: :data:`KINDS`) and
  every file it writes, listed before the first is written. ``--overwrite`` removes
  those (and their temporary files) and nothing else: a file of the user's in the
  directory is never touched;
* ``.optimlab.lock`` — a regular file held with an exclusive OS lock
  (``fcntl.flock``) for the whole run, so that two runs never write into one
  directory. The kernel releases it when the process ends, however it ends; it holds
  the PID of its holder. A lock that is not a regular file (a symbolic link) is
  refused, never followed.

:class:`OutputDirectory` is that contract, for every command that writes a directory
(``compare``, ``sweep``, ``benchmark`` and its experiments, ``trajectories``): a
directory holds one kind of experiment, and any other kind is refused before
anything is touched. A directory whose experiment has no complete epoch (refused or
interrupted at once) holds no experiment: the next run replaces it without
``--overwrite``.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import re
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from .._files import atomic_write, check_name_lengths
from ..errors import ConfigError, DataError
from ..nn import MLP
from ..train import checkpoint as checkpoints
from ..train.history import VALIDATION
from .passes import PassRecord
from .results import Results, load_results
from .settings import Setting

try:  # POSIX; elsewhere runs are not locked
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "KINDS",
    "LOCK",
    "MANIFEST",
    "OutputDirectory",
    "checkpoint_file",
    "kind_of",
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
#: Each kind of experiment a directory can hold, as messages name it.
KINDS = {
    "experiment": "a compare or sweep experiment",  # one replaces the other (--overwrite)
    "benchmark": "a benchmark",
    "benchmark-tuning": "a benchmark's tuning runs",
    "benchmark-final": "a benchmark's final runs",
    "trajectories": "trajectories",
}
#: The file that tells the kind of a directory written before manifests named it.
_MARKERS = {"benchmark.json": "benchmark", "trajectories.json": "trajectories"}


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

    The lock is a regular file, opened without following a symbolic link (one would
    have its target truncated and the PID written into it).

    Raises
    ------
    ConfigError
        Another process holds it (named by its PID), or it is not a regular file.
    """
    if fcntl is None:  # pragma: no cover
        yield
        return
    path = out / LOCK
    try:  # never through a symbolic link: that would truncate its target
        fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o666)
    except OSError as error:
        if path.is_symlink() or (path.exists() and not path.is_file()):
            raise ConfigError(
                f"{path} is not a regular file (a symbolic link or another kind of file): "
                "remove it, or choose another --out"
            ) from None
        raise ConfigError(f"cannot create {path}: {error.strerror or error}") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):  # a FIFO, a device
            raise ConfigError(f"{path} is not a regular file: remove it, or choose another --out")
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


class OutputDirectory:
    """The directory of one experiment of one ``kind`` (a key of :data:`KINDS`).

    Made before anything is touched, it checks ``out`` (:func:`check_out`), that
    ``resume`` and ``overwrite`` are not both asked, and that ``out`` holds no other
    kind of experiment. Then, holding its lock (:meth:`locked`, which checks the kind
    again), the command checks again what it found there (:meth:`prepare` does for an
    experiment), removes the old experiment's own files (those its manifest lists,
    :meth:`remove`) and lists its own (:meth:`write_manifest`) before writing the first.

    Raises
    ------
    ConfigError
        Both ``resume`` and ``overwrite``, a bad ``out``, or ``out`` holding another kind
        of experiment (named, with the file that tells).
    """

    def __init__(
        self,
        out: str | os.PathLike[str],
        kind: str,
        *,
        resume: bool = False,
        overwrite: bool = False,
    ) -> None:
        if resume and overwrite:
            raise ConfigError("--resume and --overwrite exclude each other")
        self.path = check_out(out)
        self.kind, self.resume, self.overwrite = kind, resume, overwrite
        self.check_kind()

    def check_kind(self) -> None:
        """A :class:`ConfigError` if ``out`` holds another kind of experiment than ours."""
        held = self.held()
        if held is not None and held[0] != self.kind:
            raise ConfigError(
                f"{self.path} holds {_named(held[0])} ({held[1]}), not {_named(self.kind)}: a "
                "directory holds one kind of experiment, so choose another --out"
            )

    def held(self) -> tuple[str, str] | None:
        """The kind of experiment ``out`` holds and the file that tells; None if none."""
        manifest = _manifest(self.path)
        if manifest is not None and isinstance(manifest.get("kind"), str):
            return manifest["kind"], MANIFEST
        for name, kind in _MARKERS.items():  # written before manifests named the kind
            if (self.path / name).is_file():
                return kind, name
        if (self.path / "results.json").is_file():
            results = load_results(self.path / "results.json")
            return kind_of(results.setting), "results.json"
        return None

    @contextlib.contextmanager
    def locked(self) -> Iterator[OutputDirectory]:
        """Create the directory (and its parents) and hold its :func:`lock`; the kind of
        experiment there is checked again once it is held (another process may have
        written one since this object checked)."""
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise ConfigError(f"cannot create {self.path}: {error.strerror or error}") from None
        with lock(self.path):
            self.check_kind()
            yield self

    def own_files(self) -> set[str]:
        """The files of the experiment in ``out``: its manifest's, else what its results
        name (an experiment written before manifests)."""
        manifest = _manifest(self.path)
        if manifest is not None:
            return {f for f in manifest.get("files", []) if isinstance(f, str) and _inside(f)}
        if self.kind in _MARKERS.values() or not (self.path / "results.json").exists():
            return set()
        results = load_results(self.path / "results.json")  # only ever our own experiments
        return set(manifest_files(results.setting))

    def listed(self, key: str) -> list[str] | None:
        """The paths the manifest lists under ``key`` (None without a manifest)."""
        manifest = _manifest(self.path)
        if manifest is None or not isinstance(manifest.get(key), list):
            return None
        return [f for f in manifest[key] if isinstance(f, str) and _inside(f)]

    def check_beside(
        self, files: Iterable[str], folders: Iterable[str] = (), ours: Iterable[str] = ()
    ) -> None:
        """Refuse files in ``out`` that are not ``ours`` (nor the lock and manifest)
        unless ``overwrite``, and in any case one named like a file of ``files`` or
        inside one of ``folders``."""
        known = {LOCK, MANIFEST, *ours}
        foreign = [p for p in _present(self.path) if p not in known]
        if foreign and not self.overwrite:
            raise ConfigError(
                f"{self.path} already holds files ({', '.join(sorted(foreign)[:3])}"
                f"{', ...' if len(foreign) > 3 else ''}); choose an empty or new directory, "
                "or pass --overwrite to write the experiment beside them"
            )
        folders = set(folders)
        clash = sorted(p for p in foreign if p in set(files) or Path(p).parts[0] in folders)
        if clash:
            raise ConfigError(
                f"{self.path / clash[0]} was not written by optimlab; move it away "
                "(--overwrite removes only an experiment's own files)"
            )

    def check_removable(self, files: Iterable[str]) -> None:
        """Refuse, before removing anything, files that could not all be removed."""
        for name in files:
            path = self.path / name
            there = path.exists() or path.is_symlink()
            if there and not os.access(path.parent, os.W_OK | os.X_OK):
                raise ConfigError(
                    f"cannot remove {path}: {path.parent} is not writable; nothing was removed"
                )

    def remove(self, files: Iterable[str]) -> None:
        """Remove ``files`` and the manifest (``models/`` and ``checkpoints/`` too if left
        empty): an old experiment of ours, nothing else."""
        for name in files:
            (self.path / name).unlink(missing_ok=True)
        (self.path / MANIFEST).unlink(missing_ok=True)
        for folder in ("models", "checkpoints"):
            with contextlib.suppress(OSError):  # left where it holds files not ours
                (self.path / folder).rmdir()

    def remove_temporary(self, ours: Iterable[str]) -> None:
        """Remove the ``.NAME.*.tmp`` files an interrupted atomic write of ours left."""
        ours = {str(Path(n)) for n in ours}
        for folder in {Path(name).parent for name in ours}:
            if not (self.path / folder).is_dir():
                continue
            for path in (self.path / folder).iterdir():
                match = _TEMPORARY.match(path.name)
                if match and str(folder / match["name"]) in ours:
                    path.unlink(missing_ok=True)

    def write_manifest(self, files: Iterable[str], **extra: Any) -> None:
        """List the kind and ``files`` (before the first is written), atomically."""
        document = {"format": _MANIFEST_FORMAT, "kind": self.kind, "files": sorted(set(files))}
        with atomic_write(self.path / MANIFEST, "w") as f:
            json.dump({**document, **extra}, f, indent=1)
            f.write("\n")

    def prepare(self, setting: Setting) -> bool:
        """Make ``out`` ready for the experiment ``setting``; return whether there is one
        to resume.

        Call it holding :meth:`locked`. An old experiment is removed (its own files
        only) with ``overwrite``, or when it has no complete epoch; stray temporary
        files of ours are removed in any case. The manifest of ``setting``'s files is
        written.

        Raises
        ------
        ConfigError
            ``out`` holds files and neither ``resume`` nor ``overwrite`` is given, holds
            nothing to resume, or a file that ``setting`` would write is not ours.
        """
        out, resume = self.path, self.resume
        old = self.own_files()
        started = started_experiment(out)
        if resume and not started:
            if not old and not (out / "results.json").exists():
                raise ConfigError(f"there is nothing to resume in {out} (no results.json)")
        self.remove_temporary(old | set(manifest_files(setting)) | {MANIFEST})
        if not (resume and started):
            if started and not self.overwrite:
                raise ConfigError(
                    f"{out} already holds an experiment; pass --resume to continue it "
                    "or --overwrite to replace it"
                )
            self.remove(old)
            self.check_beside(manifest_files(setting))
        (out / "models").mkdir(exist_ok=True)
        (out / "checkpoints").mkdir(exist_ok=True)
        self.write_manifest(set(manifest_files(setting)) | (old if resume else set()))
        return resume and started


def kind_of(setting: Setting) -> str:
    """The kind of directory an experiment of ``setting`` is written into."""
    return "experiment" if setting.kind in ("compare", "sweep") else setting.kind


def prepare(out: Path, setting: Setting, *, resume: bool, overwrite: bool) -> bool:
    """:meth:`OutputDirectory.prepare` of ``out`` for ``setting`` (call it holding the
    directory's :func:`lock`)."""
    folder = OutputDirectory(out, kind_of(setting), resume=resume, overwrite=overwrite)
    return folder.prepare(setting)


def remove_experiment(out: Path, kind: str) -> None:
    """Remove the experiment of ``kind`` in ``out`` — its own files only — and ``out``
    itself if nothing else is left in it (``optimlab benchmark --overwrite``)."""
    if not out.is_dir():
        return
    folder = OutputDirectory(out, kind)
    folder.remove(folder.own_files())
    for name in ("results.json", "results.csv", LOCK):
        (out / name).unlink(missing_ok=True)
    with contextlib.suppress(OSError):  # left where it holds files not ours
        out.rmdir()


def _named(kind: str) -> str:
    return KINDS.get(kind, f"an experiment of kind {kind!r}")


def _manifest(out: Path) -> dict[str, Any] | None:
    """``out``'s manifest, None if it has none (or not one of ours)."""
    try:
        d = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(d, dict) or d.get("format") != _MANIFEST_FORMAT:
        return None
    if not isinstance(d.get("files"), list):
        return None
    return d


def _inside(name: str) -> bool:
    parts = Path(name).parts
    return bool(parts) and not Path(name).is_absolute() and ".." not in parts


def started_experiment(out: Path) -> bool:
    """Whether ``out`` holds an experiment with at least one complete epoch."""
    if not (out / "results.json").exists():
        return False
    results = load_results(out / "results.json")
    return any(t.epochs for t in results.trials) or any(p.complete for p in results.passes)


def _present(out: Path) -> list[str]:
    """Every file under ``out`` (relative paths), empty directories left out."""
    return [str(p.relative_to(out)) for p in out.rglob("*") if p.is_file() or p.is_symlink()]


_TEMPORARY = re.compile(r"^\.(?P<name>.+)\.[A-Za-z0-9_]+\.tmp$")


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
    model = setting.problem.make_model(setting, [t.seed for t in trials], params=record.params)
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
