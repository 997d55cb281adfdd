"""``optimlab train`` and ``optimlab evaluate``: one network at a time."""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any

from .. import optimizers, problems
from .._files import check_writable
from ..backend import resolve
from ..datasets import Dataset
from ..errors import ConfigError, OptimlabError
from ..experiment.data import load_data
from ..experiment.results import diverged_at
from ..experiment.resume import require_same_data, require_same_setting
from ..experiment.settings import Setting, Trial, check_memory
from ..nn import MLP, Point
from ..train import EpochRecord, History, Trainer, evaluate
from ..train import checkpoint as checkpoints
from .display import Bar
from .parser import HYPERPARAMETERS, optimizer_options, setting_options

__all__ = ["evaluate_command", "train_command"]


def train_command(args: argparse.Namespace) -> int:
    """Train one network; print each epoch and the final figures; save if asked."""
    # Everything that can be wrong with the input is checked before training starts.
    problem = problems.get(args.problem)
    if not problem.trains_network and args.save is not None:
        raise ConfigError(f"--save writes networks: {problem.name} trains a point, not one")
    _check_files(args)
    setting = _setting(args, problem)
    (trial,) = setting.trials
    backend = resolve(setting.device, library=setting.library)
    check_memory(setting.layers, 1, setting.dtype, setting.device)
    model = problem.make_model(setting, trial.seed, backend)
    train, test = problem.load_data(setting, backend)
    problem.check(setting, train)
    files = problem.data_files(args.data_dir)
    per_epoch = math.ceil(train.n / setting.batch_size)  # a schedule's epochs, in steps
    # the one optimizer, made once the run's steps are known (its schedule among them)
    optimizer = trial.make(per_epoch, per_epoch * setting.epochs)
    trainer = Trainer(
        model,
        optimizer,
        train,
        batch_size=setting.batch_size,
        seed=trial.seed,
        reference_loss=problem.chance_loss(setting),
    )
    recorded = _recorded(setting, optimizer)
    histories = _resume(args, trainer, recorded, files) if args.resume else None
    trained = (
        f"{problem.name} ({model.size}-D point)"
        if isinstance(model, Point)
        else f"{'-'.join(map(str, model.layers))} {model.activation.name}/{model.output.name}"
    )
    header = (
        f"{optimizer} on {backend.name}, {setting.dtype}: {trained}, batch "
        f"{setting.batch_size}, {train.n} training and {test.n} test samples"
    )
    info = {"setting": recorded, "data": files}
    history = _train(args, trainer, test, histories, info, Bar(args.quiet, header))
    if isinstance(history, int):  # interrupted (130), or the optimizer failed (1)
        return history
    # compare's rule (experiment.results.diverged_at): a loss that is not finite, or
    # finite but over ten times that of knowing nothing
    why = history.status if history.diverged else diverged_at(setting, history)
    if why is not None:
        print(
            f"optimlab train: {why if history.diverged else f'{optimizer.name}: {why}'}",
            file=sys.stderr,
        )
        if args.save is not None:
            print(f"optimlab train: the model was not saved to {args.save}", file=sys.stderr)
        return 1
    last = history.epochs[-1]
    print(
        f"{optimizer.name}: {_figures(last, ', ', 0)} after {len(history.epochs)} epoch(s), "
        f"{sum(history.seconds):.1f} s of training"
    )
    if args.save is not None:
        model.params = trainer.eval_params()  # where it was evaluated (Schedule-Free's average)
        return _save(model, args.save)
    return 0


def _setting(args: argparse.Namespace, problem: problems.Problem) -> Setting:
    """The experiment of one trial that ``train`` runs: the command's optimizer, its
    hyper-parameters (the problem's default rate unless ``--lr``), options and seed."""
    hyper = {k: getattr(args, k) for k in HYPERPARAMETERS if getattr(args, k) is not None}
    if "lr" not in hyper and problem.learning_rate(args.optimizer) is not None:
        hyper["lr"] = problem.learning_rate(args.optimizer)
    trial = Trial(args.optimizer, hyper, args.seed, optimizer_options(args))
    return Setting("train", [[trial]], **{**setting_options(args), "problem": problem})


def _recorded(setting: Setting, optimizer: optimizers.Optimizer) -> dict[str, Any]:
    """What a checkpoint records of the run, for ``--resume`` to match: everything but the
    epochs, the trial's fields beside the setting's (the form train checkpoints have
    always had), with the optimizer's hyper-parameters as it holds them."""
    (trial,) = setting.trials
    common = {k: v for k, v in setting.to_dict().items() if k not in ("kind", "passes", "epochs")}
    return {
        "optimizer": trial.optimizer,
        "hyperparameters": optimizer.hyperparameters,
        **({"options": trial.options} if trial.options else {}),
        **common,
        "seed": trial.seed,
    }


def _backfilled(stored: Any) -> Any:
    """A checkpoint's recorded run with the hyper-parameters added to its optimizer since
    it was written at their defaults, as an experiment's :class:`Trial` fills them."""
    if not isinstance(stored, dict) or stored.get("optimizer") not in optimizers.OPTIMIZERS:
        return stored
    given = stored.get("hyperparameters") or {}
    if not isinstance(given, dict):
        return stored
    trial = Trial(stored["optimizer"], given, 0)
    return {**stored, "hyperparameters": trial.hyperparameters}


def _figures(record: EpochRecord, between: str = "  ", width: int = 7) -> str:
    """``test accuracy  95.00%  test loss 0.1000``; the loss alone for a function."""
    loss = f"test loss {record.test_loss:.4f}"
    if math.isnan(record.test_accuracy):
        return loss
    return f"test accuracy {record.test_accuracy:{width}.2%}{between}{loss}"


