"""Which array library runs the computation, and on which device.

This is the only module that knows which array libraries exist. Everything
else receives an array namespace ``xp`` (the Python Array API standard's
name for "the module of array functions") and a ``device`` object, and
creates arrays with ``xp.asarray(..., device=device)``.

``"cpu"`` means NumPy and ``"cuda"`` means CuPy, both through
:mod:`array_api_compat` so that they follow the standard. Arrays of any other
Array API library (PyTorch, array-api-strict, ...) are accepted as they are:
:func:`of` recovers their namespace and device.

It also holds the few fast paths that depend on the library (:func:`fast_paths`:
a product into a buffer, the batch gather, the sigmoid chains), each with the
portable code as its reference.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import array_api_compat
import numpy as np

from ..errors import ConfigError, DeviceError

__all__ = [
    "DEVICES",
    "LIBRARIES",
    "Backend",
    "FastPaths",
    "SigmoidChains",
    "fast_paths",
    "matmul_into",
    "of",
    "slow_subnormals",
    "resolve",
    "take_rows",
    "to_numpy",
]

#: Device names accepted by :func:`resolve` (and by ``--device`` on the command line).
DEVICES = ("cpu", "cuda")


class Backend(NamedTuple):
    """An array namespace and a device of that namespace."""

    xp: Any
    device: Any

    @property
    def library(self) -> str:
        """The array library's name (``"numpy"``, ``"cupy"``, ``"torch"``, ...), wrapped or not."""
        return getattr(self.xp, "__name__", str(self.xp)).replace("array_api_compat.", "")

    @property
    def name(self) -> str:
        """A short human-readable name, such as ``"numpy:cpu"`` or ``"cupy:cuda:0"``."""
        if array_api_compat.is_cupy_namespace(self.xp):
            return f"{self.library}:cuda:{self.device.id}"
        return f"{self.library}:{self.device}"

    def holds(self, array: Any) -> bool:
        """Whether ``array`` belongs to this backend's library and device."""
        return of(array).library == self.library and array_api_compat.device(array) == self.device

    def asarray(self, host: Any, dtype: Any = None) -> Any:
        """Move a host (NumPy) array or nested sequence onto this backend's device."""
        return self.xp.asarray(host, dtype=dtype, device=self.device)

    @property
    def captures_graphs(self) -> bool:
        """Whether training steps run as a captured CUDA graph (PyTorch on CUDA)."""
        return array_api_compat.is_torch_namespace(self.xp) and str(self.device).startswith("cuda")

    @property
    def views_follow_updates(self) -> bool:
        """Whether a slice or reshape of an array sees later in-place updates of it.

        True for NumPy, CuPy, PyTorch and array-api-strict, where basic slicing and
        reshaping a contiguous array return views. The standard leaves it open, so
        for other libraries views are taken again after every update.
        """
        xp = self.xp
        return (
            array_api_compat.is_numpy_namespace(xp)
            or array_api_compat.is_cupy_namespace(xp)
            or array_api_compat.is_torch_namespace(xp)
            or array_api_compat.is_array_api_strict_namespace(xp)
        )

    def synchronize(self) -> None:
        """Wait until the device has finished its queued work (read a clock only after this).

        A no-op for host libraries, whose operations finish before they return.
        """
        if array_api_compat.is_cupy_namespace(self.xp):
            self.device.synchronize()
        elif array_api_compat.is_torch_namespace(self.xp) and str(self.device).startswith("cuda"):
            import torch

            torch.cuda.synchronize(self.device)

    def dtype(self, name: Any) -> Any:
        """The namespace's floating dtype called ``name`` (``"float32"`` or ``"float64"``)."""
        if not isinstance(name, str):
            for known in (self.xp.float32, self.xp.float64):
                if name == known:
                    return known
            raise ConfigError(f"dtype must be float32 or float64, not {name!r}")
        if name not in ("float32", "float64"):
            raise ConfigError(f"dtype must be 'float32' or 'float64', not {name!r}")
        return getattr(self.xp, name)


#: Array libraries :func:`resolve` can pick for a device name.
LIBRARIES = ("numpy", "cupy", "torch")


