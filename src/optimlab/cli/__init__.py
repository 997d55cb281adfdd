"""The ``optimlab`` command line: argument parsing and error reporting only.

Bad input (an unknown name, an impossible hyper-parameter, a corrupt file, a
device that is not there) is reported as one sentence on standard error with
exit code 2, before any long work starts and without a traceback.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from .. import __version__
from ..errors import ConfigError, OptimlabError
from ..experiment import Reporter

__all__ = ["main"]

_HYPERPARAMETERS = ("lr", "momentum", "decay", "beta1", "beta2", "eps")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _layers(text: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--layers takes comma-separated integers such as 784,30,10, not {text!r}"
        ) from None


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, not {text!r}")
    return value


def _numbers(text: str) -> list[float]:
    try:
        return [float(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated numbers such as 0.001,0.01, not {text!r}"
        ) from None


def _names(text: str) -> list[str]:
    return [part.strip().lower() for part in text.split(",") if part.strip()]


def _add_setting(parser: argparse.ArgumentParser, epochs_help: str = "(40)") -> None:
    """The options every training command shares; defaults are the report's setting."""
    from ..nn import activations, losses

    parser.add_argument(
        "--backend",
        choices=["numpy", "cupy", "torch"],
        help="array library (default: numpy on cpu, cupy on cuda; torch on cuda replays "
        "each training step as a captured CUDA graph)",
    )
    parser.add_argument("--device", default="cpu", help="cpu (NumPy) or cuda (CuPy); default cpu")
    parser.add_argument(
        "--epochs", type=_positive, default=40, help=f"passes over the training set {epochs_help}"
    )
    parser.add_argument("--batch-size", type=_positive, default=10, help="samples per step (10)")
    parser.add_argument(
        "--layers", type=_layers, default=[784, 30, 10], help="layer sizes (784,30,10)"
    )
    parser.add_argument(
        "--activation",
        default="sigmoid",
        choices=list(activations.ACTIVATIONS),
        help="hidden activation (sigmoid)",
    )
    parser.add_argument(
        "--output",
        default="sigmoid",
        choices=list(losses.OUTPUTS),
        help="output layer and cost: sigmoid + binary cross-entropy (the report's) or softmax",
    )
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        help="directory with the four IDX files (train-images-idx3-ubyte[.gz], "
        "...) instead of the packaged MNIST",
    )


def _add_hyperparameters(parser: argparse.ArgumentParser, title: str) -> None:
    group = parser.add_argument_group("hyper-parameters", title)
    for name in _HYPERPARAMETERS:
        group.add_argument(f"--{name}", type=float, metavar="X")


def _add_output(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run the passes on a Dask cluster: tcp://host:8786, or local:N for N worker "
        "processes here (pip install 'optimlab[distributed]')",
    )
    parser.add_argument(
        "--out",
        metavar="DIR",
        required=True,
        help="directory for results.json, results.csv, figures and models",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue the experiment in DIR from its last complete epoch",
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="replace an experiment already in DIR"
    )
    parser.add_argument(
        "--limit-train",
        type=_positive,
        metavar="N",
        help="train on the first N training samples only (quick looks, tests)",
    )
    parser.add_argument("--quiet", action="store_true", help="print only the final table")


