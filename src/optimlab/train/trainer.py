"""The Trainer: a training run between steps, and the epoch loop around the step.

The step loop follows the rules that make small batches fast: the data set
stays on the device; each epoch's shuffle is drawn on the host from a seeded
generator and sent as one index array; batches are gathered on the device;
nothing is read back to the host until the epoch ends.

A model with members (``MLP(..., members=K)``) trains K independent runs in one
pass: each member has its own initialization, its own shuffle and its own
optimizer and hyper-parameters, and the batches of all members are gathered in
one operation. Members that use the same kind of optimizer and stand next to
each other form a group, updated by one optimizer ``step`` whose state holds the
members' differing hyper-parameters as ``(K, 1)`` arrays.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import _checks, optimizers
from ..backend import to_numpy
from ..errors import ConfigError
from ..nn import Model
from ..optimizers import Optimizer
from . import divergence
from .evaluation import check_data, check_model, evaluate_params
from .history import EpochRecord, History
from .state import TrainerState
from .step import Group, Steps, evaluation_point, optimizer_inputs

if TYPE_CHECKING:
    from ..datasets import Dataset

__all__ = ["Trainer", "run_steps"]


class Trainer:
    """The state of a training run between steps: parameters, optimizer state, shuffles.

    :func:`~optimlab.fit` and :func:`~optimlab.fit_members` call :meth:`run`, a
    loop over :meth:`run_epoch` with evaluations; use a ``Trainer`` directly to
    run steps one block at a time (benchmarks, custom loops) or to continue from
    a :meth:`checkpoint`. It owns a copy of the model's parameters, which it
    updates in place; ``model.params`` is that copy.

    Parameters
    ----------
    model, train, batch_size
        As for :func:`~optimlab.fit`.
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
    reference_loss
        The loss of knowing nothing, against which :meth:`run` tells divergence
        (default: :func:`optimlab.train.divergence.reference_loss` of model and data).
    """

    def __init__(
        self,
        model: Model,
        optimizer: Optimizer | str | Sequence[Optimizer | str],
        train: Dataset,
        *,
        batch_size: int = 10,
        seed: int | Sequence[int] = 0,
        graphs: bool | None = None,
        reference_loss: float | None = None,
    ) -> None:
        check_model(model)
        self.batch_size = _checks.positive_int("batch_size", batch_size)
        can = model.backend.captures_graphs
        if graphs and not can:
            raise ConfigError(f"CUDA graphs need PyTorch on CUDA, not {model.backend.name}")
        self.graphs = can if graphs is None else graphs
        check_data(model, train, "train")
        #: One optimizer per member (one in all for a single network).
        self.optimizers = _optimizers(optimizer, model.members)
        seeds = _checks.seeds(seed, model.members or 1, what="shuffle seeds")
        self.model, self.train = model, train
        #: Host generators of the shuffles, one per member: a permutation per epoch each.
        self.rngs = [np.random.default_rng(s) for s in seeds]
        #: Epochs completed.
        self.epoch = 0
        self.targets = model.targets(train.labels)
        model.params = model.xp.asarray(model.params, copy=True)
        #: The optimizer groups: neighbouring members with one kind of optimizer.
        self.groups = _groups(model, self.optimizers)
        self._captured: dict[tuple[int, ...], Any] = {}  # CUDA graphs, by batch shape
        #: The loss of knowing nothing: a training loss over ``EXPLODED`` times it diverged.
        self.reference_loss = divergence.reference_loss(model, train, reference_loss)
        optimizers.warn_skipped_plugins()  # before training, not at optimlab's import

    @property
    def optimizer(self) -> Optimizer:
        """The optimizer of a single network (the first member's, with members)."""
        return self.optimizers[0]

    @property
    def state(self) -> optimizers.State:
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
        validation: Dataset | None = None,
    ) -> list[History]:
        """Run epochs until ``epochs`` are complete; one history per member (or one).

        After every epoch the training set, ``monitor`` (test) and ``validation``
        (held-out training samples) are evaluated in batched passes and
        ``callback(k, record)`` is called for each member ``k`` still running; then
        ``after_epoch(histories)`` (to save a checkpoint). To continue a run, pass the
        ``histories`` so far to a restored trainer. Divergence is compare's
        (:mod:`optimlab.train.divergence`): a member whose training loss is not finite is
        marked diverged (``status``, one ``RuntimeWarning``) and leaves the run; one over
        ``EXPLODED`` times :attr:`reference_loss` is marked so and trains on, as in compare.
        """
        epochs = _checks.positive_int("epochs", epochs)
        if monitor is not None:
            check_data(self.model, monitor, "monitor")
        if validation is not None:
            check_data(self.model, validation, "validation")
        if histories is None:
            histories = [History(o.name, o.hyperparameters) for o in self.optimizers]
        running = [k for k, h in enumerate(histories) if not h.stopped]
        # A diverging run is reported through its status, not NumPy's overflow warnings.
        with np.errstate(over="ignore", invalid="ignore"):
            while self.epoch < epochs and running:
                seconds = self.run_epoch(progress)
                for k, record in _records(self, seconds, monitor, validation, running):
                    histories[k].epochs.append(record)
                    if callback is not None:
                        callback(k, record)
                    if _judge(self, histories[k], k, record):  # training stops
                        running.remove(k)
                if after_epoch is not None:
                    after_epoch(histories)
        return histories

    def eval_params(self) -> Any:
        """The parameters at which the network is evaluated, ``([K,] size)``: ``model.params``,
        unless an optimizer evaluates elsewhere than it trains (Schedule-Free's average,
        see :meth:`Optimizer.eval_params <optimlab.optimizers.Optimizer.eval_params>`)."""
        return evaluation_point(self.model, self.groups)

    def checkpoint(self) -> TrainerState:
        """Where training stands, on the host.

        :meth:`restore` on a new ``Trainer`` of the same model, optimizers and data
        continues exactly from here: the parameters, every accumulator, the step count,
        the shuffle generators and the epoch count.
        """
        host = lambda a: np.array(to_numpy(a), copy=True)  # noqa: E731
        return TrainerState(
            epoch=self.epoch,
            count=int(self.groups[0].state.count),
            params=host(self.model.params),
            slots=[
                [[host(a) for a in g.state.slots[name]] for name in g.optimizer.slots]
                for g in self.groups
            ],
            rngs=[rng.bit_generator.state for rng in self.rngs],
            scalars=[{k: host(a) for k, a in g.state.scalars.items()} for g in self.groups],
        )

    def restore(self, state: TrainerState) -> None:
        """Continue from a :meth:`checkpoint` (see there)."""
        if not _fits(state, self):
            raise ConfigError("the checkpoint was written for another model or other members")
        self.groups = _restored_groups(self.model, self.optimizers, state)
        for rng, saved in zip(self.rngs, state.rngs):
            rng.bit_generator.state = saved
        self.epoch = int(state.epoch)
        self._captured.clear()  # they captured the arrays just replaced

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
        steps = Steps(self.model, self.groups, self.train.images, self.targets)
        size = self.batch_size
        full = order.shape[-1] // size * size if self.graphs else 0
        if full:
            key = (*order.shape[:-1], size)
            if key not in self._captured:
                self._captured[key] = steps.capture(key)
            steps.replay(self._captured[key], order[..., :full], size, progress)
        if full < order.shape[-1]:
            steps.run(order[..., full:], size, None if full else progress)
        steps.finish()


