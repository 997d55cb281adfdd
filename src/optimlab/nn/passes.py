"""The forward and backward passes over layer views: the hot path of training.

Row-major throughout: a batch is an array of shape ``([K,] batch, features)``.
Layer ``l`` computes ``z = a_prev @ W.T + b`` and ``a = f(z)``; the output
layer's activation belongs to its cost (:mod:`optimlab.nn.losses`). No checks,
no conversions and no host synchronization here, and as few array operations as
the mathematics allows; :class:`~optimlab.MLP` checks its input and calls these.
The library's fast paths (CuPy's fused sigmoid kernels, PyTorch's own sigmoid
operations, products into a buffer) are resolved once, when the passes are built.
"""

from __future__ import annotations

from typing import Any

from ..backend import fast_paths
from .activations import Activation
from .layout import Layer
from .losses import Output

__all__ = ["Passes"]


class Passes:
    """Forward and backward passes of one network architecture on one array namespace."""

    def __init__(
        self,
        activation: Activation,
        output: Output,
        classes: int,
        xp: Any,
        dtype: Any,
        device: Any,
    ) -> None:
        self.activation, self.output, self.classes = activation, output, classes
        self.xp, self.dtype, self.device = xp, dtype, device
        self._ones: dict[int, Any] = {}
        self._fast = fast_paths(xp)  # resolved here, not in the step loop
        #: The library's fused sigmoid chains (CuPy, PyTorch), or None: the portable code.
        self.chains = self._fast.sigmoid_chains
        self.fused_hidden = self.chains is not None and activation.name == "sigmoid"
        self.fused_output = self.chains is not None and output.name == "sigmoid"

    def targets(self, labels: Any) -> Any:
        """Integer labels -> one-hot rows of the parameters' dtype; other targets unchanged."""
        xp = self.xp
        if xp.isdtype(labels.dtype, "integral"):
            classes = xp.arange(self.classes, device=self.device)
            return xp.astype(labels[..., None] == classes, self.dtype)
        return labels

    def forward(self, views: list[Layer], x: Any) -> tuple[list[Any], Any]:
        """Hidden activations ``[x, a_1, ..., a_{L-1}]`` and the output logits ``z``."""
        xp, f = self.xp, self.activation
        acts = [x]
        for layer in views[:-1]:
            z = acts[-1] @ layer.wt
            z += layer.b
            acts.append(self.chains.sigmoid_(z) if self.fused_hidden else f.apply_(xp, z))
        z = acts[-1] @ views[-1].wt
        z += views[-1].b
        return acts, z

    def backward(self, views: list[Layer], x: Any, y: Any, out: list[Layer] | None = None) -> Any:
        """The gradient of the batch-mean cost; flat, or written into ``out``'s views.

        Backpropagation: ``delta_L = (a_L - y) / batch`` at the output, then
        ``delta_l = (delta_{l+1} @ W_{l+1}) * f'(z_l)``; ``dW_l = delta_l.T @ a_{l-1}``
        and ``db_l = sum(delta_l)`` over the batch. ``y`` holds targets (one-hot
        rows). Given ``out`` (the views of a flat buffer) the gradient is written
        into it and None returned, which saves the reshapes and the concatenation
        where views follow their base.
        """
        xp = self.xp
        acts, z = self.forward(views, x)
        batch = x.shape[-2]
        if self.fused_output:
            delta = self.chains.sigmoid_error_(z, y, 1.0 / batch)
        else:
            delta = self.output.delta_(self.output.apply_(xp, z), y)
            delta *= 1.0 / batch
        ones = self._ones.get(batch)
        if ones is None:  # bias gradients as (1, batch) @ delta: cheaper than a sum
            ones = self._ones[batch] = xp.ones((1, batch), dtype=self.dtype, device=self.device)
        grads: list[Any] = []
        for i in range(len(views) - 1, -1, -1):
            a_prev = acts[i]
            if out is None:
                grad_w = xp.matrix_transpose(delta) @ a_prev
                lead = grad_w.shape[:-2]
                grads += [xp.reshape(ones @ delta, (*lead, -1)), xp.reshape(grad_w, (*lead, -1))]
            else:
                self._fast.matmul_into(ones, delta, out[i].b)
                self._fast.matmul_into(xp.matrix_transpose(delta), a_prev, out[i].w)
            if i:
                delta = delta @ views[i].w
                if self.fused_hidden:
                    self.chains.times_sigmoid_slope_(delta, a_prev)
                else:
                    delta *= self.activation.derivative(xp, a_prev)
        return xp.concat(grads[::-1], axis=-1) if out is None else None
