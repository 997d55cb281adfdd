"""Experiments: many training runs, their results on disk, and continuing them.

An experiment is a list of *passes*; each pass trains a few *runs* (an optimizer
with its hyper-parameters, and a seed) side by side as the members of one model
(:func:`optimlab.fit_members`). ``compare`` makes one pass per optimizer, its seeds
being the members, so each optimizer's wall time is its own; ``sweep`` makes one
pass for a whole grid of learning rates and seeds (in chunks of at most
``max_members`` members).

Everything lands in one output directory, each file written atomically
(a temporary file, then a rename):

* ``results.json`` — the setting, the environment, and per run the per-epoch test
  accuracy, test loss, training loss and seconds (rewritten after every epoch);
* ``results.csv`` — one row per run and epoch;
* ``checkpoint.npz`` — where the pass in progress stands after its last complete
  epoch; ``resume=True`` continues from it, bit for bit on the CPU;
* ``models/`` — each pass's trained members (the portable ``.npz`` format);
* the figures (:mod:`optimlab.plotting`).
"""

from __future__ import annotations

import csv
import datetime
import io
import json
import math
import os
import platform
import shutil
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from .. import __version__, datasets, optimizers
from ..train import checkpoint as checkpoints
from .._files import atomic_write
from ..backend import Backend, resolve, to_numpy
from ..errors import ConfigError, DataError
from ..nn import MLP
from ..train import EpochRecord, History, Trainer

__all__ = [
    "RESULTS_FORMAT",
    "Reporter",
    "Run",
    "Setting",
    "compare_setting",
    "load_results",
    "run_experiment",
    "run_pass",
    "summarize",
    "sweep_setting",
]

#: The ``format`` field of every results file optimlab writes.
RESULTS_FORMAT = "optimlab.results"
_VERSION = 1
_OUTPUTS = (
    "results.json",
    "results.csv",
    "checkpoint.npz",
    "accuracy.png",
    "loss.png",
    "misclassified.png",
    "sensitivity.png",
    "models",
)


@dataclass(frozen=True)
class Run:
    """One training run: an optimizer (registry name), its hyper-parameters and a seed.

    The seed initializes the network and draws its shuffles.
    """

    optimizer: str
    hyperparameters: dict[str, float]
    seed: int

    def make(self) -> optimizers.Optimizer:
        """The optimizer this run trains with."""
        return optimizers.get(self.optimizer, **self.hyperparameters)

    @property
    def label(self) -> str:
        """``"adam (lr=0.01, beta1=0.9, ...)"``: the setting, without the seed."""
        return optimizers.describe(self.optimizer, self.hyperparameters)


@dataclass
class Setting:
    """Everything that determines an experiment's results (so: what a resume must match)."""

    kind: str
    passes: list[list[Run]]
    layers: list[int] = field(default_factory=lambda: [784, 30, 10])
    activation: str = "sigmoid"
    output: str = "sigmoid"
    epochs: int = 40
    batch_size: int = 10
    dtype: str = "float32"
    device: str = "cpu"
    library: str | None = None  # None: NumPy on cpu, CuPy on cuda
    data: str | None = None  # an IDX directory; None: the packaged MNIST
    limit_train: int | None = None

    @property
    def runs(self) -> list[Run]:
        return [run for runs in self.passes for run in runs]

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["passes"] = [[asdict(run) for run in runs] for runs in self.passes]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Setting:
        d = dict(d)
        d["passes"] = [[Run(**run) for run in runs] for runs in d["passes"]]
        return cls(**d)


def compare_setting(
    hyperparameters: dict[str, dict[str, float]],
    seeds: Sequence[int],
    *,
    one_pass: bool = False,
    **common: Any,
) -> Setting:
    """One pass per optimizer (``name -> its hyper-parameters``), its seeds as the members.

    With ``one_pass``, every optimizer and seed are the members of a single pass: the
    fastest on a GPU, where a step costs little more for 35 members than for one,
    but then the optimizers share one wall time.
    """
    passes = [
        [Run(name, dict(hyper), int(s)) for s in seeds] for name, hyper in hyperparameters.items()
    ]
    if one_pass:
        passes = [[run for runs in passes for run in runs]]
    return Setting("compare", passes, **common)


