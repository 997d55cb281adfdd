"""The ``optimlab`` command line: argument parsing and error reporting only.

Bad input (an unknown name, an impossible hyper-parameter, a corrupt file, a
device that is not there) is reported as one sentence on standard error with
exit code 2, before any long work starts and without a traceback.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Sequence
from typing import NoReturn

from . import __version__
from .errors import OptimlabError

__all__ = ["main"]

_HYPERPARAMETERS = ("lr", "momentum", "decay", "beta1", "beta2", "eps")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _layers(text: str) -> list[int]:
    try:
        sizes = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--layers takes comma-separated integers such as 784,30,10, not {text!r}"
        ) from None
    return sizes


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, not {text!r}")
    return value


def _parser() -> argparse.ArgumentParser:
    from . import activations, losses, optimizers

    parser = _Parser(
        prog="optimlab",
        description="Compare neural-network optimizers on MNIST, on NumPy (cpu) or CuPy (cuda).",
    )
    parser.add_argument("--version", action="version", version=f"optimlab {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    train = commands.add_parser(
        "train",
        help="train one network with one optimizer",
        description="Train one MLP with one optimizer and report test accuracy and loss per epoch. "
        "The defaults are the lab report's setting: 784-30-10 sigmoid network, batch 10, "
        "40 epochs.",
    )
    train.add_argument("--device", default="cpu", help="cpu (NumPy) or cuda (CuPy); default cpu")
    train.add_argument(
        "--optimizer",
        default="sgd",
        type=str.lower,
        help=f"one of {', '.join(optimizers.OPTIMIZERS)}; default sgd",
    )
    group = train.add_argument_group(
        "hyper-parameters", "Unset ones take the report's values for the chosen optimizer."
    )
    for name in _HYPERPARAMETERS:
        group.add_argument(f"--{name}", type=float, metavar="X")
    train.add_argument(
        "--epochs", type=_positive, default=40, help="passes over the training set (40)"
    )
    train.add_argument("--batch-size", type=_positive, default=10, help="samples per step (10)")
    train.add_argument(
        "--layers", type=_layers, default=[784, 30, 10], help="layer sizes (784,30,10)"
    )
    train.add_argument(
        "--activation",
        default="sigmoid",
        choices=list(activations.ACTIVATIONS),
        help="hidden activation (sigmoid)",
    )
    train.add_argument(
        "--output",
        default="sigmoid",
        choices=list(losses.OUTPUTS),
        help="output layer and cost: sigmoid + binary cross-entropy (the report's) or softmax",
    )
    train.add_argument(
        "--seed", type=int, default=0, help="seed of initialization and shuffles (0)"
    )
    train.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    train.add_argument(
        "--data-dir",
        metavar="DIR",
        help="directory with the four IDX files (train-images-idx3-ubyte[.gz], ...) "
        "instead of the packaged MNIST",
    )
    train.add_argument("--save", metavar="FILE", help="write the trained model (.npz, or .json)")
    train.add_argument("--quiet", action="store_true", help="print only the final figures")
    train.set_defaults(run=_train)
    return parser


def _train(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from . import datasets, optimizers
    from ._files import check_writable
    from .backend import resolve
    from .model import MLP
    from .training import EpochRecord, fit

    # Everything that can be wrong with the input is checked before training starts.
    hyper = {k: getattr(args, k) for k in _HYPERPARAMETERS if getattr(args, k) is not None}
    optimizer = optimizers.get(args.optimizer, **hyper)
    if args.save:
        check_writable(args.save)
    backend = resolve(args.device)
    model = MLP(
        args.layers,
        args.activation,
        args.output,
        seed=args.seed,
        device=backend.device,
        xp=backend.xp,
        dtype=args.dtype,
    )
    if args.data_dir:
        train, test = datasets.load_idx_dir(
            args.data_dir, device=backend.device, xp=backend.xp, dtype=args.dtype
        )
    else:
        train, test = datasets.load_mnist(device=backend.device, xp=backend.xp, dtype=args.dtype)

    hyper_text = ", ".join(f"{k}={v:g}" for k, v in optimizer.hyperparameters.items())
    header = (
        f"{optimizer.name} ({hyper_text}) on {backend.name}, {args.dtype}: "
        f"{'-'.join(map(str, model.layers))} {model.activation.name}/{model.output.name}, "
        f"batch {args.batch_size}, {train.n} training and {test.n} test samples"
    )
    bar = tqdm(total=0, unit="step", leave=False, disable=args.quiet or None, file=sys.stderr)

    def progress(done: int, total: int) -> None:
        if bar.total == 0 and not args.quiet:  # fit has accepted every argument by now
            tqdm.write(header)
        bar.total = total
        bar.n = done
        bar.refresh()

    def report(record: EpochRecord) -> None:
        bar.reset()
        if not args.quiet:
            tqdm.write(
                f"epoch {record.epoch:3d}/{args.epochs}  "
                f"test accuracy {record.test_accuracy:7.2%}  "
                f"test loss {record.test_loss:.4f}  train loss {record.train_loss:.4f}  "
                f"{record.seconds:6.2f} s"
            )
            bar.set_description(f"epoch {record.epoch + 1}/{args.epochs}")

    bar.set_description(f"epoch 1/{args.epochs}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the status is printed below instead
        history = fit(
            model,
            optimizer,
            train,
            epochs=args.epochs,
            batch_size=args.batch_size,
            monitor=test,
            seed=args.seed,
            callback=report,
            progress=progress,
        )
    bar.close()
    if history.diverged:
        print(f"optimlab train: {history.status}", file=sys.stderr)
        if args.save:
            print(f"optimlab train: the model was not saved to {args.save}", file=sys.stderr)
        return 1
    last = history.epochs[-1]
    total = sum(history.seconds)
    print(
        f"{optimizer.name}: test accuracy {last.test_accuracy:.2%}, test loss "
        f"{last.test_loss:.4f} after {len(history.epochs)} epoch(s), {total:.1f} s of training"
    )
    if args.save:
        model.save(args.save)
        print(f"model saved to {args.save}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); return the exit code."""
    args = _parser().parse_args(argv)
    try:
        return args.run(args)
    except OptimlabError as error:
        print(f"optimlab {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"optimlab {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
