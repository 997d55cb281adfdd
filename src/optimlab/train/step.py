"""The training step: gather a batch, compute the gradient, step every optimizer group.

One step, written once, runs eagerly or as a captured CUDA graph
(:func:`optimlab.backend.graphs.capture`). Each group of members (or the single
network) is updated by its optimizer's public ``step(params, grads, state,
inplace=True)``: an elementwise rule gets the group's rows of the flat parameter
vector (one set of array operations for every layer), a rule that needs shapes
gets each layer's weight matrix and bias vector, as views.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..backend import fast_paths, graphs
from ..nn import Model
from ..optimizers import Optimizer, State

__all__ = [
    "Group",
    "Steps",
    "check_shapes",
    "evaluation_point",
    "flatten",
    "gather",
    "optimizer_inputs",
]


@dataclass
class Group:
    """Neighbouring members with one kind of optimizer, updated by one ``step``."""

    #: The group's rows of the parameters; None: all of them (a single network).
    rows: slice | None
    #: Its optimizer (the first member's; per-member values are in the state).
    optimizer: Optimizer
    state: State


class Steps:
    """Steps over one block of batches: the arrays they share, built once per block.

    Parameters
    ----------
    model
        The network; its :attr:`~optimlab.MLP.params` are updated in place where
        the library allows it (and replaced where it does not).
    groups
        The optimizer groups; their states are replaced by :meth:`finish`.
    images, targets
        The whole training set on the device (targets one-hot).
    """

    def __init__(self, model: Model, groups: list[Group], images: Any, targets: Any) -> None:
        self.model, self.groups = model, groups
        self.xp = xp = model.xp
        self.images, self.targets = images, targets
        self.take = fast_paths(xp).take_rows  # resolved once, not per step
        self.lead = () if model.members is None else (model.members,)
        self.mutable = model.backend.views_follow_updates
        self.states = [g.state for g in groups]
        self._checked = False  # whether a step's arrays were checked (on the first step)
        self._bind(model.params)
        if self.mutable:  # gradients are written into one buffer's views
            self.grad = xp.zeros_like(model.params)
            self.grad_views = model.views(self.grad)
            self.grad_inputs = [self._inputs(self.grad, g) for g in groups]

    def _bind(self, params: Any) -> None:
        self.params = params
        self.views = self.model.views(params)
        self.param_inputs = [self._inputs(params, g) for g in self.groups]

    def _inputs(self, flat: Any, group: Group) -> list[Any]:
        return optimizer_inputs(self.model, flat, group.rows, group.optimizer)

    def step(self, batch: Any) -> None:
        """One step on the samples ``batch`` (indices on the device, ``([K,] B)``)."""
        model, xp = self.model, self.xp
        x, y = gather(xp, self.take, self.images, self.targets, batch, self.lead)
        if self.mutable:
            model.passes.backward(self.views, x, y, out=self.grad_views)
            grad_inputs = self.grad_inputs
        else:
            grad = model.passes.backward(self.views, x, y)
            grad_inputs = [self._inputs(grad, g) for g in self.groups]
        replaced = False
        for i, group in enumerate(self.groups):
            inputs = self.param_inputs[i]
            new, self.states[i] = group.optimizer.step(
                inputs, grad_inputs[i], self.states[i], xp=xp, inplace=True
            )
            if not self._checked:  # shapes are host metadata: no device sync
                check_shapes(group.optimizer, inputs, new)
            replaced = replaced or new[0] is not inputs[0] or new[-1] is not inputs[-1]
            self.param_inputs[i] = new
        self._checked = True
        if replaced or not self.mutable:  # a library whose arrays cannot change in place
            self._bind(flatten(model, self.groups, self.param_inputs))

    def run(self, order: Any, size: int, progress: Callable[[int, int], None] | None) -> None:
        """Steps over the samples ``order`` (``([K,] n)``), ``size`` at a time."""
        n = order.shape[-1]
        steps = math.ceil(n / size)
        every = max(1, steps // 100)
        for step in range(steps):
            self.step(order[..., step * size : min((step + 1) * size, n)])
            if progress is not None and step % every == 0:
                progress(step, steps)
        if progress is not None:
            progress(steps, steps)

    def finish(self) -> None:
        """Hand the parameters and optimizer states back to the model and the groups."""
        self.model.params = self.params
        for group, state in zip(self.groups, self.states):
            group.state = state

    def replay(
        self,
        graph: graphs.CapturedStep,
        order: Any,
        size: int,
        progress: Callable[[int, int], None] | None,
    ) -> None:
        """Steps over ``order`` (whole batches of ``size``) as replays of ``graph``."""
        count = self.states[0].count
        graph.start(count)
        total = order.shape[-1] // size
        every = max(1, total // 100)
        for step in range(total):
            graph.replay(order[..., step * size : (step + 1) * size])
            if progress is not None and step % every == 0:
                progress(step, total)
        if progress is not None:
            progress(total, total)
        self.states = [s._replace(count=count + total) for s in self.states]

    def capture(self, shape: tuple[int, ...]) -> graphs.CapturedStep:
        """This step as a CUDA graph over a static batch index of ``shape``.

        The graph reads the step counts from device scalars that it advances
        itself; after a block of replays the caller sets the groups' Python
        counts (see :meth:`Trainer.run_batches <optimlab.Trainer.run_batches>`).
        """
        start = self.states

        def step(index: Any, counts: list[Any]) -> list[Any]:
            self.states = [s._replace(count=c) for s, c in zip(start, counts)]
            self.step(index)
            return [s.count for s in self.states]

        arrays = [
            self.params,
            *(a for s in start for v in s.slots.values() for a in v),
            *(a for s in start for a in s.scalars.values()),
        ]
        captured = graphs.CapturedStep(step, shape, len(start), arrays, self.model.device)
        self.states = start
        return captured


def check_shapes(optimizer: Optimizer, inputs: list[Any], new: list[Any]) -> None:
    """A ``ValueError`` naming ``optimizer`` unless its step returned ``new`` arrays of the
    ``inputs``' shapes (a plugin's update that returns another shape would be broadcast
    or cut silently by what follows)."""
    given = [tuple(a.shape) for a in inputs]
    returned = [tuple(getattr(a, "shape", ())) for a in new]
    if returned == given:
        return
    if len(returned) != len(given):
        what = f"{len(returned)} arrays for {len(given)}"
    else:
        k = next(k for k, (r, g) in enumerate(zip(returned, given)) if r != g)
        what = f"an array of shape {returned[k]} for parameters of shape {given[k]}"
    raise ValueError(
        f"the optimizer {optimizer.name!r} returned {what}; its step must return each "
        "parameter array with its own shape"
    )


def optimizer_inputs(
    model: Model, flat: Any, rows: slice | None, optimizer: Optimizer
) -> list[Any]:
    """What ``optimizer`` updates of ``flat`` (parameters or gradients): the ``rows``
    (all for None) as one array for an elementwise rule, else each layer's weight
    matrix ``([k,] out, in)`` and bias vector ``([k,] out)``, as views."""
    part = flat if rows is None else flat[rows, ...]
    return [part] if optimizer.elementwise else model.layout.arrays(model.xp, part)


def evaluation_point(model: Model, groups: list[Group]) -> Any:
    """The parameters ``([K,] size)`` at which the groups' optimizers evaluate the network
    (``model.params`` itself unless one evaluates elsewhere, like Schedule-Free)."""
    if all(type(g.optimizer).eval_params is Optimizer.eval_params for g in groups):
        return model.params
    points = [
        g.optimizer.eval_params(optimizer_inputs(model, model.params, g.rows, g.optimizer), g.state)
        for g in groups
    ]
    return flatten(model, groups, points)


def flatten(model: Model, groups: list[Group], inputs: list[list[Any]]) -> Any:
    """The flat parameters ``([K,] size)`` from each group's optimizer inputs (the
    inverse of :func:`optimizer_inputs`)."""
    xp, lead = model.xp, 0 if model.members is None else 1
    rows = []
    for group, arrays in zip(groups, inputs):
        if group.optimizer.elementwise:
            rows.append(arrays[0])
        else:  # the layer arrays, flattened back into the layout's order
            flat = [xp.reshape(a, (*a.shape[:lead], -1)) for a in arrays]
            rows.append(xp.concat(flat, axis=-1))
    return rows[0] if len(rows) == 1 else xp.concat(rows, axis=0)


def gather(xp: Any, take: Any, x_all: Any, y_all: Any, batch: Any, lead: tuple[int, ...]) -> Any:
    """The images and targets of ``batch``: ``(B, ...)``, or with members ``(K, B, ...)``,
    all members' rows in one ``take``."""
    if not lead:
        return take(x_all, batch), take(y_all, batch)
    flat = xp.reshape(batch, (-1,))
    x = xp.reshape(take(x_all, flat), (*lead, -1, x_all.shape[-1]))
    y = xp.reshape(take(y_all, flat), (*lead, -1, y_all.shape[-1]))
    return x, y
