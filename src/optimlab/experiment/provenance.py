"""Where results came from: date, machine, device, library versions and source revision."""

from __future__ import annotations

import datetime
import os
import platform
import subprocess
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from .._version import __version__
from ..backend import Backend
from ..backend.environment import describe

__all__ = ["Environment"]


@dataclass
class Environment:
    """The ``environment`` of ``results.json``."""

    date: str
    backend: str
    device_name: str
    machine: str
    versions: dict[str, str]
    git_revision: str | None

    @classmethod
    def collect(cls, backend: Backend) -> Environment:
        """The environment this process computes in, on ``backend``."""
        device = describe(backend)
        versions = {
            "optimlab": __version__,
            "python": platform.python_version(),
            **device["versions"],
            # the installed version, read without importing matplotlib: the figures are
            # drawn by the commands, and an experiment need not load it
            "matplotlib": metadata.version("matplotlib"),
        }
        return cls(
            date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            backend=backend.name,
            device_name=device["device_name"],
            machine=f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores",
            versions=versions,
            git_revision=_git_revision(),
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain Python values, ready for JSON."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Environment:
        """The environment :meth:`to_dict` described."""
        return cls(**d)


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