def run_steps(
    trainer: Trainer,
    steps: int,
    on_step: Callable[[Trainer], None],
    *,
    drop_last: bool = False,
) -> None:
    """Run ``steps`` more steps of ``trainer``, calling ``on_step(trainer)`` after each.

    The epochs are :meth:`Trainer.run_epoch`'s (a fresh shuffle each, counted in
    ``trainer.epoch``), the last one cut short where the steps end; with ``drop_last``
    an epoch leaves out its last incomplete batch, as DeepOBS's data sets do (its 2-D
    problems: 78 batches of 128 of 10,000 samples).

    When ``on_step`` runs, the trainer holds that step's parameters and optimizer state
    (:meth:`Trainer.eval_params` is where it evaluates). To record a path, keep copies
    on the device and read them back at the end: a read per step would wait for the
    device at every step. The steps run eagerly, not as CUDA-graph replays: a block of
    replays sets the step count on the host only at its end, so a hook between two
    replays would see a stale count.

    Raises
    ------
    ConfigError
        ``steps`` is not a positive integer, or ``drop_last`` leaves no batch.
    """
    steps = _checks.positive_int("steps", steps)
    size, n, model = trainer.batch_size, trainer.train.n, trainer.model
    per_epoch = n // size if drop_last else math.ceil(n / size)
    if per_epoch == 0:
        raise ConfigError(f"a batch of {size} does not fit a training set of {n}")
    while steps > 0:
        orders = [rng.permutation(n) for rng in trainer.rngs]
        order = orders[0] if model.members is None else np.stack(orders)
        taken = min(steps, per_epoch)
        order = model.backend.asarray(order[..., : min(taken * size, n)])
        block = Steps(model, trainer.groups, trainer.train.images, trainer.targets)
        for k in range(taken):
            block.step(order[..., k * size : min((k + 1) * size, order.shape[-1])])
            block.finish()  # the trainer now holds this step's parameters and state
            on_step(trainer)
        trainer.epoch += 1
        steps -= taken


