"""Assertions shared by the test modules."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from typing import Any

import array_api_compat
import numpy as np
import pytest
from matplotlib.figure import Figure

from optimlab.backend import Backend, to_numpy
from optimlab.optimizers import SGD


def assert_on(backend: Backend, x: Any, dtype: Any = None) -> None:
    """``x`` is an array of ``backend``'s library, on its device, with ``dtype``."""
    assert array_api_compat.array_namespace(x) is array_api_compat.array_namespace(
        backend.xp.asarray(0.0, device=backend.device)
    ), f"{type(x)} is not of {backend.name}"
    assert array_api_compat.device(x) == backend.device, (
        f"array on {array_api_compat.device(x)}, expected {backend.device}"
    )
    if dtype is not None:
        assert x.dtype == dtype, f"dtype {x.dtype}, expected {dtype}"


def assert_close(actual: Any, desired: Any, rtol: float, atol: float = 0.0) -> None:
    """Compare an array of any library with a NumPy reference (shape and values)."""
    a = np.asarray(to_numpy(actual), dtype=np.float64)
    d = np.asarray(to_numpy(desired), dtype=np.float64)
    assert a.shape == d.shape, f"shape {a.shape}, expected {d.shape}"
    np.testing.assert_allclose(a, d, rtol=rtol, atol=atol)


def write_idx(path: Any, array: np.ndarray) -> None:
    """Write a uint8 array as an IDX file (big-endian header, then the raw bytes)."""
    import struct

    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    with open(path, "wb") as f:
        f.write(header + array.tobytes())


def write_mnist_subset(directory: Any, n_train: int = 2000, n_test: int = 500) -> None:
    """The first samples of the packaged MNIST as a directory of raw IDX files."""
    from optimlab.datasets import load_mnist

    train, test = load_mnist(dtype="float64")
    for prefix, data, n in (("train", train, n_train), ("t10k", test, n_test)):
        images = np.rint(data.images[:n] * 255).reshape(n, 28, 28)
        write_idx(f"{directory}/{prefix}-images-idx3-ubyte", images)
        write_idx(f"{directory}/{prefix}-labels-idx1-ubyte", data.labels[:n])


def assert_refused(code: int, capsys: Any, message: str) -> str:
    """The command line refused its input: exit code 2, one sentence matching ``message``
    (a regular expression) on standard error, no traceback. Returns the sentence."""
    import re

    captured = capsys.readouterr()
    err = captured.err.strip()
    assert code == 2, (code, err)
    assert captured.out == "", captured.out  # nothing printed as if work had started
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert re.search(message, err), err
    return err


class Drawn:
    """Every figure saved while recording, with the PNG bytes it wrote."""

    def __init__(self) -> None:
        self.figures: list[tuple[Figure, bytes]] = []

    @contextlib.contextmanager
    def recording(self):
        original = Figure.savefig

        def savefig(fig, fname, *args, **kwargs):
            buffer = io.BytesIO()
            original(fig, buffer, *args, **kwargs)
            self.figures.append((fig, buffer.getvalue()))
            if hasattr(fname, "write"):
                fname.write(buffer.getvalue())
            else:
                Path(fname).write_bytes(buffer.getvalue())

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(Figure, "savefig", savefig)
            yield self

    def of(self, path: Path) -> Figure:
        """The figure whose PNG is the file ``path``."""
        content = path.read_bytes()
        found = [fig for fig, png in self.figures if png == content]
        assert found, f"no figure drawn is {path.name}"
        return found[-1]


def network_outputs(model_path: Path, member: int | None, images: np.ndarray) -> np.ndarray:
    """Logits of a saved model (of its member ``member``; None: a single network), computed
    here in float64 from its weights and biases: sigmoid hidden layers."""
    from optimlab import MLP

    model = MLP.load(model_path)
    a = np.asarray(images, dtype=np.float64)
    pick = (lambda x: x) if member is None else (lambda x: x[member])
    weights = [pick(np.asarray(w, dtype=np.float64)) for w in model.weights]
    biases = [pick(np.asarray(b, dtype=np.float64)) for b in model.biases]
    for k, (w, b) in enumerate(zip(weights, biases)):
        z = a @ w.T + b
        a = 1 / (1 + np.exp(-z)) if k < len(weights) - 1 else z
    return a


def scores(logits: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """Accuracy, and the mean binary cross-entropy of sigmoid outputs against one-hot rows."""
    onehot = np.eye(logits.shape[1])[labels]
    cost = np.logaddexp(0, logits) - onehot * logits  # -y log s(z) - (1-y) log(1-s(z))
    return float(np.mean(logits.argmax(axis=1) == labels)), float(cost.sum(axis=1).mean())


class EagerGraph:
    """A stand-in for :class:`optimlab.backend.graphs.CapturedStep` where no GPU is.

    It keeps the captured step's interface (static index, device step counts the
    step advances) but runs the step function at every replay, so the Trainer's
    capture-and-replay bookkeeping (counts, states, the remainder batch, members)
    is tested on the CPU. ``captured`` counts the captures.
    """

    captured = 0

    def __init__(self, step, shape, groups, state, device):
        import torch

        type(self).captured += 1
        self.step = step
        self.index = torch.zeros(shape, dtype=torch.int64, device=device)
        self.counts = [torch.zeros((), dtype=torch.float64, device=device) for _ in range(groups)]

    def start(self, count):
        for c in self.counts:
            c.fill_(count)

    def replay(self, batch):
        self.index.copy_(batch)
        for count, new in zip(self.counts, self.step(self.index, self.counts)):
            count.copy_(new)


def install_offline(example: Path, root: Path) -> Path:
    """The example package ``example`` installed with pip, offline and without its
    dependencies, into ``root / "site"`` (the test environment is left alone)."""
    import shutil
    import subprocess
    import sys

    pytest.importorskip("setuptools", reason="building the example needs setuptools (test extra)")
    source = root / "source"  # a copy: the build writes its folders next to the sources
    shutil.copytree(example, source, ignore=shutil.ignore_patterns("build", "*.egg-info"))
    target = root / "site"
    done = subprocess.run(
        [
            sys.executable,
            *("-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation"),
            *("--no-index", "--disable-pip-version-check", "--target", str(target)),
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return target


def run_with(site: Path, args: list[str], cwd: Path) -> Any:
    """``python args`` in ``cwd`` with ``site`` first on the import path."""
    import os
    import subprocess
    import sys

    path = os.pathsep.join(p for p in (str(site), os.environ.get("PYTHONPATH", "")) if p)
    env = {**os.environ, "PYTHONPATH": path, "PYTHONWARNINGS": "default"}
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )


class Transposing(SGD):
    """A plugin's shape-aware rule whose update returns each weight matrix transposed: as
    many numbers as the parameters, so nothing downstream noticed (issue 26)."""

    name = "transposing"
    elementwise = False

    @staticmethod
    def update(xp, w, g, *accumulators, t, lr, lead=0, weight_decay=0.0):
        new = w - lr * g
        return (xp.matrix_transpose(new) if new.ndim - lead == 2 else new), ()
