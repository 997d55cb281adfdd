"""What the command line shows: a progress bar, progress lines and the final table."""

from __future__ import annotations

import math
import sys

from .. import optimizers
from ..experiment import Reporter, Results, Setting, Summary, Trial
from ..experiment.summary import has_accuracy
from ..train import EpochRecord

__all__ = ["Bar", "ExperimentDisplay", "print_table"]


class Bar:
    """A progress bar for the steps of an epoch, and lines printed above it.

    ``header`` is printed at the first step, once training has accepted every
    argument; ``steps=False`` shows the lines only (no step counts arrive).
    """

    def __init__(self, quiet: bool, header: str | None = None, *, steps: bool = True) -> None:
        from tqdm import tqdm

        self._tqdm = tqdm
        self.quiet, self.header = quiet, header
        disable = True if quiet or not steps else None  # None: shown on a terminal only
        self.bar = tqdm(total=0, unit="step", leave=False, disable=disable, file=sys.stderr)

    def progress(self, done: int, total: int) -> None:
        """``done`` of ``total`` steps of the epoch."""
        if self.header is not None:
            self.line(self.header)
            self.header = None
        self.bar.total = total
        self.bar.n = done
        self.bar.refresh()

    def describe(self, text: str) -> None:
        """The text left of the bar."""
        self.bar.set_description(text)

    def line(self, text: str) -> None:
        """A line above the bar (none when quiet)."""
        self.bar.reset()
        if not self.quiet:
            self._tqdm.write(text)

    def close(self) -> None:
        self.bar.close()


class ExperimentDisplay(Reporter):
    """Live progress of compare and sweep: which pass, epoch and accuracy.

    With ``parallel`` passes (worker processes, Dask) their lines interleave, so each
    epoch line names its pass and no step bar is drawn.
    """

    def __init__(self, quiet: bool, setting: Setting, *, parallel: bool = False) -> None:
        self.quiet, self.setting, self.parallel = quiet, setting, parallel
        self.bar = Bar(quiet, steps=not parallel)

    def progress(self, done: int, total: int) -> None:
        self.bar.progress(done, total)

    def pass_started(self, index: int, trials: list[Trial], resumed_at: int) -> None:
        seeds = sorted({t.seed for t in trials})
        labels = list(dict.fromkeys(t.label for t in trials))
        what = labels[0] if len(labels) == 1 else f"{len(labels)} settings"
        resumed = f", resuming after epoch {resumed_at}" if resumed_at else ""
        self.bar.line(
            f"pass {index + 1}/{len(self.setting.passes)}: {what}, seeds "
            f"{span(seeds)} ({len(trials)} members){resumed}"
        )
        self.bar.describe(f"pass {index + 1} epoch {resumed_at + 1}/{self.setting.epochs}")

    def epoch_done(self, index: int, epoch: int, records: list[tuple[Trial, EpochRecord]]) -> None:
        by_label: dict[str, list[EpochRecord]] = {}
        names = {trial.label: short(trial) for trial, _ in records}
        for trial, record in records:
            by_label.setdefault(trial.label, []).append(record)
        where = f"pass {index + 1:>2} " if self.parallel else ""
        accuracy = has_accuracy(self.setting)
        for label, rs in by_label.items():
            shown = (
                f"test accuracy {mean_std([r.test_accuracy for r in rs], 100, '.2f')}%  "
                if accuracy
                else ""
            )
            loss = [r.test_loss for r in rs]
            self.bar.line(
                f"  {where}{names[label]:<24} epoch {epoch:3d}/{self.setting.epochs}  "
                f"{shown}test loss {mean_std(loss, 1, '.4f')}  {rs[0].seconds:6.2f} s"
            )
        self.bar.describe(f"pass {index + 1} epoch {epoch + 1}/{self.setting.epochs}")

    def pass_done(self, index: int, seconds: float) -> None:
        self.bar.line(f"pass {index + 1}/{len(self.setting.passes)} done in {seconds:.1f} s")

    def pass_failed(self, index: int, trials: list[Trial], error: BaseException) -> None:
        labels = ", ".join(dict.fromkeys(short(t) for t in trials))
        print(
            f"pass {index + 1} ({labels}; seeds {span(sorted({t.seed for t in trials}))}) "
            f"failed: {type(error).__name__}: {error}",
            file=sys.stderr,
        )

    def close(self) -> None:
        self.bar.close()