def resolve(
    device: str | Backend = "cpu", xp: Any = None, *, library: str | None = None
) -> Backend:
    """Turn a device name into the namespace and device object to compute with.

    Parameters
    ----------
    device
        ``"cpu"`` (NumPy), ``"cuda"`` or ``"cuda:N"`` (CuPy on GPU ``N``), or a
        :class:`Backend` returned unchanged. When ``xp`` is given, ``device`` is
        that namespace's own device object (for example
        ``array_api_strict.Device("device1")``) and is used as it is.
    xp
        An Array API namespace to use instead of the one ``device`` names.
    library
        ``"torch"`` runs on PyTorch tensors instead (on ``cpu`` or ``cuda``; on CUDA
        the training step is captured once as a CUDA graph and replayed); ``None``
        (default) means NumPy on ``cpu`` and CuPy on ``cuda``.

    Raises
    ------
    DeviceError
        The library is not installed, or ``cuda`` sees no GPU.
    ConfigError
        The device or library name is unknown.
    """
    if isinstance(device, Backend):
        return device
    if xp is not None:
        return Backend(xp, device)
    if not isinstance(device, str):
        raise ConfigError(f"device must be one of {', '.join(DEVICES)}, not {device!r}")
    if library not in (None, *LIBRARIES):
        raise ConfigError(f"unknown library {library!r}: use one of {', '.join(LIBRARIES)}")
    name, _, index = device.partition(":")
    if name not in DEVICES or (index and (name == "cpu" or not index.isdigit())):
        raise ConfigError(f"unknown device {device!r}: use one of {', '.join(DEVICES)}")
    if library == "torch":
        return _torch(name, int(index or 0))
    if library == ("cupy" if name == "cpu" else "numpy"):
        raise ConfigError(f"{library} does not run on {name}")
    if name == "cpu":
        return Backend(_numpy_namespace(), "cpu")
    return _cuda(int(index or 0))


def _torch(name: str, index: int) -> Backend:
    try:
        import torch
    except ImportError:
        raise DeviceError("library 'torch' needs PyTorch, which is not installed") from None
    if name == "cuda":
        if not torch.cuda.is_available() or index >= torch.cuda.device_count():
            raise DeviceError(f"device 'cuda:{index}' is not available to PyTorch")
        device = torch.device("cuda", index)
    else:
        device = torch.device("cpu")
    return Backend(array_api_compat.array_namespace(torch.empty(0)), device)


def _numpy_namespace() -> Any:
    # NumPy 2.1 and later follow the standard in every function optimlab uses, and
    # calling them directly skips array-api-compat's wrappers (a few hundred ns a
    # call, which adds up at ~30 calls per batch-10 step). Older NumPy goes through
    # the wrappers.
    major, minor = (int(part) for part in np.__version__.split(".")[:2])
    if (major, minor) >= (2, 1):
        return np
    return array_api_compat.array_namespace(np.empty(0))


def _cuda(index: int) -> Backend:
    try:
        import cupy
    except ImportError:
        raise DeviceError(
            "device 'cuda' needs CuPy, which is not installed "
            "(pip install 'optimlab[cuda]' for CUDA 12, 'optimlab[cuda13]' for CUDA 13)"
        ) from None
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as error:  # CUDARuntimeError when there is no driver
        raise DeviceError(
            f"device 'cuda' is not available: CuPy found no CUDA GPU ({error})"
        ) from None
    if index >= count:
        raise DeviceError(f"device 'cuda:{index}' is not available: CuPy sees {count} CUDA GPU(s)")
    dev = cupy.cuda.Device(index)
    return Backend(array_api_compat.array_namespace(cupy.empty(0)), dev)


class SigmoidChains(NamedTuple):
    """A library's fast paths for the sigmoid chains of a training step, each in place:
    ``sigmoid_(z)``, ``sigmoid_error_(z, y, scale)`` (``(sigmoid(z) - y) * scale``) and
    ``times_sigmoid_slope_(delta, a)`` (``delta * a * (1 - a)``)."""

    sigmoid_: Callable[[Any], Any]
    sigmoid_error_: Callable[[Any, Any, float], Any]
    times_sigmoid_slope_: Callable[[Any, Any], Any]


