"""Executors: who runs an experiment's passes, each a task (:class:`PassTask`).

* :class:`Serial` runs them one after the other in this process;
* :class:`Processes` runs them in N local worker processes (``--jobs N``), the
  longest first so that the workers finish together;
* :class:`Dask` submits them to a Dask cluster (``--scheduler ADDRESS``).

A pass is a pure function of the setting and its index, and it runs with one
BLAS thread everywhere, so every executor gives the serial figures bit for bit.
Each executor tells a :class:`Listener` about every pass in the calling process
and thread: the local ones after every epoch, Dask when a pass is back.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import queue
import signal
import sys
import threading
from collections.abc import Sequence
from typing import Any, Protocol

from .. import datasets, optimizers
from .._checks import positive_int
from ..train import History
from .data import worker_data
from .passes import PassListener, PassRecord, PassTask, run_task
from .settings import Setting

__all__ = [
    "Dask",
    "Executor",
    "Listener",
    "Processes",
    "Serial",
    "choose",
    "estimated_cost",
    "usable_cores",
]


class Listener(PassListener, Protocol):
    """What an executor tells its caller, in the caller's process and thread."""

    def progress(self, done: int, total: int) -> None:
        """Steps done in the current epoch (only where the passes run one at a time)."""

    def pass_done(self, record: PassRecord) -> None:
        """A pass is finished; ``record`` holds its histories and trained parameters."""

    def pass_failed(self, index: int, error: BaseException) -> None:
        """Pass ``index`` raised ``error`` in a worker; the other passes go on."""


class Executor(Protocol):
    """Runs tasks and reports to a listener; returns when every task is done or failed."""

    def run(
        self,
        tasks: Sequence[PassTask],
        listener: Listener,
        data: tuple[datasets.Dataset, datasets.Dataset],
    ) -> None:
        """Run ``tasks``; ``data`` is the setting's data, already loaded in this process."""


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity where the system tells it)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def choose(jobs: int | None, scheduler: str | None, tasks: int) -> Executor:
    """The executor for ``tasks`` passes: Dask with a ``scheduler`` address, else
    ``jobs`` worker processes (None: :func:`usable_cores`), and :class:`Serial`
    where one process is all that would work."""
    if scheduler is not None:
        return Dask(scheduler)
    jobs = usable_cores() if jobs is None else positive_int("jobs", jobs)
    return Serial() if min(jobs, tasks) <= 1 else Processes(min(jobs, tasks))


def estimated_cost(setting: Setting, index: int) -> float:
    """How long pass ``index`` takes, in units of one SGD member (for the order only): each
    optimizer's :attr:`~optimlab.optimizers.Optimizer.pass_cost`; an unknown one counts 3."""
    costs = {name: cls.pass_cost for name, cls in optimizers.OPTIMIZERS.items()}
    return sum(costs.get(trial.optimizer, 3.0) for trial in setting.passes[index])


class Serial:
    """The passes one after the other in this process, in their order.

    An error in a pass ends the experiment with that error, as in any program.
    """

    def run(
        self,
        tasks: Sequence[PassTask],
        listener: Listener,
        data: tuple[datasets.Dataset, datasets.Dataset],
    ) -> None:
        for task in tasks:
            listener.pass_done(run_task(task, data, listener, listener.progress))


class Processes:
    """The passes in ``workers`` local processes, the longest first: this one and
    ``workers - 1`` started ones.

    Scheduling the longest first (LPT) keeps the last pass from starting alone at the
    end: the report's 7 optimizers on 2 workers took 0.53 of the serial time
    (docs/distributed.md). This process takes the longest pass at once, with the data it
    has loaded, while the others start (a fresh interpreter imports optimlab and loads
    the data set: about a second each, which short runs felt); between its epochs it
    passes the workers' news on. Each started worker loads the data set once, writes its
    pass's checkpoint after every epoch and sends the epoch's figures back; a pass that
    raises is reported and the others go on, wherever it ran. The workers are started
    with ``spawn`` (a fresh interpreter: safe with CUDA and with threads), ignore Ctrl-C
    (this process handles it) and are ended when this process stops waiting for them.
    """

    #: Seconds without news after which the workers are checked for a crash.
    POLL_S = 1.0

    def __init__(self, workers: int) -> None:
        self.workers = positive_int("jobs", workers)

    def run(
        self,
        tasks: Sequence[PassTask],
        listener: Listener,
        data: tuple[datasets.Dataset, datasets.Dataset],
    ) -> None:
        if not tasks:
            return
        context = multiprocessing.get_context("spawn")
        inbox, events = context.Queue(), context.Queue()
        order = sorted(tasks, key=lambda t: -estimated_cost(t.setting, t.index))
        count = min(self.workers, len(tasks))
        here, queued = order[0], order[1:]
        for task in queued:
            inbox.put(task)
        for _ in range(count):
            inbox.put(None)  # one "no more work" per worker, this process included
        workers = [
            context.Process(target=_work, args=(inbox, events), daemon=True)
            for _ in range(count - 1)
        ]
        for worker in workers:
            worker.start()
        news = _News(events, workers, {t.index for t in tasks}, listener)
        try:
            while here is not None:
                _run_here(here, data, news)
                here = inbox.get()
            news.listen(self.POLL_S)
            for worker in workers:  # every pass is back: the workers are on their way out
                worker.join(timeout=self.POLL_S)
        finally:
            for worker in workers:
                if worker.is_alive():
                    worker.terminate()
            for worker in workers:
                worker.join()
            inbox.cancel_join_thread()


