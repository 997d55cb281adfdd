"""The ``optimlab`` command line: argument parsing and error reporting only.

Bad input (an unknown name, an impossible hyper-parameter, a corrupt file, a
device that is not there) is reported as one sentence on standard error with
exit code 2, before any long work starts and without a traceback; so are a lack
of memory and a file the system refuses to write (a full disk, a file-size
limit), whenever they happen.

* :mod:`.parser` — the arguments of every command;
* :mod:`.model_commands` — ``train`` and ``evaluate``;
* :mod:`.experiment_commands` — ``compare``, ``sweep`` and ``plot``;
* :mod:`.benchmark_command` — ``benchmark``;
* :mod:`.trajectories_command` — ``trajectories``;
* :mod:`.display` — progress bar, progress lines, the final table.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import warnings
from collections.abc import Callable, Sequence

from .. import optimizers
from ..errors import OptimlabError
from .benchmark_command import benchmark_command
from .experiment_commands import compare_command, plot_command, sweep_command
from .model_commands import evaluate_command, train_command
from .parser import build_parser, resolve_problem
from .trajectories_command import trajectories_command

__all__ = ["main"]

#: The handler of each command.
COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "train": train_command,
    "compare": compare_command,
    "sweep": sweep_command,
    "plot": plot_command,
    "evaluate": evaluate_command,
    "benchmark": benchmark_command,
    "trajectories": trajectories_command,
}


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the command is, so that it stops as Ctrl-C stops it."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); return the exit code.

    SIGTERM stops a command as Ctrl-C does (what is complete is saved, and the
    command says so), with exit code 143 instead of 130.
    """
    with warnings.catch_warnings():  # the plugins skipped at import, before any --help
        warnings.showwarning = _one_line(None)
        optimizers.warn_skipped_plugins()
    args = build_parser().parse_args(argv)
    terminated = []

    def note(signum: int, frame: object) -> None:
        terminated.append(signum)
        raise Terminated

    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, note)
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _one_line(args.command)
            code = _command(args)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    if terminated and code == 130:
        print(f"optimlab {args.command}: stopped by SIGTERM", file=sys.stderr)
        return 143
    return code


#: NumPy's floating-point warnings: a run or path that overflows is reported as diverged
#: by its figures, so these say nothing more.
_FLOATING = ("overflow encountered", "invalid value encountered", "divide by zero encountered")


def _one_line(command: str | None) -> Callable[..., None]:
    """A ``warnings.showwarning`` for the command line: a warning is one line naming the
    command (no internal path, no source line), ``optimlab: warning: ...`` for one of
    optimlab's own (a plugin skipped) or before a command runs; NumPy's floating-point
    ones are dropped."""

    def show(message: Warning | str, category: type[Warning], *args: object, **kw: object) -> None:
        text = str(message)
        if issubclass(category, RuntimeWarning) and text.startswith(_FLOATING):
            return
        who = "optimlab" if command is None else f"optimlab {command}"
        if text.startswith("optimlab: "):  # it names optimlab already, not a command
            who, text = "optimlab", text.removeprefix("optimlab: ")
        print(f"{who}: warning: {text}", file=sys.stderr)

    return show


def _command(args: argparse.Namespace) -> int:
    try:
        if hasattr(args, "problem"):
            resolve_problem(args)
        return COMMANDS[args.command](args)
    except OptimlabError as error:
        print(f"optimlab {args.command}: error: {error}", file=sys.stderr)
        return 2
    except MemoryError as error:
        print(
            f"optimlab {args.command}: error: not enough memory ({error or 'MemoryError'}): "
            "use fewer seeds or smaller layers",
            file=sys.stderr,
        )
        return 2
    except OSError as error:  # a full disk, a file-size limit: what the system said
        where = f" {error.filename}" if error.filename else ""
        print(
            f"optimlab {args.command}: error: cannot write{where}: {error.strerror or error}",
            file=sys.stderr,
        )
        return 2
    except KeyboardInterrupt:
        print(f"optimlab {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
