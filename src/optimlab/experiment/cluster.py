"""Experiments on a Dask cluster: each pass of an experiment is one task.

A pass (:func:`optimlab.experiment.passes.run_pass`) is a pure function of the
experiment's setting and the pass's index; a worker runs exactly what the local
executors run, loading the data set itself (the packaged MNIST, or a ``--data-dir``
that must exist on every worker), and sends back the record: the histories and
the trained parameters. Nothing about Dask is imported unless this module is
used (``pip install 'optimlab[distributed]'``).

Addresses: ``tcp://host:8786`` for a running scheduler (``dask scheduler`` and
``dask worker tcp://host:8786`` on each machine), or ``local:N`` for a
``LocalCluster`` of N worker processes on this machine.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator, Sequence
from typing import Any

from ..errors import ConfigError, DeviceError
from .data import worker_data
from .passes import PassRecord, run_pass
from .settings import Setting

__all__ = ["check", "connect", "local_workers", "run_passes"]


#: Seconds to wait for a scheduler before giving up.
CONNECT_TIMEOUT_S = 10.0


@contextlib.contextmanager
def connect(address: str, timeout: float | None = None) -> Iterator[Any]:
    """A ``dask.distributed.Client`` for ``address`` (closed, with its cluster, on exit).

    Raises
    ------
    DeviceError
        Dask is not installed, or the scheduler cannot be reached.
    ConfigError
        ``local:N`` with N not a positive integer.
    """
    try:
        import dask
        from distributed import Client, LocalCluster
    except ImportError:
        raise DeviceError(
            "--scheduler needs Dask's distributed package: pip install 'optimlab[distributed]'"
        ) from None
    count = local_workers(address)
    if count is not None:
        # One thread per worker: the passes are single-threaded NumPy loops. Dask starts
        # workers with MALLOC_TRIM_THRESHOLD_ set, which stops glibc from raising its mmap
        # threshold: every temporary over 128 KiB is then mapped and faulted in afresh,
        # which made a pass 2-3x slower (measured). A 32 MiB threshold keeps them on the heap.
        with (
            dask.config.set({_MMAP: 1 << 25}),
            LocalCluster(
                n_workers=count,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                silence_logs=logging.ERROR,
            ) as cluster,
            Client(cluster) as client,
        ):
            yield client
        return
    try:
        client = Client(address, timeout=CONNECT_TIMEOUT_S if timeout is None else timeout)
    except (OSError, TimeoutError, ValueError) as error:
        raise DeviceError(f"cannot reach the Dask scheduler at {address}: {error}") from None
    with client:
        yield client


def check(address: str) -> None:
    """Raise the error :func:`connect` would, without keeping a connection (before any
    file is written). ``local:N`` needs only Dask to be installed."""
    if local_workers(address) is None:
        with connect(address):
            pass
        return
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise DeviceError(
            "--scheduler needs Dask's distributed package: pip install 'optimlab[distributed]'"
        ) from None


def local_workers(address: str) -> int | None:
    """N for an address ``local:N`` (a cluster of N processes here); None for another.

    Raises
    ------
    ConfigError
        ``local:N`` with N not a positive integer.
    """
    if not address.startswith("local:"):
        return None
    count = address.partition(":")[2]
    if not count.isdigit() or int(count) < 1:
        raise ConfigError(
            f"--scheduler local:N needs a positive number of workers, not {address!r}"
        )
    return int(count)


def run_passes(
    setting: Setting, indices: Sequence[int], address: str
) -> Iterator[tuple[int, PassRecord | None, BaseException | None]]:
    """Run the passes ``indices`` of ``setting`` on the cluster at ``address``.

    The passes are submitted in the order of ``indices``, the first with the highest
    priority. Yields ``(index, record, None)`` for each pass as it finishes, in the
    order they finish, or ``(index, None, error)`` for one that raised. A lost
    worker's passes are run again on the others by Dask.

    Raises
    ------
    ConfigError
        ``setting.data`` is not a directory on every worker.
    """
    from distributed import as_completed

    with connect(address) as client:
        if setting.data is not None:
            found = client.run(os.path.isdir, setting.data)
            missing = sorted(worker for worker, ok in found.items() if not ok)
            if missing or not found:
                raise ConfigError(
                    f"--data-dir {setting.data} does not exist on the workers "
                    f"{', '.join(missing) or '(none connected)'}"
                )
        spec = setting.to_dict()
        futures = {
            client.submit(
                _run_pass,
                spec,
                index,
                pure=False,
                priority=len(indices) - rank,
                key=f"optimlab-pass-{index}-{os.getpid()}-{id(setting)}",
            ): index
            for rank, index in enumerate(indices)
        }
        for future in as_completed(futures):
            index = futures[future]
            try:
                yield index, future.result(), None
            except Exception as error:
                yield index, None, error


_MMAP = "distributed.nanny.pre-spawn-environ.MALLOC_MMAP_THRESHOLD_"


def _run_pass(spec: dict[str, Any], index: int) -> PassRecord:
    """What a worker runs: the local executors' function, from a plain specification."""
    setting = Setting.from_dict(spec)
    return run_pass(setting, index, data=worker_data(setting))