def _save(model: MLP, path: str) -> int:
    """Save the trained model to ``path``, or, if the system refuses (a full disk, a
    file-size limit), to a file in the temporary directory, and say where."""
    try:
        model.save(path)
    except (OSError, OptimlabError) as error:
        why = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        fallback = Path(tempfile.gettempdir()) / f"optimlab-model-{os.getpid()}{Path(path).suffix}"
        try:
            model.save(fallback)
        except (OSError, OptimlabError) as second:
            print(
                f"optimlab train: cannot write {path} ({why}) nor {fallback} "
                f"({getattr(second, 'strerror', None) or second}): the trained model is lost",
                file=sys.stderr,
            )
            return 1
        print(
            f"optimlab train: cannot write {path} ({why}); the trained model is saved "
            f"in {fallback} instead",
            file=sys.stderr,
        )
        return 1
    print(f"model saved to {path}")
    return 0


def _check_files(args: argparse.Namespace) -> None:
    """The model and checkpoint files can be written, and a checkpoint is not lost."""
    for option, value in (("--save", args.save), ("--checkpoint", args.checkpoint)):
        if value is not None and not value.strip():
            raise ConfigError(f"{option} is empty: name the file")
    if args.save is not None:
        check_writable(args.save)
    if args.resume and args.checkpoint is None:
        raise ConfigError("--resume continues from a --checkpoint FILE: name it")
    if args.save is not None and args.checkpoint is not None:
        if Path(args.save).resolve() == Path(args.checkpoint).resolve():
            raise ConfigError(
                f"--save and --checkpoint both name {args.save}: the model would replace "
                "the checkpoint; give them different files"
            )
    if args.checkpoint is not None:
        check_writable(args.checkpoint)
        if Path(args.checkpoint).exists() and not args.resume:
            raise ConfigError(
                f"checkpoint {args.checkpoint} exists: pass --resume to continue "
                "from it, or remove it"
            )


def _resume(
    args: argparse.Namespace, trainer: Trainer, setting: dict[str, Any], files: dict[str, str]
) -> list[History]:
    """Restore ``trainer`` from ``--checkpoint``; return the histories so far."""
    saved = checkpoints.load(args.checkpoint)
    source = f"checkpoint {args.checkpoint}"
    stored = _backfilled(saved["info"].get("setting"))
    require_same_setting(stored, setting, source, "run the same command with --resume")
    require_same_data(
        saved["info"].get("data", {}), files, source, "restore the files, or start again"
    )
    if saved["trainer"].epoch > args.epochs:
        raise ConfigError(
            f"{source} holds {saved['trainer'].epoch} epochs, more than --epochs "
            f"{args.epochs}: pass --epochs {saved['trainer'].epoch} or more to continue it"
        )
    trainer.restore(saved["trainer"])
    histories = saved["histories"]
    if not args.quiet:
        for record in histories[0].epochs:
            shown = f"{_figures(record)}  (from {args.checkpoint})"
            print(f"epoch {record.epoch:3d}/{args.epochs}  {shown}")
    return histories


def _train(
    args: argparse.Namespace,
    trainer: Trainer,
    test: Dataset,
    histories: list[History] | None,
    info: dict[str, Any],
    bar: Bar,
) -> History | int:
    """Run the epochs with a line and a checkpoint after each; the exit code instead if
    interrupted (130) or the optimizer's step failed (1, said in one sentence)."""

    def after_epoch(histories: list[History]) -> None:
        record = histories[0].epochs[-1]
        bar.line(
            f"epoch {record.epoch:3d}/{args.epochs}  {_figures(record)}  "
            f"train loss {record.train_loss:.4f}  {record.seconds:6.2f} s"
        )
        bar.describe(f"epoch {record.epoch + 1}/{args.epochs}")
        if args.checkpoint:
            checkpoints.save(args.checkpoint, trainer, histories, info)

    bar.describe(f"epoch {trainer.epoch + 1}/{args.epochs}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # the status is printed after
            history = trainer.run(
                args.epochs,
                monitor=test,
                progress=bar.progress,
                histories=histories,
                after_epoch=after_epoch,
            )[0]
    except (OptimlabError, MemoryError, OSError):
        raise  # the input, the memory, the disk: said by the command line as for every command
    except Exception as error:  # the optimizer's step itself: as a failed pass is told
        bar.close()
        name = trainer.optimizers[0].name
        print(f"optimlab train: {name} failed: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        bar.close()
        where = (
            f"; the epochs completed are in {args.checkpoint}: run the same command "
            "with --resume to continue"
            if args.checkpoint is not None and Path(args.checkpoint).is_file()
            else "; no epoch was complete, so nothing is saved"
            if args.checkpoint is not None
            else ""
        )
        print(f"optimlab train: interrupted{where}", file=sys.stderr)
        return 130
    bar.close()
    return history


def evaluate_command(args: argparse.Namespace) -> int:
    """Score a saved model (every member of one) on the test set."""
    backend = resolve(args.device, library=args.backend)
    model = MLP.load(args.model, device=backend.device, xp=backend.xp)
    _, test = load_data(backend, model.dtype_name, args.data_dir)
    result = evaluate(model, test)
    if model.members is None:
        print(
            f"{args.model}: test accuracy {result.accuracy:.2%}, test loss {result.loss:.4f} "
            f"({test.n} test samples)"
        )
    else:
        for k, (accuracy, loss) in enumerate(zip(result.accuracy, result.loss)):
            print(
                f"{args.model} member {k} (seed {model.seeds[k]}): test accuracy "
                f"{accuracy:.2%}, test loss {loss:.4f}"
            )
    return 0
