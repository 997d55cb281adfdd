"""Atomic writes: a reader sees the old file or the whole new one, never half of one.

Issue 17, row 4: ``atomic_write`` writing straight into its target passed the suite,
because no test interrupted a write once bytes had been written. Here writes are
interrupted by an exception half-way through the ``with`` block and by SIGKILL of a
child process half-way through, and the target is read back.
"""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from optimlab._files import atomic_write
from optimlab.errors import ConfigError

OLD = b"the previous, complete content\n"
HALF = b"the first half of the new cont"


class Interrupted(Exception):
    pass


def _listing(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def test_a_complete_write_replaces_the_target_with_ordinary_permissions(tmp_path):
    target = tmp_path / "model.npz"
    target.write_bytes(OLD)
    with atomic_write(target, "wb") as f:
        f.write(b"new")
    assert target.read_bytes() == b"new"
    assert _listing(tmp_path) == ["model.npz"]
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask


def test_text_mode_writes_utf8(tmp_path):
    target = tmp_path / "results.json"
    with atomic_write(target, "w") as f:
        f.write("µ = 0.9\n")
    assert target.read_bytes() == "µ = 0.9\n".encode()


def test_the_target_is_untouched_while_the_write_is_under_way(tmp_path):
    target = tmp_path / "checkpoint.npz"
    target.write_bytes(OLD)
    with atomic_write(target, "wb") as f:
        f.write(HALF)
        f.flush()
        os.fsync(f.fileno())
        assert target.read_bytes() == OLD  # a reader now sees the old file, whole
    assert target.read_bytes() == HALF


@pytest.mark.parametrize("error", [Interrupted("disk full"), KeyboardInterrupt()])
def test_an_exception_half_way_leaves_the_old_file_and_no_temporary(tmp_path, error):
    target = tmp_path / "checkpoint.npz"
    target.write_bytes(OLD)
    with pytest.raises(type(error)), atomic_write(target, "wb") as f:
        f.write(HALF)
        f.flush()
        raise error
    assert target.read_bytes() == OLD
    assert _listing(tmp_path) == ["checkpoint.npz"]


def test_an_exception_half_way_creates_no_file_where_there_was_none(tmp_path):
    target = tmp_path / "results.csv"
    with pytest.raises(Interrupted), atomic_write(target, "w") as f:
        f.write("optimizer,seed\n")
        raise Interrupted
    assert _listing(tmp_path) == []


def test_a_refused_path_writes_nothing(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"), atomic_write(tmp_path / "no" / "f"):
        pass  # pragma: no cover
    assert _listing(tmp_path) == []


CHILD = """
import sys
from optimlab._files import atomic_write

with atomic_write(sys.argv[1], "wb") as f:
    f.write(sys.argv[2].encode())
    f.flush()
    print("half written", flush=True)
    sys.stdin.read()  # stays half-way until killed
"""


def test_a_process_killed_half_way_leaves_the_old_file_whole(tmp_path):
    """SIGKILL mid-write: the target keeps its old content.

    No code runs in a killed process, so its temporary file stays: exactly one
    hidden ``.<name>.<random>.tmp`` beside the target, holding the half written. It
    is never read (it is not the target's name) and the next write leaves it too.
    """
    target = tmp_path / "checkpoint.npz"
    target.write_bytes(OLD)
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(target), HALF.decode()],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout.readline() == "half written\n"
        assert target.read_bytes() == OLD  # while it is alive, half-way
        child.send_signal(signal.SIGKILL)
        assert child.wait(timeout=30) == -signal.SIGKILL
    finally:
        child.kill()
        child.wait()
        child.stdin.close()
        child.stdout.close()
    assert target.read_bytes() == OLD
    left = [name for name in _listing(tmp_path) if name != target.name]
    assert len(left) == 1, left
    assert left[0].startswith(f".{target.name}.") and left[0].endswith(".tmp"), left
    assert (tmp_path / left[0]).read_bytes() == HALF

    with atomic_write(target, "wb") as f:  # the next write succeeds beside the leftover
        f.write(b"new")
    assert target.read_bytes() == b"new"
    assert _listing(tmp_path) == sorted([target.name, left[0]])
