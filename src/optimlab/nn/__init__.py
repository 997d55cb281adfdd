"""The models: the multilayer perceptron (activations, losses, files) and a noisy
function's point (:class:`Point`), which the Trainer steps alike."""

from .mlp import MLP
from .point import Point

#: What the Trainer trains: a network, or a noisy function's point.
Model = MLP | Point

__all__ = ["MLP", "Model", "Point"]
