"""What K members trained in one pass cost, against the same K runs one by one.

For each K the members cycle through the seven optimizers with the report's
hyper-parameters (so K = 7 is one of each, K = 35 the compare experiment with
5 seeds). A step of K members runs the same code as ``compare``: one gather of
all batches, one forward and backward pass with a member axis, one update per
group of members with the same optimizer. "One by one" is the sum of the
single-network step times of the same K optimizers, measured in the same run.

    python bench/bench_members.py                      # CPU, K = 1, 7, 35, 128
    python bench/bench_members.py --devices cuda --json members-cuda.json
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import sys
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", default="cpu")
    parser.add_argument("--members", default="1,7,35,128")
    parser.add_argument("--batch-size", type=int, default=10)
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--seconds", type=float, default=0.05, help="length of a timed block")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args(argv)
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)
    import numpy as np

    import optimlab

    names = list(optimlab.optimizers.OPTIMIZERS)
    rows = []
    for device in args.devices.split(","):
        backend = optimlab.resolve(device)
        train, _ = optimlab.load_mnist(device=backend.device, xp=backend.xp, dtype=args.dtype)
        most = max(int(v) for v in args.members.split(","))
        orders = np.stack([np.random.default_rng(i).permutation(train.n) for i in range(most)])

        single = {}
        for name in names:
            model = optimlab.MLP(seed=0, device=backend.device, xp=backend.xp, dtype=args.dtype)
            single[name] = _step_time(optimlab, backend, train, orders, model, name, 0, args)
        for k in (int(v) for v in args.members.split(",")):
            # Members sorted by optimizer, as compare lays them out: 7 groups at most.
            chosen = sorted((names[i % len(names)] for i in range(k)), key=names.index)
            model = optimlab.MLP(
                seed=list(range(k)), device=backend.device, xp=backend.xp, dtype=args.dtype
            )
            together = _step_time(optimlab, backend, train, orders, model, chosen, k, args)
            one_by_one = sum(single[name] for name in chosen)
            rows.append(
                {
                    "device": device,
                    "members": k,
                    "step_s": together,
                    "member_step_s": together / k,
                    "one_by_one_s": one_by_one,
                    "speedup": one_by_one / together,
                }
            )
            r = rows[-1]
            print(
                f"{device:<5} K={k:<4} step {r['step_s'] * 1e3:8.3f} ms  per member-step "
                f"{r['member_step_s'] * 1e6:8.1f} us  one by one {r['one_by_one_s'] * 1e3:8.3f}"
                f" ms  speed-up {r['speedup']:5.2f}x",
                flush=True,
            )
    if args.json:
        import platform

        report = {
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "command": " ".join(["bench_members.py", *(argv or sys.argv[1:])]),
            "machine": {"platform": platform.platform(), "cores": os.cpu_count()},
            "threads": args.threads,
            "batch_size": args.batch_size,
            "dtype": args.dtype,
            "single_step_s": single,
            "results": rows,
        }
        Path(args.json).write_text(json.dumps(report, indent=1) + "\n")
    return 0


def _block_time(backend, trainer, orders, k: int, steps: int, batch_size: int) -> float:
    order = orders[:k] if k else orders[0]  # each member its own shuffle
    chunk = backend.asarray(order[..., : steps * batch_size])
    backend.synchronize()
    start = time.perf_counter()
    trainer.run_batches(chunk)
    backend.synchronize()
    return (time.perf_counter() - start) / steps


def _step_time(optimlab, backend, train, orders, model, chosen, k, args) -> float:
    """Median seconds of one step of ``model`` (K = ``k`` members, 0: a single network)."""
    trainer = optimlab.Trainer(model, chosen, train, batch_size=args.batch_size)
    first = _block_time(backend, trainer, orders, k, 3, args.batch_size)
    steps = max(3, min(train.n // args.batch_size, int(args.seconds / first)))
    _block_time(backend, trainer, orders, k, steps, args.batch_size)  # warm-up
    times = [
        _block_time(backend, trainer, orders, k, steps, args.batch_size)
        for _ in range(args.repeats)
    ]
    return statistics.median(times)


if __name__ == "__main__":
    sys.exit(main())
