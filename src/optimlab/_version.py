"""The package's version, in the one place setuptools and the code read it from."""

__version__ = "0.1.0"
