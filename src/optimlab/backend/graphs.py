"""CUDA graphs: a training step captured once and replayed (PyTorch on CUDA).

At batch 10 a step on the GPU is bound by kernel launches; a replayed graph
launches all of a step's kernels at once. This is the only place that speaks to
``torch.cuda``: the Trainer hands over a step function of a static batch index
and static step counts, and gets back a :class:`CapturedStep`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["CapturedStep"]


class CapturedStep:
    """``step(index, counts) -> new counts`` captured as a CUDA graph.

    ``index`` is a static int64 batch index of shape ``shape`` and ``counts`` are
    ``groups`` float64 device scalars: the step counts the step reads, which the
    graph advances to the values the step returns, so that rules reading the
    count (Adam's bias corrections) see the right value at every replay.

    Capture needs a warm-up outside the graph, which runs the step twice: the
    arrays in ``state`` (everything the step updates in place) are saved before
    and restored after, so capturing leaves no trace in the training run.
    """

    def __init__(
        self,
        step: Callable[[Any, list[Any]], list[Any]],
        shape: tuple[int, ...],
        groups: int,
        state: Sequence[Any],
        device: Any,
    ) -> None:
        import torch

        self.index = torch.zeros(shape, dtype=torch.int64, device=device)
        self.counts = [torch.zeros((), dtype=torch.float64, device=device) for _ in range(groups)]

        def advance() -> None:
            for count, new in zip(self.counts, step(self.index, self.counts)):
                count.copy_(new)

        saved = [a.clone() for a in state]
        side = torch.cuda.Stream(device=device)
        side.wait_stream(torch.cuda.current_stream(device))
        with torch.cuda.stream(side):
            for _ in range(2):
                advance()
        torch.cuda.current_stream(device).wait_stream(side)
        for array, copy in zip(state, saved):
            array.copy_(copy)
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph):
            advance()

    def start(self, count: int) -> None:
        """Set the step count (before a block of replays)."""
        for c in self.counts:
            c.fill_(count)

    def replay(self, batch: Any) -> None:
        """One step on ``batch`` (indices of the captured shape)."""
        self.index.copy_(batch)
        self.graph.replay()