def sweep_setting(
    optimizer: str,
    hyperparameters: dict[str, float],
    lrs: Sequence[float],
    seeds: Sequence[int],
    *,
    max_members: int = 128,
    **common: Any,
) -> Setting:
    """Every learning rate x seed as members of as few passes as ``max_members`` allows."""
    runs = [
        Run(optimizer, {**hyperparameters, "lr": float(lr)}, int(s)) for lr in lrs for s in seeds
    ]
    passes = [runs[i : i + max_members] for i in range(0, len(runs), max_members)]
    return Setting("sweep", passes, **common)


class Reporter:
    """What an experiment tells as it goes; the command line shows it. Override any."""

    def pass_started(self, index: int, runs: list[Run], resumed_at: int) -> None:
        """Pass ``index`` starts (or resumes after epoch ``resumed_at``)."""

    def progress(self, done: int, total: int) -> None:
        """Steps done in the current epoch."""

    def epoch_done(self, index: int, epoch: int, records: list[tuple[Run, EpochRecord]]) -> None:
        """Epoch ``epoch`` of pass ``index`` is complete (and saved)."""

    def pass_done(self, index: int, seconds: float) -> None:
        """Pass ``index`` is complete after ``seconds`` of training and evaluation."""

    def pass_failed(self, index: int, runs: list[Run], error: BaseException) -> None:
        """Pass ``index`` raised ``error`` on a worker (the other passes go on)."""


def run_experiment(
    setting: Setting,
    out: str | os.PathLike[str],
    *,
    resume: bool = False,
    overwrite: bool = False,
    reporter: Reporter | None = None,
    stop_after: Callable[[int, int], bool] | None = None,
    scheduler: str | None = None,
) -> dict[str, Any]:
    """Run (or continue) ``setting``, writing everything into the directory ``out``.

    Parameters
    ----------
    resume
        Continue the experiment already in ``out`` from its last complete epoch; the
        setting must be the same.
    overwrite
        Replace an experiment already in ``out``. Without ``resume`` or ``overwrite``,
        a directory that holds anything is refused.
    stop_after
        ``stop_after(pass_index, epoch)`` returning True stops the experiment after that
        epoch has been saved, as an interruption would (for tests and time limits).
    scheduler
        Run the passes as tasks on a Dask cluster: a scheduler address
        (``tcp://host:8786``), or ``local:N`` for N worker processes on this machine
        (see :mod:`optimlab.experiment.cluster`). Each pass's results are saved as it arrives;
        a pass that fails is reported and the others go on.

    Returns
    -------
    dict
        The results, as written to ``results.json``.
    """
    reporter = reporter or Reporter()
    if scheduler is not None:  # an unreachable scheduler is reported before any file is written
        from .cluster import check

        check(scheduler)
    out = _prepare_directory(Path(out), resume=resume, overwrite=overwrite)
    backend = resolve(setting.device, library=setting.library)
    train, test = _load_data(setting, backend)
    if resume:
        results = load_results(out / "results.json")
        if results["setting"] != _canonical(setting.to_dict()):
            raise ConfigError(
                f"{out} holds an experiment with another setting; run the same command to "
                "resume it, or pass --overwrite to replace it"
            )
    else:
        results = _new_results(setting, backend, train, test)
        _save_results(out, results)
    checkpoint = None
    if resume and (out / "checkpoint.npz").exists():
        checkpoint = checkpoints.load(out / "checkpoint.npz")

    pending = [i for i, p in enumerate(results["passes"]) if not p["complete"]]
    if scheduler is not None:
        from .cluster import run_passes

        for index, record, error in run_passes(setting, pending, scheduler):
            if error is not None:
                results["passes"][index]["error"] = f"{type(error).__name__}: {error}"
                _save_results(out, results)
                reporter.pass_failed(index, setting.passes[index], error)
            else:
                _accept(out, results, setting, record)
                reporter.pass_done(index, record["seconds"])
    for index in [] if scheduler is not None else pending:
        runs = setting.passes[index]
        resume_from = None
        if checkpoint is not None and checkpoint["info"]["pass"] == index:
            resume_from = checkpoint
        reporter.pass_started(index, runs, resume_from["trainer"]["epoch"] if resume_from else 0)

        def after_epoch(
            trainer: Trainer,
            histories: list[History],
            seconds: float,
            index: int = index,
            runs: list[Run] = runs,
        ) -> None:
            results["passes"][index]["seconds"] = seconds
            _store_runs(results, index, runs, histories)
            checkpoints.save(out / "checkpoint.npz", trainer, histories, {"pass": index})
            _save_results(out, results)
            last = [
                (run, h.epochs[-1])
                for run, h in zip(runs, histories)
                if h.epochs and h.epochs[-1].epoch == trainer.epoch
            ]
            reporter.epoch_done(index, trainer.epoch, last)
            if stop_after is not None and stop_after(index, trainer.epoch):
                raise _Stop

        try:
            record = run_pass(
                setting,
                index,
                data=(train, test),
                resume_from=resume_from,
                seconds_so_far=results["passes"][index]["seconds"],
                progress=reporter.progress,
                after_epoch=after_epoch,
            )
        except _Stop:
            return results
        _accept(out, results, setting, record)
        (out / "checkpoint.npz").unlink(missing_ok=True)
        checkpoint = None
        reporter.pass_done(index, record["seconds"])

    if any(not p["complete"] for p in results["passes"]):
        return results  # some trials failed: their errors are in results.json
    results["wall_seconds"] = sum(p["seconds"] for p in results["passes"])
    _save_results(out, results)
    from .. import plotting

    plotting.plot_results(results, out)
    best = summarize(results)[0]
    best_pass = next(
        i for i, runs in enumerate(setting.passes) if any(r.label == best["label"] for r in runs)
    )
    model = MLP.load(
        out / "models" / f"{_model_name(setting, best_pass)}.npz",
        device=backend.device,
        xp=backend.xp,
    )
    member = next(k for k, r in enumerate(setting.passes[best_pass]) if r.label == best["label"])
    plotting.plot_misclassified(
        model.member(member),
        test,
        out / "misclassified.png",
        title=f"{best['label']}, seed {setting.passes[best_pass][member].seed}",
    )
    return results