def _run_here(task: PassTask, data: tuple[datasets.Dataset, datasets.Dataset], news: _News) -> None:
    """Run ``task`` in this process as a worker would, passing the workers' news on between
    its epochs. An error of the pass fails it alone; one of the listener (an interruption,
    a stop) ends the experiment as it would in :meth:`_News.listen`."""
    listener = _Here(news)
    try:
        record = run_task(task, data, listener)
    except Exception as error:
        if error is listener.raised:
            raise
        news.pending.discard(task.index)
        news.listener.pass_failed(task.index, error)
    else:
        news.pending.discard(task.index)
        news.listener.pass_done(record)


class _Here:
    """The listener of a pass run in this process: the caller's, then the workers' news."""

    def __init__(self, news: _News) -> None:
        self.news = news
        self.raised: BaseException | None = None

    def pass_started(self, index: int, resumed_at: int) -> None:
        self._tell(self.news.listener.pass_started, index, resumed_at)

    def epoch_done(self, index: int, epoch: int, seconds: float, histories: list[History]) -> None:
        self._tell(self.news.listener.epoch_done, index, epoch, seconds, histories)

    def _tell(self, method: Any, *args: Any) -> None:
        try:
            method(*args)
            self.news.drain()
        except Exception as error:  # the listener's, not the pass's: it ends the experiment
            self.raised = error
            raise


class _News:
    """The workers' news for ``listener``, in this process and thread, until no pass is
    pending: as it comes (:meth:`listen`) or what has come so far (:meth:`drain`)."""

    def __init__(self, events: Any, workers: list[Any], pending: set[int], listener: Listener):
        self.events, self.workers, self.pending, self.listener = events, workers, pending, listener
        self.running: dict[int, int] = {}  # worker pid -> the index of the pass it runs

    def listen(self, poll: float) -> None:
        while self.pending:
            try:
                self._tell(*self.events.get(timeout=poll))
            except queue.Empty:
                self._check_workers()
                if self.pending and not any(worker.is_alive() for worker in self.workers):
                    for lost in sorted(self.pending):
                        self.listener.pass_failed(lost, RuntimeError("no worker process is left"))
                    self.pending.clear()

    def drain(self) -> None:
        while True:
            try:
                event = self.events.get_nowait()
            except queue.Empty:
                break
            self._tell(*event)
        self._check_workers()

    def _check_workers(self) -> None:
        for worker in self.workers:  # a worker that died without a word fails its pass
            if worker.exitcode not in (None, 0) and worker.pid in self.running:
                lost = self.running.pop(worker.pid)
                self.pending.discard(lost)
                error = RuntimeError(f"the worker process ended with code {worker.exitcode}")
                self.listener.pass_failed(lost, error)

    def _tell(self, kind: str, pid: int, index: int, payload: Any) -> None:
        if kind == "taken":
            self.running[pid] = index
        elif kind == "started":
            self.listener.pass_started(index, *payload)
        elif kind == "epoch":
            self.listener.epoch_done(index, *payload)
        else:
            self.running.pop(pid, None)
            self.pending.discard(index)
            if kind == "done":
                self.listener.pass_done(payload)
            else:
                self.listener.pass_failed(index, payload)


class _Forward:
    """A worker's listener: sends the news to the parent process."""

    def __init__(self, events: Any) -> None:
        self.events, self.pid = events, os.getpid()

    def pass_started(self, index: int, resumed_at: int) -> None:
        self.events.put(("started", self.pid, index, (resumed_at,)))

    def epoch_done(self, index: int, epoch: int, seconds: float, histories: list[History]) -> None:
        self.events.put(("epoch", self.pid, index, (epoch, seconds, histories)))


def _work(inbox: Any, events: Any) -> None:
    """A worker process: run tasks from ``inbox`` until told there are no more."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # On terminate(), unwind as an exception does, so atomic writes remove their
    # temporary files.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    # A parent killed outright (SIGTERM, SIGKILL) cannot end its workers: they end
    # themselves when it is gone, instead of training for nobody.
    threading.Thread(
        target=_end_with, args=(multiprocessing.parent_process(),), daemon=True
    ).start()
    forward = _Forward(events)
    while (task := inbox.get()) is not None:
        events.put(("taken", forward.pid, task.index, None))
        try:
            record = run_task(task, worker_data(task.setting), forward)
        except Exception as error:
            events.put(("failed", forward.pid, task.index, _sendable(error)))
        else:
            events.put(("done", forward.pid, task.index, record))


def _end_with(parent: Any) -> None:
    parent.join()
    os.kill(os.getpid(), signal.SIGTERM)


def _sendable(error: Exception) -> Exception:
    """``error`` if it survives pickling, else a RuntimeError that tells what it was."""
    try:
        pickle.loads(pickle.dumps(error))
    except Exception:
        return RuntimeError(f"{type(error).__name__}: {error}")
    return error


class Dask:
    """The passes as tasks on the Dask cluster at ``address`` (:mod:`.cluster`).

    Workers load the data themselves and write no checkpoints (they may be other
    machines); each pass's record is saved as it comes back, a pass that raises is
    reported and the others go on, and Dask runs a lost worker's passes again.
    """

    def __init__(self, address: str) -> None:
        self.address = address

    def run(
        self,
        tasks: Sequence[PassTask],
        listener: Listener,
        data: tuple[datasets.Dataset, datasets.Dataset],
    ) -> None:
        from .cluster import run_passes

        if not tasks:
            return
        setting = tasks[0].setting
        order = sorted((t.index for t in tasks), key=lambda i: -estimated_cost(setting, i))
        for index, record, error in run_passes(setting, order, self.address):
            if error is not None:
                listener.pass_failed(index, error)
            else:
                listener.pass_done(record)