def _judge(trainer: Trainer, history: History, k: int, record: EpochRecord) -> bool:
    """Mark ``history`` diverged if it is not yet and ``record`` is (one warning, at the
    caller of fit); whether its training stops (a loss that is not finite)."""
    loss, reference = record.train_loss, trainer.reference_loss
    if not history.diverged and divergence.diverged(loss, reference):
        members = trainer.model.members is not None
        who = f"member {k} ({history.optimizer})" if members else history.optimizer
        if math.isfinite(loss):
            why = divergence.reason(record, reference, divergence.knowing(trainer.model))
            history.status = f"{who}: {why}"
        else:
            history.status = (
                f"{who}: the training loss became {loss} in epoch {record.epoch}; "
                "training stopped (try a smaller learning rate)"
            )
        warnings.warn(history.status, RuntimeWarning, stacklevel=4)
    return not math.isfinite(loss)


def _fits(state: TrainerState, trainer: Trainer) -> bool:
    """Whether ``state`` was written for ``trainer``'s model, members and optimizers."""
    groups = trainer.groups
    return (
        tuple(state.params.shape) == tuple(trainer.model.params.shape)
        and len(state.rngs) == len(trainer.rngs)
        and [len(s) for s in state.slots] == [len(g.optimizer.slots) for g in groups]
        and [set(s) for s in state.scalars] == [set(g.optimizer.scalars) for g in groups]
    )


def _restored_groups(model: Model, chosen: list[Optimizer], state: TrainerState) -> list[Group]:
    """The optimizer groups at ``state``, with ``model.params`` set to its parameters."""
    # Copies: training updates them in place, and the state must stay as it was.
    own = lambda a: model.backend.asarray(np.array(a, copy=True), dtype=model.dtype)  # noqa: E731
    model.params = own(state.params)
    groups = _groups(model, chosen)
    for group, slots, scalars in zip(groups, state.slots, state.scalars):
        arrays = {name: [own(a) for a in slot] for name, slot in zip(group.optimizer.slots, slots)}
        group.state = group.state._replace(
            count=int(state.count), slots=arrays, scalars={k: own(a) for k, a in scalars.items()}
        )
    return groups


def _records(
    trainer: Trainer,
    seconds: float,
    monitor: Dataset | None,
    validation: Dataset | None,
    running: list[int],
) -> list[tuple[int, EpochRecord]]:
    """The epoch's records of the members still ``running``: one batched evaluation."""
    model, params = trainer.model, trainer.eval_params()
    chunk = max(1000, 320_000 // (model.members or 32))  # bounds (K, chunk, hidden)
    train_loss = _as_list(evaluate_params(model, params, trainer.train, chunk).loss)
    nan = [math.nan] * len(train_loss)

    def figures(data: Dataset | None) -> tuple[list[float], list[float]]:
        if data is None:
            return nan, nan
        found = evaluate_params(model, params, data, chunk)
        return _as_list(found.accuracy), _as_list(found.loss)

    (accuracy, loss), (val_accuracy, val_loss) = figures(monitor), figures(validation)
    return [
        (
            k,
            EpochRecord(
                trainer.epoch,
                train_loss[k],
                accuracy[k],
                loss[k],
                seconds,
                val_accuracy[k],
                val_loss[k],
            ),
        )
        for k in running
    ]


def _groups(model: Model, chosen: list[Optimizer]) -> list[Group]:
    """One group per run of neighbouring members with the same kind of optimizer and the
    same options (schedule, clipping, decay of the biases)."""
    params, groups, start = model.params, [], 0
    for i in range(1, len(chosen) + 1):
        if i < len(chosen) and _alike(chosen[i], chosen[start]):
            continue
        optimizer = chosen[start]
        rows, hyper = None, None
        if model.members is not None:
            rows = slice(start, i)
            hyper = optimizers.member_hyperparameters(chosen[rows], params)
        inputs = optimizer_inputs(model, params, rows, optimizer)
        biases = None
        if not optimizer.decay_biases and optimizer.elementwise:  # the flat vector's biases
            biases = model.backend.asarray(model.layout.bias_mask(), dtype=model.dtype)
        state = optimizer.init(
            inputs, hyperparameters=hyper, members=model.members is not None, biases=biases
        )
        groups.append(Group(rows, optimizer, state))
        start = i
    return groups


def _alike(a: Optimizer, b: Optimizer) -> bool:
    return type(a) is type(b) and a.options == b.options


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


def _as_list(value: Any) -> list[float]:
    return value if isinstance(value, list) else [value]
