"""Seconds per epoch over a whole run: do epochs stay as fast as the first?

An accumulator whose gradient is 0 at every step decays into the subnormal range and,
under IEEE round-to-nearest, stays there; on many CPUs every operation on it then
takes a slow path (see :mod:`optimlab.optimizers.subnormals`). This bench trains the
report's network on MNIST (batch 10) for ``--epochs`` epochs per optimizer and dtype
and times every epoch of each variant side by side, epoch by epoch, in one process:

* ``optimlab:ieee`` — ``flush_subnormals=False``: strict IEEE arithmetic;
* ``optimlab:flush`` — the default: accumulators' subnormal entries set to 0 every
  64 steps;
* with ``--peers``: ``numpy-loop:ieee`` / ``numpy-loop:flush`` (the hand-written loop
  of ``bench/numpy_loop.py``, its accumulators flushed the same way) and
  ``torch:ieee`` / ``torch:ftz`` (PyTorch eager with ``torch.set_flush_denormal(True)``,
  the processor's flush-to-zero mode, for its epochs only).

After each epoch (untimed) it counts the subnormal accumulator entries. Each row
prints the first epoch's seconds, the median of the others, the largest ratio of a
later epoch to the first, and the subnormal count at the end; for optimlab, whether
the two variants' parameters are equal bit for bit.

    python bench/bench_epochs.py --optimizers all --dtypes float32,float64 --json e.json
    python bench/bench_epochs.py --optimizers adam,momentum --epochs 10 --peers
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--optimizers",
        default="adam",
        help="comma-separated, or 'all': every registered optimizer in the default benchmark",
    )
    parser.add_argument("--dtypes", default="float32", help="float32 and/or float64")
    parser.add_argument("--epochs", type=int, default=40, help="epochs per variant (40)")
    parser.add_argument("--peers", action="store_true", help="also the NumPy loop and torch")
    parser.add_argument("--json", metavar="FILE", help="write every epoch's seconds as JSON")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"
    sys.path.insert(0, str(Path(__file__).parent))
    import numpy as np

    import optimlab
    from optimlab import optimizers
    from optimlab.optimizers.subnormals import subnormal_count

    names = args.optimizers.split(",")
    if args.optimizers == "all":  # SOAP's epoch is 11 minutes here (default_benchmark=False)
        names = [n for n, cls in optimizers.OPTIMIZERS.items() if cls.default_benchmark]
    train64, _ = optimlab.load_mnist(dtype="float64")
    rows = []
    for dtype in args.dtypes.split(","):
        train, _ = optimlab.load_mnist(dtype=dtype)
        for name in names:
            variants = {
                f"optimlab:{mode}": _OptimlabRun(optimlab, train, name, dtype, mode == "flush")
                for mode in ("ieee", "flush")
            }
            if args.peers:
                variants.update(_peers(np, optimlab, train64, name, dtype))
            seconds = {k: [] for k in variants}
            counts = {}
            for _ in range(args.epochs):
                for label, run in variants.items():
                    seconds[label].append(run.epoch())
            for label, run in variants.items():
                counts[label] = subnormal_count(np, run.accumulators())
            same = bool(
                np.array_equal(
                    np.asarray(variants["optimlab:ieee"].params()),
                    np.asarray(variants["optimlab:flush"].params()),
                )
            )
            for label in variants:
                row = _row(name, dtype, label, seconds[label], counts[label])
                if label.startswith("optimlab"):
                    row["params_equal"] = same
                rows.append(row)
                _print(row)
            if args.json:  # after every optimizer: a long run stopped early keeps its rows
                Path(args.json).write_text(json.dumps({"machine": _machine(), "rows": rows}))
    return 0


class _OptimlabRun:
    def __init__(self, optimlab, train, name, dtype, flush):
        model = optimlab.MLP((784, 30, 10), dtype=dtype, seed=0)
        opt = optimlab.optimizers.get(name, flush_subnormals=flush)
        self.trainer = optimlab.Trainer(model, opt, train, batch_size=10, seed=0)

    def epoch(self) -> float:
        return self.trainer.run_epoch()

    def accumulators(self) -> list:
        return [a for g in self.trainer.groups for v in g.state.slots.values() for a in v]

    def params(self):
        return self.trainer.model.params


class _LoopRun:
    """The NumPy loop over the same shuffles, its accumulators flushed like optimlab's."""

    def __init__(self, np, optimlab, train, name, dtype, flush):
        from numpy_loop import NumpyLoop

        from optimlab.optimizers import subnormals

        self.np, self.flush, self.subnormals = np, flush, subnormals
        params = optimlab.MLP((784, 30, 10), dtype=dtype, seed=0).params
        hyper = optimlab.optimizers.get(name).hyperparameters
        self.loop = NumpyLoop(np.asarray(params), (784, 30, 10), 10, name, hyper)
        self.x = np.asarray(train.images, dtype=dtype)
        self.y = np.eye(10, dtype=dtype)[np.asarray(train.labels)]
        self.rng = np.random.default_rng(0)

    def epoch(self) -> float:
        np, loop = self.np, self.loop
        start = time.perf_counter()
        order = self.rng.permutation(len(self.x))
        for s in range(0, len(order), 10):
            loop.step(self.x, self.y, order[s : s + 10])
            if self.flush and loop.t % self.subnormals.FLUSH_EVERY == 0:  # optimlab's flush
                self.subnormals.flush(np, {"slots": loop.slots})
        return time.perf_counter() - start

    def accumulators(self) -> list:
        return list(self.loop.slots)


