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

import contextlib
import multiprocessing
import os
import pickle
import queue
import signal
import sys
import threading
import warnings
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

    Each worker talks to this process over a pipe of its own, read by a thread here that
    hands it its next pass as soon as it asks. Pipes are file descriptors that the system
    closes with their process: unlike ``multiprocessing.Queue`` (named semaphores, which
    only this process can unlink), nothing is left behind when it is killed (``kill -9``
    made the resource tracker print "leaked semaphore objects" on the terminal), and a
    worker that dies mid-message cannot block the others. A worker's warnings come over
    its pipe too, and are issued here under this process's filters (the command line's).
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
        order = sorted(tasks, key=lambda t: -estimated_cost(t.setting, t.index))
        count = min(self.workers, len(tasks))
        here, queued = order[0], _Queued(order[1:])
        pipes = [context.Pipe() for _ in range(count - 1)]
        workers = [context.Process(target=_work, args=(end,), daemon=True) for _, end in pipes]
        for worker in workers:
            worker.start()
        for _, end in pipes:
            end.close()  # the worker's end is the worker's now
        events: queue.Queue[tuple[str, int | None, int | None, Any]] = queue.Queue()
        connections = dict(zip((mine for mine, _ in pipes), workers))
        reader = threading.Thread(
            target=_read, args=(connections, queued, events), name="optimlab-workers", daemon=True
        )
        reader.start()
        news = _News(events, workers, {t.index for t in tasks}, listener)
        try:
            while here is not None:
                _run_here(here, data, news)
                here = queued.take()
            news.listen(self.POLL_S)
            for worker in workers:  # every pass is back: the workers are on their way out
                worker.join(timeout=self.POLL_S)
        finally:
            queued.close()  # a worker that asks now is told to stop
            for worker in workers:
                if worker.is_alive():
                    worker.terminate()
            for worker in workers:
                worker.join()
            reader.join()  # it ends once every worker's pipe is closed
            for connection in connections:
                connection.close()


class _Queued:
    """The passes no process has taken yet, longest first, shared by this process's
    thread and the reader of the workers' pipes."""

    def __init__(self, tasks: Sequence[PassTask]) -> None:
        self.tasks, self.lock, self.closed = list(tasks), threading.Lock(), False

    def take(self) -> PassTask | None:
        """The next pass, or None: none is left, or the run is over."""
        with self.lock:
            return None if self.closed or not self.tasks else self.tasks.pop(0)

    def close(self) -> None:
        with self.lock:
            self.closed = True


def _read(connections: dict[Any, Any], queued: _Queued, events: queue.Queue) -> None:
    """The thread that reads the workers' pipes until every one is closed: their news
    into ``events`` (as :meth:`_News._tell` takes them), and to a worker that is ready
    or done its next pass (None: stop)."""
    from multiprocessing.connection import wait

    waiting = dict(connections)
    while waiting:
        for connection in wait(list(waiting)):
            worker = waiting[connection]
            try:
                kind, index, payload = connection.recv()
            except (EOFError, OSError):  # the worker is gone: _News tells if it had a pass
                del waiting[connection]
                continue
            except Exception as error:  # a message this process cannot unpickle
                events.put(("unreadable", worker.pid, None, _sendable(error)))
                worker.terminate()  # its pass has failed; what it says next means nothing
                continue
            if kind != "ready":
                events.put((kind, worker.pid, index, payload))
            if kind in ("ready", "done", "failed"):
                task = queued.take()
                if task is not None:  # before the worker can say anything of it
                    events.put(("taken", worker.pid, task.index, None))
                with contextlib.suppress(OSError):  # gone: _News tells
                    connection.send(task)


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

    def _tell(self, kind: str, pid: int, index: int | None, payload: Any) -> None:
        if kind == "warning":  # a worker's, under this process's filters (the command's)
            category, text = payload
            warnings.warn(text, category, stacklevel=2)
            return
        if kind == "unreadable":  # the worker's pass, whatever the message was
            kind, index = "failed", self.running.get(pid)
            if index is None:
                return
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
    """A worker's listener: sends the news to the parent process over the worker's pipe."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection

    def pass_started(self, index: int, resumed_at: int) -> None:
        self.connection.send(("started", index, (resumed_at,)))

    def epoch_done(self, index: int, epoch: int, seconds: float, histories: list[History]) -> None:
        self.connection.send(("epoch", index, (epoch, seconds, histories)))

    def warning(self, message: Warning | str, category: type[Warning], *args: Any, **kw: Any):
        """A ``warnings.showwarning``: the warning goes to the parent, which issues it under
        its own filters (a worker printing it would bypass them: the command line's one
        line, or none for a diverged run's RuntimeWarning, whose status says it)."""
        known = next(c for c in category.__mro__ if c.__module__.split(".")[0] in _KNOWN)
        with contextlib.suppress(Exception):  # never the pass's failure
            self.connection.send(("warning", None, (known, str(message))))


#: The modules of warning classes the parent can unpickle (another's: its nearest base).
_KNOWN = ("builtins", "optimlab")


def _work(connection: Any) -> None:
    """A worker process: ask for a pass, run it, say how it went, until told to stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # On terminate(), unwind as an exception does, so atomic writes remove their
    # temporary files.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    # A parent killed outright (SIGTERM, SIGKILL) cannot end its workers: they end
    # themselves when it is gone, instead of training for nobody.
    threading.Thread(
        target=_end_with, args=(multiprocessing.parent_process(),), daemon=True
    ).start()
    forward = _Forward(connection)
    warnings.simplefilter("always")  # every warning goes to the parent, which filters
    warnings.showwarning = forward.warning
    try:
        connection.send(("ready", None, None))
        while (task := connection.recv()) is not None:
            try:
                record = run_task(task, worker_data(task.setting), forward)
            except Exception as error:
                connection.send(("failed", task.index, _sendable(error)))
            else:
                connection.send(("done", task.index, record))
    except (EOFError, BrokenPipeError, ConnectionResetError):
        return  # the parent is gone: nobody to work for


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
