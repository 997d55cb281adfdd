"""The exceptions optimlab raises for bad input.

Every error a user can cause (a corrupt file, an unknown name, an impossible
hyper-parameter, a device that is not there) derives from :class:`OptimlabError`,
so the command line can report it as one sentence with exit code 2, and a
library user can catch the whole family at once.
"""

from __future__ import annotations

__all__ = ["ConfigError", "DataError", "DeviceError", "ModelFileError", "OptimlabError"]


class OptimlabError(Exception):
    """Base class of every error caused by the user's input, not by a bug."""


class ConfigError(OptimlabError, ValueError):
    """An unknown name or an impossible setting (hyper-parameter, layer sizes, ...)."""


class DataError(OptimlabError, ValueError):
    """A data file that is missing, truncated, corrupt or inconsistent."""


class ModelFileError(OptimlabError, ValueError):
    """A saved model that cannot be read or does not describe a valid network."""


class DeviceError(OptimlabError, RuntimeError):
    """A requested device whose library or hardware is not available."""