def _parser() -> argparse.ArgumentParser:
    from .. import optimizers

    names = ", ".join(optimizers.OPTIMIZERS)
    parser = _Parser(
        prog="optimlab",
        description="Compare neural-network optimizers on MNIST, on NumPy (cpu) or CuPy (cuda).",
    )
    parser.add_argument("--version", action="version", version=f"optimlab {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    train = commands.add_parser(
        "train",
        help="train one network with one optimizer",
        description="Train one MLP with one optimizer and report test accuracy and loss per "
        "epoch. The defaults are the lab report's setting: 784-30-10 sigmoid network, batch 10, "
        "40 epochs.",
    )
    _add_setting(train)
    train.add_argument(
        "--optimizer", default="sgd", type=str.lower, help=f"one of {names}; default sgd"
    )
    _add_hyperparameters(train, "Unset ones take the report's values for the chosen optimizer.")
    train.add_argument(
        "--seed", type=int, default=0, help="seed of initialization and shuffles (0)"
    )
    train.add_argument("--save", metavar="FILE", help="write the trained model (.npz, or .json)")
    train.add_argument(
        "--checkpoint", metavar="FILE", help="save where training stands after every epoch (.npz)"
    )
    train.add_argument(
        "--resume",
        action="store_true",
        help="continue from --checkpoint FILE, bit for bit, up to --epochs",
    )
    train.add_argument(
        "--limit-train",
        type=_positive,
        metavar="N",
        help="train on the first N training samples only",
    )
    train.add_argument("--quiet", action="store_true", help="print only the final figures")
    train.set_defaults(run=_train)

    compare = commands.add_parser(
        "compare",
        help="the report's experiment: several optimizers side by side",
        description="Train every chosen optimizer (default: all seven with the report's "
        "hyper-parameters) for several seeds, and write results.json, results.csv, "
        "accuracy.png, loss.png and misclassified.png into DIR. The seeds of one optimizer "
        "train together as the members of one pass.",
    )
    _add_setting(compare)
    compare.add_argument(
        "--optimizers",
        type=_names,
        default=list(optimizers.OPTIMIZERS),
        help=f"comma-separated, from {names} (all)",
    )
    compare.add_argument(
        "--seeds", type=_positive, default=1, help="seeds per optimizer: 0, 1, ..., N-1 (1)"
    )
    compare.add_argument(
        "--one-pass",
        action="store_true",
        help="train every optimizer and seed as members of one pass (fastest on a GPU; the "
        "optimizers then share one wall time)",
    )
    compare.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME.PARAM=VALUE",
        help="override one hyper-parameter, e.g. adam.lr=0.001 (repeatable)",
    )
    _add_output(compare)
    compare.set_defaults(run=_compare)

    sweep = commands.add_parser(
        "sweep",
        help="one optimizer over a grid of learning rates and seeds",
        description="Train one optimizer for every learning rate and seed, all as members of "
        "one pass (in chunks of --max-members), and report the mean and spread per learning "
        "rate, the best one first. Writes what compare writes, plus sensitivity.png.",
    )
    _add_setting(sweep)
    sweep.add_argument("--optimizer", required=True, type=str.lower, help=f"one of {names}")
    sweep.add_argument(
        "--lr", type=_numbers, required=True, metavar="X,Y,...", help="learning rates to try"
    )
    _add_hyperparameters_except_lr(sweep)
    sweep.add_argument(
        "--seeds", type=_positive, default=5, help="seeds per learning rate: 0, ..., N-1 (5)"
    )
    sweep.add_argument(
        "--max-members", type=_positive, default=128, help="most runs trained in one pass (128)"
    )
    _add_output(sweep)
    sweep.set_defaults(run=_sweep)

    plot = commands.add_parser(
        "plot",
        help="draw the figures of a results.json again, without training",
        description="Draw accuracy.png and loss.png (and a sweep's sensitivity.png) from a "
        "results.json written by compare or sweep.",
    )
    plot.add_argument("results", metavar="RESULTS", help="a results.json")
    plot.add_argument("--out", metavar="DIR", help="where to draw (default: beside RESULTS)")
    plot.set_defaults(run=_plot)

    evaluate = commands.add_parser(
        "evaluate",
        help="score a saved model on the test set",
        description="Score a model saved by train --save or compare (the portable .npz "
        "format, or the report's JSON format) on the test set.",
    )
    evaluate.add_argument("model", metavar="MODEL", help="a .npz or .json model file")
    evaluate.add_argument("--device", default="cpu", help="cpu or cuda (cpu)")
    evaluate.add_argument("--backend", choices=["numpy", "cupy", "torch"], help="array library")
    evaluate.add_argument("--data-dir", metavar="DIR", help="IDX directory instead of MNIST")
    evaluate.set_defaults(run=_evaluate)
    return parser


