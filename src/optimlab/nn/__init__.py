"""The network: activations, losses, and the multilayer perceptron with its files."""

from .mlp import MLP

__all__ = ["MLP"]
