"""Output layers with their cost: the last activation and the loss belong together.

Both outputs pair an activation with its matching cross-entropy, so the error
at the output is simply ``delta = a - y`` (the activation's derivative cancels),
and the cost is computed from the logits ``z`` in a form that cannot overflow.
Costs are per sample, summed over the outputs, in nats.
"""

from __future__ import annotations

from typing import Any

from ..errors import ConfigError
from .activations import Sigmoid

__all__ = ["OUTPUTS", "Output", "SigmoidCrossEntropy", "SoftmaxCrossEntropy", "get"]


class Output:
    """An output activation and its cross-entropy cost."""

    name: str = ""

    def __call__(self, xp: Any, z: Any) -> Any:
        """The output activation ``a`` of logits ``z``, shape ``(..., batch, classes)``."""
        raise NotImplementedError

    def apply_(self, xp: Any, z: Any) -> Any:
        """The output activation, free to overwrite ``z`` (a temporary of the caller's)."""
        return self(xp, z)

    def cost(self, xp: Any, z: Any, y: Any) -> Any:
        """Per-sample cost in nats, shape ``(..., batch)``, from logits ``z`` and targets ``y``."""
        raise NotImplementedError

    @staticmethod
    def delta_(a: Any, y: Any) -> Any:
        """``dC/dz = a - y`` for both outputs here, written over the activation ``a``."""
        a -= y
        return a

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class SigmoidCrossEntropy(Output):
    """Independent sigmoid outputs with binary cross-entropy summed over the outputs (the report's).

    ``C = sum_k -y_k log a_k - (1 - y_k) log(1 - a_k)`` with ``a = sigmoid(z)``,
    evaluated as ``sum_k softplus(z_k) - y_k z_k`` where
    ``softplus(z) = max(z, 0) + log1p(exp(-|z|))``: exact, and finite for any ``z``.
    """

    name = "sigmoid"

    __call__ = Sigmoid.__call__
    apply_ = Sigmoid.apply_

    def cost(self, xp: Any, z: Any, y: Any) -> Any:
        softplus = xp.maximum(z, 0.0) + xp.log1p(xp.exp(-xp.abs(z)))
        return xp.sum(softplus - y * z, axis=-1)


class SoftmaxCrossEntropy(Output):
    """A softmax output with categorical cross-entropy.

    ``C = -sum_k y_k log a_k`` with ``a = softmax(z)``, evaluated as
    ``logsumexp(z) - sum_k y_k z_k`` after subtracting ``max(z)``.
    """

    name = "softmax"

    def __call__(self, xp: Any, z: Any) -> Any:
        return self.apply_(xp, z - xp.max(z, axis=-1, keepdims=True))

    def apply_(self, xp: Any, z: Any) -> Any:
        z -= xp.max(z, axis=-1, keepdims=True)
        e = xp.exp(z)
        e /= xp.sum(e, axis=-1, keepdims=True)
        return e

    def cost(self, xp: Any, z: Any, y: Any) -> Any:
        shifted = z - xp.max(z, axis=-1, keepdims=True)
        logsumexp = xp.log(xp.sum(xp.exp(shifted), axis=-1))
        return logsumexp - xp.sum(y * shifted, axis=-1)


#: Output name -> instance.
OUTPUTS: dict[str, Output] = {o.name: o for o in (SigmoidCrossEntropy(), SoftmaxCrossEntropy())}


def get(name: str) -> Output:
    """The output called ``name`` (one of :data:`OUTPUTS`)."""
    try:
        return OUTPUTS[name]
    except KeyError:
        raise ConfigError(f"unknown output {name!r}: choose one of {', '.join(OUTPUTS)}") from None
