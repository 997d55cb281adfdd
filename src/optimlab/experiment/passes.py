"""A pass: the trials of one group trained side by side as the members of one model.

:func:`run_pass` is a pure function of ``(setting, index)``: the serial path, a
worker process and a Dask worker run it alike and get the same
:class:`PassRecord`, bit for bit on the CPU. :func:`run_task` wraps it with what
a local executor adds: continuing from a checkpoint file, writing it after every
epoch, and telling a :class:`PassListener` how the pass goes.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
from threadpoolctl import threadpool_limits

from .. import datasets
from ..backend import resolve, to_numpy
from ..errors import ConfigError
from ..train import History, Trainer
from ..train import checkpoint as checkpoints
from .data import split_validation
from .resume import require_same_data
from .settings import Setting

__all__ = ["PassListener", "PassRecord", "PassTask", "run_pass", "run_task"]


@dataclass
class PassRecord:
    """A finished pass: its wall seconds, one history per trial, the trained parameters."""

    index: int
    seconds: float
    histories: list[History]
    #: The members' parameters as a host (NumPy) array, as ``MLP(params=...)`` takes them.
    params: np.ndarray


@dataclass(frozen=True)
class PassTask:
    """Pass ``index`` of ``setting`` as an executor runs it.

    ``checkpoint`` is the file written after every epoch (None: none);
    ``resume_from`` a checkpoint file to continue from; ``seconds_so_far`` the
    seconds already spent, for a checkpoint that does not record them.
    """

    setting: Setting
    index: int
    checkpoint: str | None = None
    resume_from: str | None = None
    seconds_so_far: float = 0.0
    data_files: dict[str, str] = field(default_factory=dict)


class PassListener(Protocol):
    """What :func:`run_task` tells as a pass goes (in the process that runs it)."""

    def pass_started(self, index: int, resumed_at: int) -> None:
        """Pass ``index`` starts, or resumes after epoch ``resumed_at``."""

    def epoch_done(self, index: int, epoch: int, seconds: float, histories: list[History]) -> None:
        """Epoch ``epoch`` is complete (and checkpointed): ``seconds`` so far, the histories."""


def run_pass(
    setting: Setting,
    index: int,
    *,
    data: tuple[datasets.Dataset, datasets.Dataset] | None = None,
    resume_from: dict[str, Any] | None = None,
    seconds_so_far: float = 0.0,
    progress: Callable[[int, int], None] | None = None,
    after_epoch: Callable[[Trainer, list[History], float], None] | None = None,
) -> PassRecord:
    """Train pass ``index`` of ``setting`` (its trials as members); return its record.

    NumPy's BLAS runs single-threaded here, so that the products sum in the same
    order in every process. ``data`` saves loading the data set again;
    ``resume_from`` is a :func:`optimlab.train.checkpoint.load` result to continue
    from; ``after_epoch(trainer, histories, seconds)`` is called after each epoch.
    """
    backend = resolve(setting.device, library=setting.library)
    train, test = data if data is not None else setting.problem.load_data(setting, backend)
    validation = None
    if setting.validation is not None:
        train, held_out = split_validation(train, setting.validation, setting.split_seed)
        validation = setting.problem.validation_set(held_out)
    monitor = None if setting.evaluate == "validation" else test  # tuning never sees it
    trials = setting.passes[index]
    seeds = [t.seed for t in trials]
    model = setting.problem.make_model(setting, seeds, backend)
    per_epoch = math.ceil(train.n / setting.batch_size)
    chosen = [t.make(per_epoch, per_epoch * setting.epochs) for t in trials]
    trainer = Trainer(
        model,
        chosen,
        train,
        batch_size=setting.batch_size,
        seed=seeds,
        reference_loss=setting.problem.chance_loss(setting),
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
    # must give the same numbers wherever it runs.
    with threadpool_limits(limits=1, user_api="blas"):
        histories = trainer.run(
            setting.epochs,
            monitor=monitor,
            validation=validation,
            progress=progress,
            histories=histories,
            after_epoch=hook,
        )
    return PassRecord(
        index,
        time.perf_counter() - started,
        histories,
        np.array(to_numpy(trainer.eval_params()), copy=True),
    )


def run_task(
    task: PassTask,
    data: tuple[datasets.Dataset, datasets.Dataset],
    listener: PassListener,
    progress: Callable[[int, int], None] | None = None,
) -> PassRecord:
    """Run ``task``: continue from its checkpoint if any, write it after every epoch.

    The checkpoint is written (atomically) before ``listener.epoch_done`` hears of
    the epoch, so whatever the listener saved is never ahead of it.
    """
    index = task.index
    saved = checkpoints.load(task.resume_from) if task.resume_from is not None else None
    seconds_so_far = task.seconds_so_far
    if saved is not None:
        if saved["info"].get("pass") != index:
            raise ConfigError(
                f"{task.resume_from} is not pass {index}'s checkpoint of this experiment "
                "(a train checkpoint?): move it away, or pass --overwrite to start again"
            )
        seconds_so_far = float(saved["info"].get("seconds", seconds_so_far))
        require_same_data(
            saved["info"].get("data", {}),
            task.data_files,
            f"checkpoint {task.resume_from}",
            "restore the files, or start the experiment again with --overwrite",
        )
    listener.pass_started(index, saved["trainer"].epoch if saved is not None else 0)

    def after_epoch(trainer: Trainer, histories: list[History], seconds: float) -> None:
        if task.checkpoint is not None:
            info = {"pass": index, "seconds": seconds, "data": task.data_files}
            checkpoints.save(task.checkpoint, trainer, histories, info)
        listener.epoch_done(index, trainer.epoch, seconds, histories)

    return run_pass(
        task.setting,
        index,
        data=data,
        resume_from=saved,
        seconds_so_far=seconds_so_far,
        progress=progress,
        after_epoch=after_epoch,
    )
