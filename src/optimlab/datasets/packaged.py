"""The MNIST copy shipped inside the package (``optimlab/data/mnist/``), verified by SHA-256
each time it is loaded."""

from __future__ import annotations

from importlib import resources
from typing import Any

from ..backend import resolve
from .dataset import Dataset
from .idx import IDX_NAMES, Readable
from .idx_dir import load_sets

__all__ = ["MNIST_SHA256", "load_mnist"]

#: SHA-256 of the *uncompressed* bytes of each canonical MNIST file, keyed by the
#: uncompressed name (these bytes match the published MD5s).
MNIST_SHA256 = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}


def load_mnist(
    *, device: Any = "cpu", dtype: Any = "float32", xp: Any = None
) -> tuple[Dataset, Dataset]:
    """Load the MNIST copy shipped inside the package, verified against :data:`MNIST_SHA256`.

    Parameters
    ----------
    device, xp
        Where the arrays go, as for :func:`optimlab.backend.resolve`.
    dtype
        ``"float32"`` (default) or ``"float64"`` for the images.

    Returns
    -------
    (train, test) : tuple of Dataset
        ``train.images`` of shape ``(60000, 784)``, ``test.images``
        ``(10000, 784)``, pixels scaled to ``[0, 1]``; labels ``int64`` in
        ``0..9``; ``num_classes == 10``; ``name == "mnist"``.

    Raises
    ------
    DataError
        The packaged files are missing or damaged.
    """
    folder = resources.files("optimlab") / "data" / "mnist"
    sources: dict[str, tuple[Readable, str]] = {
        name: (folder / f"{name}.gz", f"packaged MNIST file {name}.gz") for name in IDX_NAMES
    }
    backend = resolve(device, xp)
    return load_sets(sources, MNIST_SHA256, "MNIST_SHA256", "mnist", backend, dtype)
