"""What a computation ran on: the array library's version and the device's name.

Results files record these next to every figure. Asking PyTorch or CuPy about
themselves needs those libraries, so the questions live here, in the backend
package, and the rest of optimlab asks :func:`describe`.
"""

from __future__ import annotations

import platform
from pathlib import Path
from typing import Any

import array_api_compat
import numpy as np

from . import Backend

__all__ = ["describe"]


def describe(backend: Backend) -> dict[str, Any]:
    """The device's name and the versions of the array libraries ``backend`` uses.

    Returns
    -------
    dict
        ``{"device_name": "NVIDIA H200" or the CPU's model, "versions": {"numpy": ...,
        "array_api_compat": ..., and "torch" or "cupy" where the backend uses them}}``.
    """
    versions = {"numpy": np.__version__, "array_api_compat": array_api_compat.__version__}
    device_name = _cpu_name()
    xp = backend.xp
    if array_api_compat.is_torch_namespace(xp):
        import torch

        versions["torch"] = torch.__version__
        if getattr(backend.device, "type", None) == "cuda":
            device_name = torch.cuda.get_device_name(backend.device)
    if array_api_compat.is_cupy_namespace(xp):
        import cupy

        versions["cupy"] = cupy.__version__
        device_name = cupy.cuda.runtime.getDeviceProperties(backend.device.id)["name"].decode()
    return {"device_name": device_name, "versions": versions}


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "cpu"
