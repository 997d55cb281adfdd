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


# What ``nox -s mutation`` mutates (all of it by default; name files after -- to choose)
# and the fast tests that judge each mutant (seconds each, not the whole suite).
MUTATED = [
    "src/optimlab/optimizers/*",
    "src/optimlab/nn/*",
    "src/optimlab/train/*",
    "src/optimlab/experiment/*",
    "src/optimlab/datasets/*",
    "src/optimlab/problems/*",
    "src/optimlab/_files.py",
]
MUTATION_TESTS = [
    "tests/test_optimizers.py",
    "tests/test_model.py",
    "tests/test_members.py",
    "tests/test_shuffle.py",
    "tests/test_training.py",
    "tests/test_backend.py",
    "tests/test_misuse.py",
    "tests/test_properties.py",
    "tests/test_datasets.py",
    "tests/test_problems.py",
    "tests/test_functions.py",
    "tests/test_files.py",
    "tests/test_experiment.py",
    "tests/test_experiment_outputs.py",
    "tests/test_experiment_paths.py",
]
MUTATION_DESELECT = "tests/test_training.py::test_bad_training_input_is_refused_before_training"


@nox.session
def mutation(session: nox.Session) -> None:
    """mutmut over the core modules, in a clone of HEAD (docs/testing.md: the score, the triage).

    ``nox -s mutation -- src/optimlab/optimizers/rules.py`` mutates that file only;
    ``OPTIMLAB_MUTATION_JOBS`` sets mutmut's worker processes (default 1).
    """
    import pathlib
    import tempfile

    only = session.posargs or MUTATED
    clone = pathlib.Path(tempfile.mkdtemp(prefix="optimlab-mutation-")) / "repo"
    session.run("git", "clone", "--quiet", ".", str(clone), external=True)
    lines = ["[mutmut]", "source_paths = src", "only_mutate ="]
    lines += [f"    {path}" for path in only]
    # one argument a line; CPU backends only (the immutable one, jax, when installed)
    lines += ["pytest_add_cli_args =", "    -p", "    no:cacheprovider"]
    lines += ["    --backends=numpy,strict-device1,jax"]
    # mutmut runs pytest several times in one process; this test pops its (shared)
    # parameters, so it fails from the second run on (docs/testing.md, mutation testing)
    lines += ["    --deselect", f"    {MUTATION_DESELECT}", "pytest_add_cli_args_test_selection ="]
    lines += [f"    {path}" for path in MUTATION_TESTS]
    (clone / "setup.cfg").write_text("\n".join(lines) + "\n")
    session.install("-e", str(clone) + "[test]", "jax", "mutmut==3.8.1")
    session.chdir(clone)
    jobs = os.environ.get("OPTIMLAB_MUTATION_JOBS", "1")
    session.run("mutmut", "run", "--max-children", jobs, env={"CI": "true"}, success_codes=[0, 1])
    session.run("mutmut", "results")
    session.log(f"the mutants and their results are in {clone / 'mutants'}")