def run_pass(
    setting: Setting,
    index: int,
    *,
    data: tuple[datasets.Dataset, datasets.Dataset] | None = None,
    resume_from: dict[str, Any] | None = None,
    seconds_so_far: float = 0.0,
    progress: Callable[[int, int], None] | None = None,
    after_epoch: Callable[[Trainer, list[History], float], None] | None = None,
) -> dict[str, Any]:
    """Train pass ``index`` of ``setting`` (its runs as members); return its record.

    A pure function of ``(setting, index)``: the local path and a Dask worker run it
    alike and get the same record (NumPy's BLAS runs single-threaded here, so that the
    products sum in the same order everywhere). ``data`` saves loading the data set again;
    ``resume_from`` is a :func:`optimlab.train.checkpoint.load` result to continue from;
    ``after_epoch(trainer, histories, seconds)`` is called after each epoch.

    Returns
    -------
    dict
        ``{"pass", "seconds", "histories" (plain dicts), "params" (host array)}``.
    """
    backend = resolve(setting.device, library=setting.library)
    train, test = data if data is not None else _load_data(setting, backend)
    runs = setting.passes[index]
    seeds = [r.seed for r in runs]
    model = MLP(
        setting.layers,
        setting.activation,
        setting.output,
        seed=seeds,
        device=backend.device,
        xp=backend.xp,
        dtype=setting.dtype,
    )
    trainer = Trainer(
        model, [r.make() for r in runs], train, batch_size=setting.batch_size, seed=seeds
    )
    histories = None
    if resume_from is not None:
        trainer.restore(resume_from["trainer"])
        histories = resume_from["histories"]
    started = time.perf_counter() - seconds_so_far
    hook = None
    if after_epoch is not None:

        def hook(histories: list[History]) -> None:
            after_epoch(trainer, histories, time.perf_counter() - started)

    # One BLAS thread: OpenBLAS's threaded products sum in another order, and a pass
    # must give the same numbers wherever it runs (a Dask worker runs single-threaded).
    with threadpool_limits(limits=1, user_api="blas"):
        histories = trainer.run(
            setting.epochs, monitor=test, progress=progress, histories=histories, after_epoch=hook
        )
    return {
        "pass": index,
        "seconds": time.perf_counter() - started,
        "histories": [h.to_dict() for h in histories],
        "params": np.array(to_numpy(model.params), copy=True),
    }