class _TorchRun:
    """PyTorch eager over the same shuffles; ``ftz``: the processor's flush-to-zero mode."""

    def __init__(self, torch, optimlab, train, name, dtype, ftz):
        from bench_optimizers import PEERS, _torch_peer

        self.torch, self.ftz = torch, ftz
        torch.set_num_threads(1)
        tdtype = getattr(torch, dtype)
        params = optimlab.MLP((784, 30, 10), dtype="float64", seed=0).params
        cuts = [0, 30 * 784, 30 * 785, 30 * 785 + 300, 30 * 785 + 310]
        shapes = [(30, 784), (30,), (10, 30), (10,)]
        self.p = [
            torch.tensor(params[a:b].reshape(s), dtype=tdtype).requires_grad_()
            for a, b, s in zip(cuts, cuts[1:], shapes)
        ]
        if name not in PEERS:
            raise LookupError(f"no PyTorch peer for {name}")
        hyper = optimlab.optimizers.get(name).hyperparameters
        self.opts, _, _ = _torch_peer(torch, name, self.p, hyper)
        self.x = torch.tensor(train.images, dtype=tdtype)
        self.y = torch.nn.functional.one_hot(torch.tensor(train.labels).long(), 10).to(tdtype)
        self.rng = __import__("numpy").random.default_rng(0)

    def epoch(self) -> float:
        torch = self.torch
        torch.set_flush_denormal(self.ftz)  # this thread's MXCSR (FTZ and DAZ)
        start = time.perf_counter()
        order = torch.as_tensor(self.rng.permutation(len(self.x)))
        w1, b1, w2, b2 = self.p
        for s in range(0, len(order), 10):
            idx = order[s : s + 10]
            x, y = self.x[idx], self.y[idx]
            z = torch.sigmoid(x @ w1.T + b1) @ w2.T + b2
            loss = torch.nn.functional.binary_cross_entropy_with_logits(
                z, y, reduction="sum"
            ) / len(idx)
            for o in self.opts:
                o.zero_grad(set_to_none=False)
            loss.backward()
            for o in self.opts:
                o.step()
        seconds = time.perf_counter() - start
        torch.set_flush_denormal(False)
        return seconds

    def accumulators(self) -> list:
        import numpy as np

        return [
            np.asarray(v.detach().numpy())
            for o in self.opts
            for s in o.state.values()
            for v in s.values()
            if hasattr(v, "dim") and v.dim() > 0
        ]


def _peers(np, optimlab, train, name, dtype) -> dict:
    from numpy_loop import RULES

    peers = {}
    if name in RULES:
        for mode in ("ieee", "flush"):
            peers[f"numpy-loop:{mode}"] = _LoopRun(np, optimlab, train, name, dtype, mode == "flush")
    try:
        import torch

        for mode in ("ieee", "ftz"):
            peers[f"torch:{mode}"] = _TorchRun(torch, optimlab, train, name, dtype, mode == "ftz")
    except Exception as error:  # no peer known, or its package missing (_NoPeer)
        print(f"{name}: torch peer skipped: {error}", file=sys.stderr)

    return peers


def _row(name, dtype, label, seconds, count) -> dict:
    first, later = seconds[0], seconds[1:] or seconds
    return {
        "optimizer": name,
        "dtype": dtype,
        "variant": label,
        "seconds": [round(s, 4) for s in seconds],
        "first": round(first, 4),
        "median_later": round(statistics.median(later), 4),
        "max_ratio": round(max(later) / first, 3),
        "subnormal_entries": count,
    }


def _print(row: dict) -> None:
    print(
        f"{row['optimizer']:<10} {row['dtype']:<8} {row['variant']:<17} "
        f"epoch 1 {row['first']:6.3f} s  median 2+ {row['median_later']:6.3f} s  "
        f"max later/first {row['max_ratio']:5.2f}  subnormal {row['subnormal_entries']:6d}"
        + (f"  params equal {row['params_equal']}" if "params_equal" in row else ""),
        flush=True,
    )


def _machine() -> dict:
    return {
        "processor": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE"),
        "date": time.strftime("%Y-%m-%d"),
    }


if __name__ == "__main__":
    raise SystemExit(main())
