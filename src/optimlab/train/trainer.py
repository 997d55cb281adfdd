"""Training and evaluation: mini-batches, shuffles, the step loop, per-epoch history.

The step loop follows the rules that make small batches fast: the data set
stays on the device; each epoch's shuffle is drawn on the host from a seeded
generator and sent as one index array; batches are gathered on the device;
nothing is read back to the host until the epoch ends.

A model with members (``MLP(..., members=K)``) trains K independent runs in one
pass: each member has its own initialization, its own shuffle and its own
optimizer and hyper-parameters, and the batches of all members are gathered in
one operation. Members that use the same kind of optimizer and stand next to
each other form a group, updated with one set of array operations.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import optimizers
from ..backend.cupy_kernels import fused_update
from ..backend import fast_paths, of, to_numpy
from ..errors import ConfigError
from ..nn import MLP
from ..optimizers import Optimizer

if TYPE_CHECKING:
    from ..datasets import Dataset

__all__ = ["EpochRecord", "Evaluation", "History", "Trainer", "evaluate", "fit", "fit_members"]


class Evaluation:
    """Figures of one batched pass over a data set.

    Attributes
    ----------
    accuracy
        Fraction of samples whose largest output is their label, in ``[0, 1]``
        (a list with one value per member for a model with members).
    loss
        Mean cost per sample in nats, the report's "loss" for the sigmoid output
        (a list per member likewise).
    predictions
        Predicted class per sample, an integer array on the model's device,
        shape ``([K,] samples)``.
    """

    __slots__ = ("accuracy", "loss", "predictions")

    def __init__(self, accuracy: Any, loss: Any, predictions: Any) -> None:
        self.accuracy = accuracy
        self.loss = loss
        self.predictions = predictions

    def __repr__(self) -> str:
        if isinstance(self.accuracy, list):
            return f"Evaluation(accuracy={self.accuracy}, loss={self.loss})"
        return f"Evaluation(accuracy={self.accuracy:.4f}, loss={self.loss:.4f})"


@dataclass(frozen=True)
class EpochRecord:
    """What one epoch produced; ``nan`` where there was nothing to measure.

    ``seconds`` is the wall time of the epoch's training steps (the device
    synchronized before the clock is read), without the evaluations; members
    trained in one pass share it.
    """

    epoch: int
    train_loss: float
    test_accuracy: float
    test_loss: float
    seconds: float


@dataclass
class History:
    """The per-epoch record of one training run.

    ``status`` is ``"completed"``, or says why training stopped early (a loss that
    became ``nan`` or infinite); the records of the epochs run so far are kept.
    """

    optimizer: str
    hyperparameters: dict[str, float]
    epochs: list[EpochRecord] = field(default_factory=list)
    status: str = "completed"

    @property
    def diverged(self) -> bool:
        """Whether training stopped because the loss stopped being finite."""
        return self.status != "completed"

    def column(self, name: str) -> list[float]:
        """One figure for every epoch, e.g. ``history.column("test_accuracy")``."""
        return [getattr(record, name) for record in self.epochs]

    @property
    def test_accuracy(self) -> list[float]:
        return self.column("test_accuracy")

    @property
    def test_loss(self) -> list[float]:
        return self.column("test_loss")

    @property
    def train_loss(self) -> list[float]:
        return self.column("train_loss")

    @property
    def seconds(self) -> list[float]:
        return self.column("seconds")

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> History:
        """The history :meth:`to_dict` described."""
        epochs = [EpochRecord(**e) for e in d["epochs"]]
        return cls(d["optimizer"], d["hyperparameters"], epochs, d["status"])

    def to_dict(self) -> dict[str, Any]:
        """Plain Python values, ready for JSON."""
        return {
            "optimizer": self.optimizer,
            "hyperparameters": dict(self.hyperparameters),
            "status": self.status,
            "epochs": [asdict(r) for r in self.epochs],
        }


def evaluate(model: MLP, data: Dataset, *, chunk_size: int = 10_000) -> Evaluation:
    """Accuracy, mean loss and predictions of ``model`` on ``data`` in one batched pass.

    The samples go through in chunks of ``chunk_size`` rows (bounding memory);
    the figures are read back to the host once, at the end. For a model with
    members, every member is scored in the same pass.
    """
    _check_data(model, data, "data")
    if chunk_size < 1:
        raise ConfigError(f"chunk_size must be >= 1, not {chunk_size}")
    return _evaluate(model, model.params, data, chunk_size)


def _evaluate(model: MLP, params: Any, data: Dataset, chunk_size: int) -> Evaluation:
    xp = model.xp
    views = model._views(params)
    total_cost = correct = 0.0
    predictions = []
    for start in range(0, data.n, chunk_size):
        stop = min(start + chunk_size, data.n)  # the standard leaves out-of-range stops undefined
        x = data.images[start:stop, ...]
        labels = data.labels[start:stop]
        z = model._forward(views, x)[1]
        predicted = xp.argmax(z, axis=-1)
        predictions.append(predicted)
        cost = model.output.cost(xp, z, model._targets(labels))
        total_cost = total_cost + xp.sum(cost, axis=-1)
        correct = correct + xp.sum(xp.astype(predicted == labels, model.dtype), axis=-1)
    predictions = predictions[0] if len(predictions) == 1 else xp.concat(predictions, axis=-1)
    # The one read-back of the pass.
    accuracy = to_numpy(xp.stack([correct, total_cost])).astype(np.float64) / data.n
    if model.members is None:
        return Evaluation(float(accuracy[0]), float(accuracy[1]), predictions)
    return Evaluation(accuracy[0].tolist(), accuracy[1].tolist(), predictions)


@dataclass
class _Group:
    """Consecutive members with one kind of optimizer, updated by one set of operations."""

    rows: slice | None  # the group's rows of the parameters; None: all of them
    optimizer: Optimizer  # hyper-parameters as floats, or (rows, 1) arrays (optimizers.stack)
    state: Any


class Trainer:
    """The state of a training run between steps: parameters, optimizer state, shuffles.

    :func:`fit` and :func:`fit_members` call :meth:`run`, a loop over
    :meth:`run_epoch` with evaluations; use a ``Trainer`` directly to run steps one
    block at a time (benchmarks, custom loops) or to continue from a :meth:`checkpoint`.
    It owns a copy of the model's parameters, which it updates in place;
    ``model.params`` is that copy.

    Parameters
    ----------
    model, train, batch_size
        As for :func:`fit`.
    optimizer
        An optimizer or registry name; for a model with members, one per member
        (or one for all).
    seed
        Seed of the shuffles; for a model with members, one per member, or an int
        ``s`` for ``s, s+1, ...``.
    graphs
        Run the steps as replays of a captured CUDA graph: ``None`` (default) does so
        where the library can (PyTorch on CUDA); ``False`` runs them one operation
        at a time (to compare).
    """

    def __init__(
        self,
        model: MLP,
        optimizer: Optimizer | str | Sequence[Optimizer | str],
        train: Dataset,
        *,
        batch_size: int = 10,
        seed: int | Sequence[int] = 0,
        graphs: bool | None = None,
    ) -> None:
        self.batch_size = _positive("batch_size", batch_size)
        can = model.backend.captures_graphs
        if graphs and not can:
            raise ConfigError(f"CUDA graphs need PyTorch on CUDA, not {model.backend.name}")
        self.graphs = can if graphs is None else graphs
        _check_data(model, train, "train")
        k = model.members
        optimizers_ = _optimizers(optimizer, k)
        seeds = _seeds(seed, k)
        self.model, self.train = model, train
        #: One optimizer per member (one in all for a single network).
        self.optimizers = optimizers_
        #: Host generators of the shuffles, one per member: a permutation per epoch each.
        self.rngs = [np.random.default_rng(s) for s in seeds]
        #: Epochs completed.
        self.epoch = 0
        self._targets = model._targets(train.labels)
        params = model.params = model.xp.asarray(model.params, copy=True)
        self._graphs: dict[tuple[int, ...], Any] = {}  # captured steps, by batch shape
        self.groups: list[_Group] = []
        for start, stop in _runs([type(o) for o in optimizers_]):
            if k is None:
                group = _Group(None, optimizers_[0], None)
            else:
                rows = slice(start, stop)
                group = _Group(rows, optimizers.stack(optimizers_[rows], params), None)
            group.state = group.optimizer.init([_rows(params, group.rows)])
            self.groups.append(group)

    @property
    def optimizer(self) -> Optimizer:
        """The optimizer of a single network (the first member's, with members)."""
        return self.optimizers[0]

    @property
    def state(self) -> Any:
        """The optimizer state of a single network (of the first group, with members)."""
        return self.groups[0].state

    @property
    def steps_per_epoch(self) -> int:
        """Optimizer steps in one pass over the training set."""
        return math.ceil(self.train.n / self.batch_size)

    def run(
        self,
        epochs: int,
        *,
        monitor: Dataset | None = None,
        callback: Callable[[int, EpochRecord], None] | None = None,
        progress: Callable[[int, int], None] | None = None,
        histories: list[History] | None = None,
        after_epoch: Callable[[list[History]], None] | None = None,
    ) -> list[History]:
        """Run epochs until ``epochs`` are complete; one history per member (or one).

        After every epoch the training set and ``monitor`` are evaluated in batched
        passes and ``callback(k, record)`` is called for each member ``k`` still
        running; then ``after_epoch(histories)`` (a place to save a checkpoint). To
        continue a run, pass the ``histories`` so far to a restored trainer. A member
        whose training loss stops being finite is reported (its ``status`` and a
        ``RuntimeWarning``) and leaves the run; training ends when none is left.
        """
        epochs = _positive("epochs", epochs)
        model, train = self.model, self.train
        if monitor is not None:
            _check_data(model, monitor, "monitor")
        if histories is None:
            histories = [History(o.name, o.hyperparameters) for o in self.optimizers]
        running = [k for k, h in enumerate(histories) if not h.diverged]
        # Bound the (members, chunk, hidden) activations of an evaluation pass.
        chunk = max(1000, 320_000 // (model.members or 32))
        # A diverging run is reported through its status, not NumPy's overflow warnings.
        with np.errstate(over="ignore", invalid="ignore"):
            while self.epoch < epochs and running:
                seconds = self.run_epoch(progress)
                epoch = self.epoch
                train_loss = _as_list(_evaluate(model, model.params, train, chunk).loss)
                test = _evaluate(model, model.params, monitor, chunk) if monitor else None
                for k in list(running):
                    record = EpochRecord(
                        epoch,
                        train_loss[k],
                        _as_list(test.accuracy)[k] if test else math.nan,
                        _as_list(test.loss)[k] if test else math.nan,
                        seconds,
                    )
                    histories[k].epochs.append(record)
                    if callback is not None:
                        callback(k, record)
                    if not math.isfinite(record.train_loss):
                        name = histories[k].optimizer
                        who = name if model.members is None else f"member {k} ({name})"
                        histories[k].status = (
                            f"{who}: the training loss became {record.train_loss} in epoch "
                            f"{epoch}; training stopped (try a smaller learning rate)"
                        )
                        warnings.warn(histories[k].status, RuntimeWarning, stacklevel=3)
                        running.remove(k)
                if after_epoch is not None:
                    after_epoch(histories)
        return histories

    def checkpoint(self) -> dict[str, Any]:
        """Where training stands, as host (NumPy) arrays and plain values.

        :meth:`restore` on a new ``Trainer`` of the same model, optimizers and data
        continues exactly from here: the parameters, every accumulator, the step count,
        the shuffle generators and the epoch count.
        """
        return {
            "epoch": self.epoch,
            "count": self.groups[0].state.count,
            "params": np.array(to_numpy(self.model.params), copy=True),
            "accumulators": [
                [np.array(to_numpy(slot[0]), copy=True) for slot in g.state[1:]]
                for g in self.groups
            ],
            "rngs": [rng.bit_generator.state for rng in self.rngs],
        }

    def restore(self, checkpoint: dict[str, Any]) -> None:
        """Continue from :meth:`checkpoint`'s ``checkpoint`` (see there)."""
        model = self.model
        params = checkpoint["params"]
        if tuple(params.shape) != tuple(model.params.shape) or len(checkpoint["rngs"]) != len(
            self.rngs
        ):
            raise ConfigError("the checkpoint was written for another model or other members")
        model.params = model.backend.asarray(params, dtype=model.dtype)
        for group, accumulators in zip(self.groups, checkpoint["accumulators"], strict=True):
            arrays = [[model.backend.asarray(a, dtype=model.dtype)] for a in accumulators]
            group.state = group.optimizer.State(int(checkpoint["count"]), *arrays)
        for rng, state in zip(self.rngs, checkpoint["rngs"]):
            rng.bit_generator.state = state
        self.epoch = int(checkpoint["epoch"])
        self._graphs.clear()  # they captured the arrays just replaced

    def run_epoch(self, progress: Callable[[int, int], None] | None = None) -> float:
        """One pass over the training set in a fresh random order; returns its seconds.

        The seconds are wall time with the device synchronized before the clock is read.
        """
        backend = self.model.backend
        start = time.perf_counter()
        orders = [rng.permutation(self.train.n) for rng in self.rngs]
        order = orders[0] if self.model.members is None else np.stack(orders)
        self.run_batches(backend.asarray(order), progress)
        backend.synchronize()
        self.epoch += 1
        return time.perf_counter() - start

    def run_batches(self, order: Any, progress: Callable[[int, int], None] | None = None) -> None:
        """Steps over the training samples ``order``, ``batch_size`` at a time.

        ``order`` holds sample indices on the device: shape ``(n,)``, or ``(K, n)``
        for a model with K members (a row per member). The hot loop: batches are
        gathered on the device in one operation, the update happens in place, and
        nothing is read back to the host. With PyTorch on CUDA, the full batches run
        as replays of one captured CUDA graph of the step.
        """
        if self.graphs:
            full = order.shape[-1] // self.batch_size * self.batch_size
            if full:
                self._run_graphed(order[..., :full], progress)
            if full < order.shape[-1]:
                self._run_eager(order[..., full:], None)
            return
        self._run_eager(order, progress)

    def _run_graphed(self, order: Any, progress: Callable[[int, int], None] | None) -> None:
        size = self.batch_size
        steps = order.shape[-1] // size
        every = max(1, steps // 100)
        key = (*order.shape[:-1], size)
        if key not in self._graphs:
            self._graphs[key] = self._capture(key)
        graph, index, t = self._graphs[key]
        count = self.groups[0].state.count
        t.fill_(count)
        for step in range(steps):
            index.copy_(order[..., step * size : (step + 1) * size])
            graph.replay()
            if progress is not None and step % every == 0:
                progress(step, steps)
        if progress is not None:
            progress(steps, steps)
        for group in self.groups:
            group.state = group.state._replace(count=count + steps)

    def _capture(self, shape: tuple[int, ...]) -> tuple[Any, Any, Any]:
        """Capture one step as a CUDA graph over a static batch index (PyTorch on CUDA).

        The step count is a device scalar the graph increments, so the rules that use
        it (Adam's bias corrections) see the right value at every replay.
        """
        import torch

        model, xp = self.model, self.model.xp
        params = model.params
        views, grad = model._views(params), xp.zeros_like(params)
        grad_views = model._views(grad)
        rows = [(_rows(params, g.rows), _rows(grad, g.rows)) for g in self.groups]
        accumulators = [[slot[0] for slot in g.state[1:]] for g in self.groups]
        index = torch.zeros(shape, dtype=torch.int64, device=params.device)
        t = torch.zeros((), dtype=torch.float64, device=params.device)
        x_all, y_all, lead = self.train.images, self._targets, shape[:-1]
        take = fast_paths(xp).take_rows

        def step() -> None:
            x, y = _gather(xp, take, x_all, y_all, index, lead)
            model._gradient(views, x, y, out=grad_views)
            t.add_(1)
            for group, (p, g), accs in zip(self.groups, rows, accumulators):
                group.optimizer.update(xp, p, g, *accs, t=t)

        # Warm up outside the graph (as capture requires), then undo what it changed.
        saved = [a.clone() for a in (params, *(a for accs in accumulators for a in accs))]
        side = torch.cuda.Stream(device=params.device)
        side.wait_stream(torch.cuda.current_stream(params.device))
        with torch.cuda.stream(side):
            for _ in range(2):
                step()
        torch.cuda.current_stream(params.device).wait_stream(side)
        for array, copy in zip((params, *(a for accs in accumulators for a in accs)), saved):
            array.copy_(copy)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            step()
        return graph, index, t

    def _run_eager(self, order: Any, progress: Callable[[int, int], None] | None) -> None:
        model, xp = self.model, self.model.xp
        x_all, y_all, size = self.train.images, self._targets, self.batch_size
        take = fast_paths(xp).take_rows  # resolved once, not per step
        lead = () if model.members is None else (model.members,)
        n = order.shape[-1]
        steps = math.ceil(n / size)
        every = max(1, steps // 100)
        params = model.params
        views = model._views(params)
        mutable = model.backend.views_follow_updates
        if mutable:  # gradients are written into one buffer, parameters updated in place
            grad = xp.zeros_like(params)
            grad_views = model._views(grad)
            grad_rows = [_rows(grad, g.rows) for g in self.groups]
        param_rows = [_rows(params, g.rows) for g in self.groups]
        # Each rule is applied to its rows directly (what step() does for a list of
        # arrays), with the state's arrays unpacked until the block ends.
        updates = [fused_update(g.optimizer, xp) or g.optimizer.update for g in self.groups]
        accumulators = [[slot[0] for slot in g.state[1:]] for g in self.groups]
        t = self.groups[0].state.count
        for step in range(steps):
            batch = order[..., step * size : min((step + 1) * size, n)]
            x, y = _gather(xp, take, x_all, y_all, batch, lead)
            if mutable:
                model._gradient(views, x, y, out=grad_views)
            else:
                grad = model._gradient(views, x, y)
                grad_rows = [_rows(grad, g.rows) for g in self.groups]
            t += 1
            replaced = False
            for i, (update, p, g) in enumerate(zip(updates, param_rows, grad_rows)):
                param_rows[i], accumulators[i] = update(xp, p, g, *accumulators[i], t=t)
                replaced |= param_rows[i] is not p
            if replaced or not mutable:  # a library whose arrays cannot change in place
                params = param_rows[0] if len(param_rows) == 1 else xp.concat(param_rows, axis=0)
                param_rows = [_rows(params, g.rows) for g in self.groups]
                views = model._views(params)
            if progress is not None and step % every == 0:
                progress(step, steps)
        if progress is not None:
            progress(steps, steps)
        model.params = params
        for group, accs in zip(self.groups, accumulators):
            group.state = group.optimizer.State(t, *([a] for a in accs))


def _gather(xp: Any, take: Any, x_all: Any, y_all: Any, batch: Any, lead: tuple[int, ...]) -> Any:
    """The images and targets of ``batch``: ``(B, ...)``, or with members ``(K, B, ...)``,
    all members' rows in one ``take``."""
    if not lead:
        return take(x_all, batch), take(y_all, batch)
    flat = xp.reshape(batch, (-1,))
    x = xp.reshape(take(x_all, flat), (*lead, -1, x_all.shape[-1]))
    y = xp.reshape(take(y_all, flat), (*lead, -1, y_all.shape[-1]))
    return x, y


def _rows(params: Any, rows: slice | None) -> Any:
    return params if rows is None else params[rows, ...]


def _optimizers(optimizer: Any, members: int | None) -> list[Optimizer]:
    if not isinstance(optimizer, (list, tuple)):
        chosen = [optimizer] * (members or 1)
    else:
        chosen = list(optimizer)
        if members is None or len(chosen) != members:
            raise ConfigError(
                f"{len(chosen)} optimizers given for "
                + ("a single network" if members is None else f"{members} members")
            )
    result = []
    for o in chosen:
        if isinstance(o, str):
            o = optimizers.get(o)
        if not isinstance(o, Optimizer):
            raise ConfigError(f"optimizer must be an Optimizer or a name, not {type(o).__name__}")
        result.append(o)
    return result


def _seeds(seed: Any, members: int | None) -> list[int]:
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        return [int(seed) + k for k in range(members or 1)]
    seeds = [int(s) for s in seed]
    if members is None or len(seeds) != members:
        raise ConfigError(
            f"{len(seeds)} shuffle seeds given for "
            + ("a single network" if members is None else f"{members} members")
        )
    return seeds


def _runs(kinds: list[type]) -> list[tuple[int, int]]:
    """``[(start, stop), ...]`` of the runs of equal neighbours in ``kinds``."""
    runs, start = [], 0
    for i in range(1, len(kinds) + 1):
        if i == len(kinds) or kinds[i] is not kinds[start]:
            runs.append((start, i))
            start = i
    return runs


def fit(
    model: MLP,
    optimizer: Optimizer | str,
    train: Dataset,
    *,
    epochs: int = 40,
    batch_size: int = 10,
    monitor: Dataset | None = None,
    seed: int = 0,
    callback: Callable[[EpochRecord], None] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> History:
    """Train ``model`` in place with mini-batch ``optimizer`` steps; return the history.

    Each epoch visits every training sample once in a fresh random order
    (``numpy.random.default_rng(seed)`` on the host, so the same seed gives the same
    run), in batches of ``batch_size`` (the last one may be smaller); the gradient is
    the batch mean. After each epoch the whole training set and ``monitor`` (the test
    set, if given) are evaluated in batched passes.

    Parameters
    ----------
    model
        The network. Training works on a copy of its parameters, updated in place
        as it goes, which becomes :attr:`~optimlab.MLP.params`.
    optimizer
        An :class:`~optimlab.optimizers.Optimizer`, or a registry name for its defaults.
    train, monitor
        Data sets on the model's device (see :func:`optimlab.datasets.load_mnist`).
    epochs, batch_size
        Passes over the training set, and samples per step.
    callback
        Called with each epoch's :class:`EpochRecord` as soon as it is complete.
    progress
        Called as ``progress(steps_done, steps_per_epoch)`` about a hundred times per
        epoch (for a progress bar; it never receives device arrays).

    Returns
    -------
    History
        One :class:`EpochRecord` per epoch run. If the training loss becomes ``nan``
        or infinite, training stops after that epoch, ``history.status`` says so and a
        ``RuntimeWarning`` is issued.
    """
    if model.members is not None:
        raise ConfigError("this model has members: train it with fit_members()")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ConfigError(f"seed must be an integer, not {seed!r}")
    trainer = Trainer(model, optimizer, train, batch_size=batch_size, seed=seed)
    report = None if callback is None else (lambda _, record: callback(record))
    return trainer.run(epochs, monitor=monitor, callback=report, progress=progress)[0]


def fit_members(
    model: MLP,
    optimizers: Optimizer | str | Sequence[Optimizer | str],
    train: Dataset,
    *,
    epochs: int = 40,
    batch_size: int = 10,
    monitor: Dataset | None = None,
    seeds: Sequence[int] | None = None,
    callback: Callable[[int, EpochRecord], None] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[History]:
    """Train the K members of ``model`` side by side, in one pass; one history each.

    Member ``k`` is the same run as ``fit(MLP(..., seed=model.seeds[k]),
    optimizers[k], train, seed=seeds[k])`` (equal up to rounding), but all members
    take each step together: one gather of all their batches, one forward and
    backward pass with a member axis, and one update per group of neighbouring
    members with the same kind of optimizer.

    Parameters
    ----------
    model
        A model with members, e.g. ``MLP([784, 30, 10], seed=[0, 1, 2, 3, 4])``.
    optimizers
        One optimizer (or name) per member, or one for all. Hyper-parameters may
        differ between members: a learning-rate sweep is K copies of one optimizer
        with K learning rates.
    seeds
        Shuffle seeds, one per member (default: the members' initialization seeds).
    callback
        Called as ``callback(k, record)`` for member ``k`` after each epoch.
    epochs, batch_size, monitor, progress
        As for :func:`fit`.

    Returns
    -------
    list[History]
        One per member. A member whose training loss becomes ``nan`` or infinite is
        reported (its ``status``, and a ``RuntimeWarning``) and its history stops
        there; the others are unaffected and go on.

    Examples
    --------
    >>> from optimlab import MLP, fit_members, load_mnist, optimizers
    >>> train, test = load_mnist()
    >>> model = MLP([784, 30, 10], seed=[0, 1, 2])
    >>> sweep = [optimizers.Adam(lr=lr) for lr in (0.001, 0.003, 0.01)]
    >>> histories = fit_members(model, sweep, train, epochs=1, monitor=test)
    >>> [round(h.test_accuracy[-1], 2) for h in histories]  # doctest: +SKIP
    [0.93, 0.94, 0.93]
    """
    if model.members is None:
        raise ConfigError(
            "fit_members() needs a model with members: MLP(..., members=K) or seed=[s1, ..., sK]"
        )
    seeds = model.seeds if seeds is None else seeds
    trainer = Trainer(model, optimizers, train, batch_size=batch_size, seed=seeds)
    return trainer.run(epochs, monitor=monitor, callback=callback, progress=progress)


def _as_list(value: Any) -> list[float]:
    return value if isinstance(value, list) else [value]


def _positive(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ConfigError(f"{name} must be a positive integer, not {value!r}")
    return int(value)


def _check_data(model: MLP, data: Dataset, name: str) -> None:
    if data.features != model.layers[0]:
        raise ConfigError(
            f"{name} has {data.features} features per sample but the network's input layer "
            f"has {model.layers[0]}"
        )
    if data.num_classes > model.layers[-1]:
        raise ConfigError(
            f"{name} has {data.num_classes} classes but the network's output layer has "
            f"{model.layers[-1]}"
        )
    if not model.backend.holds(data.images):
        raise ConfigError(
            f"{name} lives on {of(data.images).name} but the model on {model.backend.name}; "
            f"load both with the same device"
        )
    if data.images.dtype != model.dtype:
        raise ConfigError(
            f"{name} holds {data.images.dtype} images but the model is {model.dtype_name}; "
            f"load the data with dtype={model.dtype_name!r}"
        )
