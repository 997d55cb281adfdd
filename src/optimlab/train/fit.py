"""Training in one call: :func:`fit` for one network, :func:`fit_members` for K side by side."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from numbers import Integral
from typing import TYPE_CHECKING

from ..errors import ConfigError
from ..nn import Model
from ..optimizers import Optimizer
from .evaluation import check_model
from .history import EpochRecord, History
from .trainer import Trainer

if TYPE_CHECKING:
    from ..datasets import Dataset

__all__ = ["fit", "fit_members"]


def fit(
    model: Model,
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
        as it goes; at the end :attr:`~optimlab.MLP.params` are the parameters at
        which it is evaluated (for most optimizers that copy; Schedule-Free's average).
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
        One :class:`EpochRecord` per epoch run. The run diverges by the rule of
        ``optimlab compare`` (:mod:`optimlab.train.divergence`): if the training loss
        becomes ``nan`` or infinite, training stops after that epoch; if it goes over
        ``EXPLODED`` (10) times the loss of knowing nothing (``K ln 2`` for K sigmoid
        outputs, ``ln K`` for softmax), training goes on, its figures recorded. Either
        way ``history.diverged`` is true, ``history.status`` says at which epoch and why
        and one ``RuntimeWarning`` is issued.
    """
    check_model(model)
    if model.members is not None:
        raise ConfigError("this model has members: train it with fit_members()")
    if isinstance(seed, bool) or not isinstance(seed, Integral):
        raise ConfigError(f"seed must be an integer, not {seed!r}")
    trainer = Trainer(model, optimizer, train, batch_size=batch_size, seed=seed)
    report = None if callback is None else (lambda _, record: callback(record))
    history = trainer.run(epochs, monitor=monitor, callback=report, progress=progress)[0]
    model.params = trainer.eval_params()
    return history


def fit_members(
    model: Model,
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
        One per member, each marked diverged by :func:`fit`'s rule on its own: a member
        whose training loss becomes ``nan`` or infinite is reported (its ``status``, and
        a ``RuntimeWarning``) and its history stops there; one whose loss goes over the
        rule's bound is reported the same way and trains on; the others are unaffected.

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
    check_model(model)
    if model.members is None:
        raise ConfigError(
            "fit_members() needs a model with members: MLP(..., members=K) or seed=[s1, ..., sK]"
        )
    seeds = model.seeds if seeds is None else seeds
    trainer = Trainer(model, optimizers, train, batch_size=batch_size, seed=seeds)
    histories = trainer.run(epochs, monitor=monitor, callback=callback, progress=progress)
    model.params = trainer.eval_params()
    return histories