def _accept(out: Path, results: dict[str, Any], setting: Setting, record: dict[str, Any]) -> None:
    """Save a finished pass: its model, and its runs in results.json and results.csv."""
    index = record["pass"]
    runs = setting.passes[index]
    model = MLP(
        setting.layers,
        setting.activation,
        setting.output,
        seed=[r.seed for r in runs],
        dtype=setting.dtype,
        params=record["params"],
    )
    model.save(out / "models" / f"{_model_name(setting, index)}.npz")
    results["passes"][index] = {"seconds": record["seconds"], "complete": True}
    histories = [History.from_dict(h) for h in record["histories"]]
    _store_runs(results, index, runs, histories)
    _save_results(out, results)


class _Stop(Exception):
    """Raised by ``stop_after`` to end the experiment after a saved epoch."""


def load_results(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a ``results.json`` written by optimlab; a clear error for anything else."""
    path = Path(path)
    try:
        results = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"results file {path} does not exist") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DataError(f"results file {path} is not readable JSON: {error}") from None
    if not isinstance(results, dict) or results.get("format") != RESULTS_FORMAT:
        raise DataError(f"{path} is not an optimlab results file (no format '{RESULTS_FORMAT}')")
    if results.get("version", 0) > _VERSION:
        raise DataError(
            f"{path} has results format version {results['version']}; "
            f"this optimlab reads up to {_VERSION}"
        )
    return results


def summarize(results: dict[str, Any], target: float = 0.95) -> list[dict[str, Any]]:
    """Per setting (optimizer with hyper-parameters): the figures of the final table.

    Over the seeds: final test accuracy and loss (mean and standard deviation), the
    best mean accuracy and its epoch, the first epoch whose mean accuracy reaches
    ``target`` (None if none does), and the wall seconds of the passes that trained
    it. Sorted by final mean accuracy, best first.
    """
    groups: dict[str, list[dict[str, Any]]] = {}
    for run in results["runs"]:
        groups.setdefault(Run(run["optimizer"], run["hyperparameters"], 0).label, []).append(run)
    rows = []
    for label, runs in groups.items():
        finished = [r for r in runs if r["epochs"]]
        length = min((len(r["epochs"]) for r in finished), default=0)
        curves = np.array([[e["test_accuracy"] for e in r["epochs"][:length]] for r in finished])
        losses = np.array([[e["test_loss"] for e in r["epochs"][:length]] for r in finished])
        mean = curves.mean(axis=0) if length else np.array([math.nan])
        reached = np.flatnonzero(mean >= target)
        passes = {r["pass"] for r in runs}
        rows.append(
            {
                "label": label,
                "optimizer": runs[0]["optimizer"],
                "hyperparameters": runs[0]["hyperparameters"],
                "seeds": len(runs),
                "epochs": length,
                "diverged": sum(r["status"] not in ("completed", "running") for r in runs),
                "accuracy_mean": float(mean[-1]),
                "accuracy_std": float(curves[:, -1].std()) if length else math.nan,
                "loss_mean": float(losses[:, -1].mean()) if length else math.nan,
                "loss_std": float(losses[:, -1].std()) if length else math.nan,
                "best_accuracy": float(mean.max()),
                "best_epoch": int(mean.argmax()) + 1,
                "epoch_to_target": int(reached[0]) + 1 if reached.size else None,
                "seconds": sum(results["passes"][p]["seconds"] for p in passes),
                "shared_pass": any(
                    len(
                        {
                            Run(r["optimizer"], r["hyperparameters"], 0).label
                            for r in results["runs"]
                            if r["pass"] == p
                        }
                    )
                    > 1
                    for p in passes
                ),
            }
        )
    return sorted(rows, key=lambda row: -row["accuracy_mean"] if row["epochs"] else math.inf)


# -- files ------------------------------------------------------------------------------


def _prepare_directory(out: Path, *, resume: bool, overwrite: bool) -> Path:
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
    return out


def _save_results(out: Path, results: dict[str, Any]) -> None:
    with atomic_write(out / "results.json", "w") as f:
        json.dump(results, f, indent=1)
        f.write("\n")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    names = sorted({k for run in results["runs"] for k in run["hyperparameters"]})
    writer.writerow(
        [
            "optimizer",
            *names,
            "seed",
            "epoch",
            "train_loss",
            "test_accuracy",
            "test_loss",
            "seconds",
            "status",
        ]
    )
    for run in results["runs"]:
        hyper = [run["hyperparameters"].get(k, "") for k in names]
        for e in run["epochs"]:
            writer.writerow(
                [
                    run["optimizer"],
                    *hyper,
                    run["seed"],
                    e["epoch"],
                    e["train_loss"],
                    e["test_accuracy"],
                    e["test_loss"],
                    e["seconds"],
                    run["status"],
                ]
            )
    with atomic_write(out / "results.csv", "w") as f:
        f.write(buffer.getvalue())


def _store_runs(
    results: dict[str, Any], index: int, runs: list[Run], histories: list[History]
) -> None:
    stored = [r for r in results["runs"] if r["pass"] == index]
    for record, history in zip(stored, histories, strict=True):
        record["epochs"] = [asdict(e) for e in history.epochs]
        record["status"] = (
            history.status
            if history.diverged
            else ("completed" if results["passes"][index]["complete"] else "running")
        )


def _model_name(setting: Setting, index: int) -> str:
    names = {r.optimizer for r in setting.passes[index]}
    if setting.kind == "compare" and len(names) == 1:
        return names.pop()
    return f"pass-{index}"


# -- data and environment ----------------------------------------------------------------


def _load_data(setting: Setting, backend: Backend) -> tuple[datasets.Dataset, datasets.Dataset]:
    if setting.data is None:
        train, test = datasets.load_mnist(device=backend.device, xp=backend.xp, dtype=setting.dtype)
    else:
        train, test = datasets.load_idx_dir(
            setting.data, device=backend.device, xp=backend.xp, dtype=setting.dtype
        )
    if setting.limit_train is not None:
        train = train.head(setting.limit_train)
    return train, test


def _new_results(
    setting: Setting, backend: Backend, train: datasets.Dataset, test: datasets.Dataset
) -> dict[str, Any]:
    return {
        "format": RESULTS_FORMAT,
        "version": _VERSION,
        "kind": setting.kind,
        "setting": _canonical(setting.to_dict()),
        "data": {"name": train.name or "idx", "train_samples": train.n, "test_samples": test.n},
        "environment": _environment(backend),
        "passes": [{"seconds": 0.0, "complete": False} for _ in setting.passes],
        "runs": [
            {**asdict(run), "pass": index, "status": "pending", "epochs": []}
            for index, runs in enumerate(setting.passes)
            for run in runs
        ],
        "wall_seconds": None,
    }


def _canonical(d: dict[str, Any]) -> dict[str, Any]:
    """``d`` as it reads back from JSON (tuples become lists), for comparisons."""
    return json.loads(json.dumps(d))


def _environment(backend: Backend) -> dict[str, Any]:
    import array_api_compat
    import matplotlib

    versions = {
        "optimlab": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "array_api_compat": array_api_compat.__version__,
        "matplotlib": matplotlib.__version__,
    }
    device_name = _cpu_name()
    if backend.captures_graphs:  # PyTorch on CUDA
        import torch

        versions["torch"] = torch.__version__
        device_name = torch.cuda.get_device_name(backend.device)
    elif array_api_compat.is_torch_namespace(backend.xp):
        import torch

        versions["torch"] = torch.__version__
    if array_api_compat.is_cupy_namespace(backend.xp):
        import cupy

        versions["cupy"] = cupy.__version__
        device_name = cupy.cuda.runtime.getDeviceProperties(backend.device.id)["name"].decode()
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "backend": backend.name,
        "device_name": device_name,
        "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores",
        "versions": versions,
        "git_revision": _git_revision(),
    }


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "cpu"


def _git_revision() -> str | None:
    """The commit of the source checkout optimlab runs from, if it runs from one."""
    source = Path(__file__).resolve().parent
    try:
        done = subprocess.run(
            ["git", "-C", str(source), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None if done.returncode == 0 else None
