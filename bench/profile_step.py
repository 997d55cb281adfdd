"""Where the time of one batch-10 training step goes, part by part (CPU, NumPy).

Runs the same calls as :meth:`optimlab.Trainer.run_batches`, with a clock read
between the parts of the step: gathering the batch, the gradient (forward pass,
output error and backward pass into the gradient buffer) and the update. The
forward pass is run once more on its own to split the gradient's time. The clock
reads add a little to every part.

    python bench/profile_step.py [--optimizer adam] [--dtype float64] [--steps 6000]
"""

from __future__ import annotations

import argparse
import os
import sys
import time


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--optimizer", default="sgd")
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--batch-size", type=int, default=10)
    parser.add_argument("--steps", type=int, default=6000)
    args = parser.parse_args(argv)
    os.environ["OPENBLAS_NUM_THREADS"] = "1"  # as in the bench
    import numpy as np

    import optimlab

    train, _ = optimlab.load_mnist(dtype=args.dtype)
    model = optimlab.MLP(seed=0, dtype=args.dtype)
    trainer = optimlab.Trainer(model, args.optimizer, train, batch_size=args.batch_size)
    xp, size = model.xp, args.batch_size
    x_all, y_all = train.images, trainer.targets
    order = np.random.default_rng(0).permutation(train.n)
    params = model.params
    views = model.views(params)
    grad = xp.zeros_like(params)
    out = model.views(grad)
    optimizer, state = trainer.optimizer, trainer.state
    parts = dict.fromkeys(["gather", "forward", "error + backward", "update"], 0)
    clock = time.perf_counter_ns
    steps = min(args.steps, train.n // size)
    for step in range(steps):
        t0 = clock()
        batch = order[step * size : (step + 1) * size]
        x, y = xp.take(x_all, batch, axis=0), xp.take(y_all, batch, axis=0)
        t1 = clock()
        model.passes.backward(views, x, y, out=out)  # what the Trainer runs: forward, backward
        t2 = clock()
        (params,), state = optimizer.step([params], [grad], state, xp=xp, inplace=True)
        t3 = clock()
        model.passes.forward(views, x)  # the forward pass alone, to split the gradient's time
        t4 = clock()
        parts["gather"] += t1 - t0
        parts["forward"] += t4 - t3
        parts["error + backward"] += (t2 - t1) - (t4 - t3)
        parts["update"] += t3 - t2
    total = sum(parts.values())
    print(f"{args.optimizer}, {args.dtype}, batch {size}: mean over {steps} steps")
    for part, ns in parts.items():
        print(f"  {part:<17} {ns / steps / 1e3:7.2f} us  {ns / total:6.1%}")
    print(f"  {'total':<17} {total / steps / 1e3:7.2f} us")
    return 0


if __name__ == "__main__":
    sys.exit(main())
