"""Sessions: ``nox -s tests`` runs the suite once per array backend; ``nox -s lint`` runs ruff.

Each ``tests`` session installs only its backend's library and restricts the
test matrix to it (``pytest --backends``). The CuPy session needs a CUDA GPU
and is skipped, with the reason, where there is none; choose the CuPy wheel
with ``OPTIMLAB_CUPY`` (default ``cupy-cuda12x``; ``cupy-cuda13x`` for CUDA 13).
"""

from __future__ import annotations

import os
import shutil
import subprocess

import nox

nox.options.sessions = ["tests", "distributed", "lint"]
nox.options.default_venv_backend = "venv"

# backend session -> (extra packages, the conftest backend ids it runs)
BACKENDS = {
    "numpy": ([], "numpy"),
    "array-api-strict": ([], "strict,strict-device1"),
    "jax": (["jax"], "jax"),  # immutable arrays: the step's path for them
    "torch": (["torch==2.13.0"], "torch,torch-cuda"),  # torch-cuda: where a GPU is present
    "cupy": ([os.environ.get("OPTIMLAB_CUPY", "cupy-cuda12x")], "cupy"),
}


def _gpu_missing() -> str | None:
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return "no CUDA GPU here (nvidia-smi not found); the CuPy backend needs one"
    listed = subprocess.run([smi, "-L"], capture_output=True, text=True, check=False)
    if listed.returncode != 0 or "GPU" not in listed.stdout:
        return "no CUDA GPU here (nvidia-smi lists none); the CuPy backend needs one"
    return None


@nox.session
@nox.parametrize("backend", list(BACKENDS))
def tests(session: nox.Session, backend: str) -> None:
    """The test suite on one array backend."""
    packages, ids = BACKENDS[backend]
    if backend == "cupy" and (reason := _gpu_missing()):
        session.skip(reason)
    session.install("-e", ".[test]", *packages)
    session.run("pytest", f"--backends={ids}", *session.posargs)


@nox.session
def bench(session: nox.Session) -> None:
    """Time every optimizer against the NumPy loop and PyTorch (pass options after --)."""
    session.install("-e", ".", "torch==2.13.0")
    session.run("python", "bench/bench_optimizers.py", *session.posargs)


@nox.session
def distributed(session: nox.Session) -> None:
    """The Dask tests (compare and sweep on a LocalCluster)."""
    session.install("-e", ".[test,distributed]")
    session.run("pytest", "tests/test_distributed.py", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff: lint and formatting."""
    session.install("ruff>=0.6")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
