"""The backend matrix: every test that takes ``backend`` runs once per array library.

NumPy and array-api-strict always run; array-api-strict runs twice, on its
default device and on ``Device("device1")``, so any array created without
``device=`` fails loudly on a CPU-only machine. PyTorch runs on the CPU where it is
importable and on CUDA (with CUDA-graph training steps) where a GPU is present,
and CuPy where a CUDA GPU is present; otherwise they are skipped with the
reason. JAX runs where it is installed (CPU, float64 enabled): its arrays cannot
be updated in place, so it takes the training step's path for such libraries,
which no other CPU backend takes. ``pytest --backends numpy,torch`` restricts the
matrix (the nox sessions use it).

Hypothesis runs a modest number of examples per property (``dev`` profile), the
same ones on every run under CI (``ci``: derandomized); ``HYPOTHESIS_PROFILE``
chooses another. Its example database is ``.hypothesis/``, which ignores itself.
"""

from __future__ import annotations

import importlib.util
import os

import array_api_compat
import pytest
from hypothesis import settings

from optimlab.backend import Backend, resolve

ALL_BACKENDS = ("numpy", "strict", "strict-device1", "jax", "torch", "cupy", "torch-cuda")

settings.register_profile("dev", max_examples=25, deadline=None)
settings.register_profile("ci", max_examples=25, deadline=None, derandomize=True, database=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--backends",
        default="all",
        help=f"comma-separated subset of {', '.join(ALL_BACKENDS)} (default: all available)",
    )


def _make_backend(name: str) -> Backend:
    if name == "numpy":
        return resolve("cpu")  # what users get: NumPy itself (>= 2.1) or its compat wrapper
    if name.startswith("strict"):
        strict = pytest.importorskip("array_api_strict", reason="array-api-strict is not installed")
        device = strict.Device("device1") if name == "strict-device1" else strict.Device()
        return Backend(strict, device)
    if name == "jax":  # immutable arrays: the non-in-place path of the training step
        if importlib.util.find_spec("jax") is None:
            pytest.skip("JAX is not installed (pip install jax): the immutable-array backend")
        import jax

        jax.config.update("jax_enable_x64", True)  # float64 as on every other backend
        import jax.numpy as jnp

        return Backend(jnp, jax.devices("cpu")[0])
    if name.startswith("torch"):
        if importlib.util.find_spec("torch") is None:
            pytest.skip("PyTorch is not installed (pip install torch)")
        import torch

        if name == "torch-cuda":  # training steps run as captured CUDA graphs
            if not torch.cuda.is_available():
                pytest.skip("PyTorch sees no CUDA GPU")
            return resolve("cuda", library="torch")
        return Backend(array_api_compat.array_namespace(torch.empty(0)), torch.device("cpu"))
    if name == "cupy":
        if importlib.util.find_spec("cupy") is None:
            pytest.skip("CuPy is not installed: the CuPy backend needs a CUDA GPU")
        import cupy

        try:
            if cupy.cuda.runtime.getDeviceCount() == 0:
                pytest.skip("CuPy sees no CUDA GPU")
        except Exception as error:
            pytest.skip(f"CuPy sees no CUDA GPU ({error})")
        return Backend(array_api_compat.array_namespace(cupy.empty(0)), cupy.cuda.Device(0))
    raise ValueError(name)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        wanted = metafunc.config.getoption("--backends")
        names = ALL_BACKENDS if wanted == "all" else tuple(wanted.split(","))
        unknown = set(names) - set(ALL_BACKENDS)
        if unknown:
            raise pytest.UsageError(
                f"unknown backends {sorted(unknown)}; choose from {ALL_BACKENDS}"
            )
        metafunc.parametrize("backend", names, indirect=True)


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> Backend:
    """A :class:`~optimlab.backend.Backend` of the library named by the test's parameter."""
    return _make_backend(request.param)


@pytest.fixture
def numpy_backend() -> Backend:
    return _make_backend("numpy")