def _add_hyperparameters_except_lr(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "hyper-parameters", "Fixed for every run; unset ones take the report's values."
    )
    for name in _HYPERPARAMETERS[1:]:
        group.add_argument(f"--{name}", type=float, metavar="X")


# -- commands ---------------------------------------------------------------------------


def _train(args: argparse.Namespace) -> int:
    from .. import optimizers
    from ..train import checkpoint
    from .._files import check_writable
    from ..backend import resolve
    from ..nn import MLP
    from ..train import EpochRecord, Trainer

    # Everything that can be wrong with the input is checked before training starts.
    hyper = {k: getattr(args, k) for k in _HYPERPARAMETERS if getattr(args, k) is not None}
    optimizer = optimizers.get(args.optimizer, **hyper)
    if args.save:
        check_writable(args.save)
    if args.resume and not args.checkpoint:
        raise ConfigError("--resume continues from a --checkpoint FILE: name it")
    if args.checkpoint:
        check_writable(args.checkpoint)
        if Path(args.checkpoint).exists() and not args.resume:
            raise ConfigError(
                f"checkpoint {args.checkpoint} exists: pass --resume to continue "
                "from it, or remove it"
            )
    backend = resolve(args.device, library=args.backend)
    model = MLP(
        args.layers,
        args.activation,
        args.output,
        seed=args.seed,
        device=backend.device,
        xp=backend.xp,
        dtype=args.dtype,
    )
    train, test = _data(args, backend)
    header = (
        f"{optimizer} on {backend.name}, "
        f"{args.dtype}: {'-'.join(map(str, model.layers))} "
        f"{model.activation.name}/{model.output.name}, batch {args.batch_size}, "
        f"{train.n} training and {test.n} test samples"
    )
    bar = _Bar(args.quiet, header)

    def report(record: EpochRecord) -> None:
        bar.line(
            f"epoch {record.epoch:3d}/{args.epochs}  "
            f"test accuracy {record.test_accuracy:7.2%}  test loss {record.test_loss:.4f}  "
            f"train loss {record.train_loss:.4f}  {record.seconds:6.2f} s"
        )
        bar.describe(f"epoch {record.epoch + 1}/{args.epochs}")

    trainer = Trainer(model, optimizer, train, batch_size=args.batch_size, seed=args.seed)
    # What a checkpoint must match to be continued.
    setting = {
        "optimizer": optimizer.name,
        "hyperparameters": optimizer.hyperparameters,
        **_setting_options(args),
        "seed": args.seed,
    }
    setting.pop("epochs")
    histories = None
    if args.resume:
        saved = checkpoint.load(args.checkpoint)
        if saved["info"].get("setting") != json.loads(json.dumps(setting)):
            raise ConfigError(
                f"checkpoint {args.checkpoint} was written by another setting: "
                "run the same command with --resume"
            )
        trainer.restore(saved["trainer"])
        histories = saved["histories"]
        if not args.quiet:
            for record in histories[0].epochs:
                print(
                    f"epoch {record.epoch:3d}/{args.epochs}  test accuracy "
                    f"{record.test_accuracy:7.2%}  test loss {record.test_loss:.4f}  "
                    f"(from {args.checkpoint})"
                )

    def save_checkpoint(histories: list[Any]) -> None:
        if args.checkpoint:
            checkpoint.save(args.checkpoint, trainer, histories, {"setting": setting})

    bar.describe(f"epoch {trainer.epoch + 1}/{args.epochs}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # the status is printed below
            history = trainer.run(
                args.epochs,
                monitor=test,
                progress=bar.progress,
                callback=lambda _, record: report(record),
                histories=histories,
                after_epoch=save_checkpoint,
            )[0]
    except KeyboardInterrupt:
        bar.close()
        where = (
            f"; the epochs completed are in {args.checkpoint}: run the same command "
            "with --resume to continue"
            if args.checkpoint
            else ""
        )
        print(f"optimlab train: interrupted{where}", file=sys.stderr)
        return 130
    bar.close()
    if history.diverged:
        print(f"optimlab train: {history.status}", file=sys.stderr)
        if args.save:
            print(f"optimlab train: the model was not saved to {args.save}", file=sys.stderr)
        return 1
    last = history.epochs[-1]
    print(
        f"{optimizer.name}: test accuracy {last.test_accuracy:.2%}, test loss "
        f"{last.test_loss:.4f} after {len(history.epochs)} epoch(s), "
        f"{sum(history.seconds):.1f} s of training"
    )
    if args.save:
        model.save(args.save)
        print(f"model saved to {args.save}")
    return 0


def _compare(args: argparse.Namespace) -> int:
    from .. import optimizers
    from ..experiment import compare_setting

    unknown = [n for n in args.optimizers if n not in optimizers.OPTIMIZERS]
    if unknown or not args.optimizers:
        raise ConfigError(
            f"unknown optimizer {unknown[0] if unknown else '(none)'!r}: "
            f"choose from {', '.join(optimizers.OPTIMIZERS)}"
        )
    overrides: dict[str, dict[str, float]] = {name: {} for name in args.optimizers}
    for item in args.set:
        name, param, value = _parse_set(item)
        if name not in optimizers.OPTIMIZERS:
            raise ConfigError(
                f"--set {item}: unknown optimizer {name!r}: choose from "
                f"{', '.join(optimizers.OPTIMIZERS)}"
            )
        if name not in overrides:
            raise ConfigError(
                f"--set {item}: {name} is not among the optimizers compared "
                f"({', '.join(args.optimizers)})"
            )
        overrides[name][param] = value
    hyper = {name: optimizers.get(name, **o).hyperparameters for name, o in overrides.items()}
    setting = compare_setting(
        hyper, list(range(args.seeds)), one_pass=args.one_pass, **_setting_options(args)
    )
    return _experiment(args, setting)


def _sweep(args: argparse.Namespace) -> int:
    from .. import optimizers
    from ..experiment import sweep_setting

    fixed = {k: getattr(args, k) for k in _HYPERPARAMETERS[1:] if getattr(args, k) is not None}
    for lr in args.lr:  # validate every combination before any training
        optimizers.get(args.optimizer, **fixed, lr=lr)
    hyper = optimizers.get(args.optimizer, **fixed).hyperparameters
    setting = sweep_setting(
        args.optimizer,
        hyper,
        args.lr,
        list(range(args.seeds)),
        max_members=args.max_members,
        **_setting_options(args),
    )
    return _experiment(args, setting)


def _experiment(args: argparse.Namespace, setting: Any) -> int:
    from ..backend import resolve
    from ..experiment import run_experiment, summarize

    # a missing GPU or library is reported before the directory is touched
    resolve(setting.device, library=setting.library)
    reporter = _ExperimentReporter(args.quiet, setting)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # statuses are in the table
            results = run_experiment(
                setting,
                args.out,
                resume=args.resume,
                overwrite=args.overwrite,
                reporter=reporter,
                scheduler=args.scheduler,
            )
    except KeyboardInterrupt:
        reporter.close()
        print(
            f"optimlab {args.command}: interrupted; the epochs completed are saved in "
            f"{args.out}: run the same command with --resume to continue",
            file=sys.stderr,
        )
        return 130
    reporter.close()
    _print_table(summarize(results), results)
    print(f"results, figures and models in {args.out}")
    failed = [i for i, p in enumerate(results["passes"]) if not p["complete"]]
    if failed:
        print(
            f"optimlab {args.command}: {len(failed)} pass(es) failed (see above and "
            f"results.json); run the same command with --resume to run them again",
            file=sys.stderr,
        )
        return 1
    return 0


def _plot(args: argparse.Namespace) -> int:
    from ..experiment import load_results
    from ..plotting import plot_results

    results = load_results(args.results)
    out = Path(args.out) if args.out else Path(args.results).parent
    if not out.is_dir():
        raise ConfigError(f"cannot draw into {out}: it is not a directory")
    for path in plot_results(results, out):
        print(f"drew {path}")
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from ..backend import resolve
    from ..nn import MLP
    from ..train import evaluate

    backend = resolve(args.device, library=args.backend)
    model = MLP.load(args.model, device=backend.device, xp=backend.xp)
    args.dtype = model.dtype_name
    args.limit_train = None
    _, test = _data(args, backend)
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


# -- helpers ----------------------------------------------------------------------------


def _data(args: argparse.Namespace, backend: Any) -> tuple[Any, Any]:
    from .. import datasets

    if args.data_dir:
        train, test = datasets.load_idx_dir(
            args.data_dir, device=backend.device, xp=backend.xp, dtype=args.dtype
        )
    else:
        train, test = datasets.load_mnist(device=backend.device, xp=backend.xp, dtype=args.dtype)
    if args.limit_train:
        train = train.head(args.limit_train)
    return train, test


def _setting_options(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "layers": args.layers,
        "activation": args.activation,
        "output": args.output,
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "dtype": args.dtype,
        "device": args.device,
        "library": args.backend,
        "limit_train": args.limit_train,
        "data": str(Path(args.data_dir).resolve()) if args.data_dir else None,
    }


def _parse_set(item: str) -> tuple[str, str, float]:
    key, equals, value = item.partition("=")
    name, dot, param = key.partition(".")
    if not equals or not dot or not name or not param:
        raise ConfigError(f"--set takes NAME.PARAM=VALUE such as adam.lr=0.001, not {item!r}")
    try:
        number = float(value)
    except ValueError:
        raise ConfigError(f"--set {item}: {value!r} is not a number") from None
    return name.strip().lower(), param.strip(), number


class _Bar:
    """A progress bar for the steps of an epoch, and lines printed above it."""

    def __init__(self, quiet: bool, header: str | None = None) -> None:
        from tqdm import tqdm

        self._tqdm = tqdm
        self.quiet, self.header = quiet, header
        self.bar = tqdm(total=0, unit="step", leave=False, disable=quiet or None, file=sys.stderr)

    def progress(self, done: int, total: int) -> None:
        if self.header is not None:  # training has accepted every argument by now
            self.line(self.header)
            self.header = None
        self.bar.total = total
        self.bar.n = done
        self.bar.refresh()

    def describe(self, text: str) -> None:
        self.bar.set_description(text)

    def line(self, text: str) -> None:
        self.bar.reset()
        if not self.quiet:
            self._tqdm.write(text)

    def close(self) -> None:
        self.bar.close()


class _ExperimentReporter(Reporter):
    """Live progress of compare and sweep: which pass, epoch and accuracy."""

    def __init__(self, quiet: bool, setting: Any) -> None:
        self.quiet, self.setting = quiet, setting
        self.bar = _Bar(quiet)

    def progress(self, done: int, total: int) -> None:
        self.bar.progress(done, total)

    def pass_started(self, index: int, runs: list[Any], resumed_at: int) -> None:
        seeds = sorted({r.seed for r in runs})
        labels = sorted({r.label for r in runs}, key=[r.label for r in runs].index)
        what = labels[0] if len(labels) == 1 else f"{len(labels)} settings"
        resumed = f", resuming after epoch {resumed_at}" if resumed_at else ""
        self.bar.line(
            f"pass {index + 1}/{len(self.setting.passes)}: {what}, seeds "
            f"{_span(seeds)} ({len(runs)} members){resumed}"
        )
        self.bar.describe(f"pass {index + 1} epoch {resumed_at + 1}/{self.setting.epochs}")

    def epoch_done(self, index: int, epoch: int, records: list[tuple[Any, Any]]) -> None:
        by_label: dict[str, list[Any]] = {}
        short = {run.label: _short(run) for run, _ in records}
        for run, record in records:
            by_label.setdefault(run.label, []).append(record)
        for label, rs in by_label.items():
            accuracy = [r.test_accuracy for r in rs]
            loss = [r.test_loss for r in rs]
            self.bar.line(
                f"  {short[label]:<24} epoch {epoch:3d}/{self.setting.epochs}  "
                f"test accuracy {_mean_std(accuracy, 100, '.2f')}%  "
                f"test loss {_mean_std(loss, 1, '.4f')}  {rs[0].seconds:6.2f} s"
            )
        self.bar.describe(f"pass {index + 1} epoch {epoch + 1}/{self.setting.epochs}")

    def pass_done(self, index: int, seconds: float) -> None:
        self.bar.line(f"pass {index + 1}/{len(self.setting.passes)} done in {seconds:.1f} s")

    def pass_failed(self, index: int, runs: list[Any], error: BaseException) -> None:
        labels = ", ".join(dict.fromkeys(_short(r) for r in runs))
        print(
            f"pass {index + 1} ({labels}; seeds {_span(sorted({r.seed for r in runs}))}) "
            f"failed: {type(error).__name__}: {error}",
            file=sys.stderr,
        )

    def close(self) -> None:
        self.bar.close()


def _short(run: Any) -> str:
    """The optimizer and the hyper-parameters that differ from the report's values."""
    from .. import optimizers

    defaults = optimizers.get(run.optimizer).hyperparameters
    changed = [f"{k}={v:g}" for k, v in run.hyperparameters.items() if defaults.get(k) != v]
    return " ".join([run.optimizer, *changed])


def _span(seeds: list[int]) -> str:
    if len(seeds) > 2 and seeds == list(range(seeds[0], seeds[-1] + 1)):
        return f"{seeds[0]}-{seeds[-1]}"
    return ",".join(map(str, seeds))


def _mean_std(values: list[float], scale: float, fmt: str) -> str:
    finite = [scale * v for v in values if math.isfinite(v)]
    if not finite:
        return "nan"
    mean = sum(finite) / len(finite)
    if len(finite) == 1:
        return format(mean, fmt)
    std = (sum((v - mean) ** 2 for v in finite) / len(finite)) ** 0.5
    return f"{format(mean, fmt)} ± {format(std, fmt)}"


def _print_table(rows: list[dict[str, Any]], results: dict[str, Any]) -> None:
    seeds = max(row["seeds"] for row in rows)
    print(
        f"\n{results['kind']}: {len(rows)} setting(s) x {seeds} seed(s), "
        f"{results['setting']['epochs']} epochs, {results['environment']['device_name']}"
    )
    head = (
        f"{'optimizer (hyper-parameters)':<52} {'test accuracy':>17} {'test loss':>17} "
        f"{'best (epoch)':>13} {'95% at':>6} {'seconds':>8}"
    )
    print(head)
    print("-" * len(head))
    for row in rows:
        spread = seeds > 1
        acc = (
            f"{100 * row['accuracy_mean']:.2f}"
            + (f" ± {100 * row['accuracy_std']:.2f}" if spread else "")
            + "%"
        )
        loss = f"{row['loss_mean']:.4f}" + (f" ± {row['loss_std']:.4f}" if spread else "")
        best = f"{100 * row['best_accuracy']:.2f}% ({row['best_epoch']})"
        target = str(row["epoch_to_target"]) if row["epoch_to_target"] else "—"
        note = f"  {row['diverged']} diverged" if row["diverged"] else ""
        print(
            f"{row['label'][:52]:<52} {acc:>17} {loss:>17} {best:>13} {target:>6} "
            f"{row['seconds']:8.1f}{note}"
        )
    if results["kind"] == "sweep":
        for name in dict.fromkeys(row["optimizer"] for row in rows):
            best = next(row for row in rows if row["optimizer"] == name)
            print(
                f"best learning rate for {name}: {best['hyperparameters']['lr']:g} "
                f"({100 * best['accuracy_mean']:.2f}% final test accuracy)"
            )
    if any(row["shared_pass"] for row in rows):
        print("seconds: the wall time of the pass that trained the setting together with others")


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