class FastPaths(NamedTuple):
    """The operations of a training step that a library runs faster than the portable
    code, which is their reference (tests check that both give the same values).

    Resolved once per namespace by :func:`fast_paths`, so that the step loop looks
    up no library.
    """

    #: ``matmul_into(a, b, out)``: ``out[...] = a @ b``. NumPy, CuPy and PyTorch write
    #: the product into ``out`` (``matmul``'s ``out=``, which the standard lacks):
    #: no temporary, and no copy of the largest gradient (on a GPU, a kernel).
    matmul_into: Callable[[Any, Any, Any], None]
    #: ``take_rows(x, indices)``: ``take(x, indices, axis=0)`` for non-negative
    #: indices (the batch gather). On PyTorch ``index_select`` itself:
    #: array-api-compat's ``take`` first maps negative indices, three more operations.
    take_rows: Callable[[Any, Any], Any]
    #: The sigmoid chains in fewer operations, or None: CuPy runs each as one fused
    #: kernel (``_cupy_kernels``), PyTorch as its own operations (``_torch_kernels``).
    sigmoid_chains: SigmoidChains | None


@functools.cache
def fast_paths(xp: Any) -> FastPaths:
    """The :class:`FastPaths` of the array namespace ``xp``."""

    def assign(a: Any, b: Any, out: Any) -> None:
        out[...] = a @ b

    def take(x: Any, indices: Any) -> Any:
        return xp.take(x, indices, axis=0)

    if array_api_compat.is_numpy_namespace(xp):
        return FastPaths(_matmul_out(np.matmul), take, None)
    if array_api_compat.is_cupy_namespace(xp):
        import cupy

        from . import cupy_kernels as k

        chains = SigmoidChains(k.sigmoid_, k.sigmoid_error_, k.times_sigmoid_slope_)
        return FastPaths(_matmul_out(cupy.matmul), take, chains)
    if array_api_compat.is_torch_namespace(xp):
        import torch

        from . import torch_kernels as k  # imports torch: only for PyTorch arrays

        chains = SigmoidChains(k.sigmoid_, k.sigmoid_error_, k.times_sigmoid_slope_)
        return FastPaths(
            _matmul_out(torch.matmul), lambda x, i: torch.index_select(x, 0, i), chains
        )
    return FastPaths(assign, take, None)


def _matmul_out(matmul: Callable[..., Any]) -> Callable[[Any, Any, Any], None]:
    def matmul_into(a: Any, b: Any, out: Any) -> None:
        matmul(a, b, out=out)

    return matmul_into


def matmul_into(xp: Any, a: Any, b: Any, out: Any) -> None:
    """``out[...] = a @ b``, written into ``out`` where the library can (:class:`FastPaths`)."""
    fast_paths(xp).matmul_into(a, b, out)


def take_rows(xp: Any, x: Any, indices: Any) -> Any:
    """``xp.take(x, indices, axis=0)`` for non-negative ``indices`` (:class:`FastPaths`)."""
    return fast_paths(xp).take_rows(x, indices)


def of(*arrays: Any) -> Backend:
    """The backend (namespace and device) that ``arrays`` live on."""
    xp = array_api_compat.array_namespace(*arrays)
    if array_api_compat.is_numpy_namespace(xp):
        xp = _numpy_namespace()
    return Backend(xp, array_api_compat.device(arrays[0]))


def slow_subnormals(x: Any) -> bool:
    """Whether arithmetic on subnormal numbers in ``x`` takes the CPU's slow path: True for
    NumPy, array-api-strict and PyTorch on the CPU; False on a GPU (no slow path) and for
    JAX, whose CPU code XLA runs with flush-to-zero and denormals-are-zero set."""
    if array_api_compat.is_cupy_array(x) or array_api_compat.is_jax_array(x):
        return False
    if array_api_compat.is_torch_array(x):
        return x.device.type == "cpu"
    return True


def to_numpy(x: Any) -> np.ndarray:
    """A NumPy copy (or view, on the CPU) of an array of any Array API library."""
    if array_api_compat.is_numpy_array(x):
        return x
    if array_api_compat.is_cupy_array(x):
        return x.get()
    if array_api_compat.is_torch_array(x):
        return x.detach().cpu().numpy()
    return np.from_dlpack(x)