def short(trial: Trial) -> str:
    """The optimizer and the hyper-parameters that differ from the report's values."""
    defaults = optimizers.defaults(trial.optimizer)
    changed = [f"{k}={v:g}" for k, v in trial.hyperparameters.items() if defaults.get(k) != v]
    return " ".join([trial.optimizer, *changed])


def span(seeds: list[int]) -> str:
    """``0-4`` for consecutive seeds, else ``0,3,7``."""
    if len(seeds) > 2 and seeds == list(range(seeds[0], seeds[-1] + 1)):
        return f"{seeds[0]}-{seeds[-1]}"
    return ",".join(map(str, seeds))


def mean_std(values: list[float], scale: float, fmt: str) -> str:
    """``"95.12 ± 0.20"`` over the finite values (``"nan"`` if none is)."""
    finite = [scale * v for v in values if math.isfinite(v)]
    if not finite:
        return "nan"
    mean = sum(finite) / len(finite)
    if len(finite) == 1:
        return format(mean, fmt)
    std = (sum((v - mean) ** 2 for v in finite) / len(finite)) ** 0.5
    return f"{format(mean, fmt)} ± {format(std, fmt)}"


def print_table(rows: list[Summary], results: Results) -> None:
    """The final table of compare and sweep, and a sweep's best learning rates; for a
    loss-only problem (:func:`~optimlab.experiment.summary.has_accuracy`) without the
    accuracy columns: the best is the lowest mean test loss."""
    accuracy = has_accuracy(results)
    seeds = max(row.seeds for row in rows)
    print(
        f"\n{results.kind}: {len(rows)} setting(s) x {seeds} seed(s), "
        f"{results.setting.epochs} epochs, {results.environment.device_name}"
    )
    width = max(len("optimizer (hyper-parameters)"), *(len(row.label) for row in rows))
    first = f"{'optimizer (hyper-parameters)':<{width}} "
    if accuracy:
        head = (
            f"{first}{'test accuracy':>17} {'test loss':>17} "
            f"{'best (epoch)':>13} {'95% at':>6} {'seconds':>8}"
        )
    else:
        head = f"{first}{'test loss':>21} {'best loss (epoch)':>22} {'seconds':>8}"
    print(head)
    print("-" * len(head))
    for row in rows:
        cells = _cells(row, seeds > 1, accuracy)
        if not row.epochs:  # its pass failed before an epoch was complete: no figures
            cells = f"{'no epoch complete: its pass failed':>{len(cells)}}"
        print(f"{row.label:<{width}} {cells} {row.seconds:8.1f}{_note(row)}")
    if results.kind == "sweep":
        for name in dict.fromkeys(row.optimizer for row in rows):
            best_row = next(row for row in rows if row.optimizer == name)
            if not best_row.epochs:
                print(f"best learning rate for {name}: none, no rate has a complete epoch")
                continue
            if best_row.diverged:
                print(f"best learning rate for {name}: none, every rate diverged")
                continue
            final = (
                f"{100 * best_row.accuracy_mean:.2f}% final test accuracy"
                if accuracy
                else f"{best_row.loss_mean:.4g} final test loss, the lowest"
            )
            print(f"best learning rate for {name}: {best_row.hyperparameters['lr']:g} ({final})")
    if any(row.shared_pass for row in rows):
        print("seconds: the wall time of the pass that trained the setting together with others")


def _cells(row: Summary, spread: bool, accuracy: bool) -> str:
    """A row's figures between its label and its seconds."""
    loss = f"{row.loss_mean:.4f}" + (f" ± {row.loss_std:.4f}" if spread else "")
    if not accuracy:  # a function's loss may explode: 1.763e+32, not 33 digits
        fmt = ".4f" if abs(row.loss_mean) < 1e6 else ".4g"
        loss = format(row.loss_mean, fmt) + (f" ± {format(row.loss_std, fmt)}" if spread else "")
        best = f"{row.best_loss:.4g} ({row.best_epoch})"
        return f"{loss:>21} {best:>22}"
    acc = f"{100 * row.accuracy_mean:.2f}" + (f" ± {100 * row.accuracy_std:.2f}" if spread else "")
    best = f"{100 * row.best_accuracy:.2f}% ({row.best_epoch})"
    target = str(row.epoch_to_target) if row.epoch_to_target else "—"
    return f"{acc + '%':>17} {loss:>17} {best:>13} {target:>6}"


def _note(row: Summary) -> str:
    if not row.diverged:
        return ""
    some = f"{row.diverged} of {row.seeds} " if row.seeds > 1 else ""
    return f"  {some}diverged at epoch {row.diverged_at}"
