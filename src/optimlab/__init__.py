"""optimlab — compare neural-network optimizers, on NumPy (CPU) or CuPy (CUDA) arrays.

The network and the update rules are written once against the Python Array API
standard, so the same code runs on any library that follows it::

    import optimlab

    train, test = optimlab.load_mnist(device="cpu")
    model = optimlab.MLP([784, 30, 10], seed=0, device="cpu")
    history = optimlab.fit(model, optimlab.optimizers.Adam(lr=0.01), train,
                           epochs=5, batch_size=10, monitor=test)
    print(history.test_accuracy[-1])
"""

from . import datasets, optimizers, problems, schedules
from ._version import __version__
from .backend import Backend, resolve
from .datasets import Dataset, load_idx_dir, load_mnist
from .errors import ConfigError, DataError, DeviceError, ModelFileError, OptimlabError
from .nn import MLP
from .train import EpochRecord, Evaluation, History, Trainer, evaluate, fit, fit_members

__all__ = [
    "MLP",
    "Backend",
    "ConfigError",
    "DataError",
    "Dataset",
    "DeviceError",
    "EpochRecord",
    "Evaluation",
    "History",
    "ModelFileError",
    "OptimlabError",
    "Trainer",
    "__version__",
    "datasets",
    "evaluate",
    "fit",
    "fit_members",
    "load_idx_dir",
    "load_mnist",
    "optimizers",
    "problems",
    "resolve",
    "schedules",
]
