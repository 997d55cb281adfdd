"""Is the PyTorch backend with CUDA graphs worth it? A measurement, on a CUDA GPU.

CuPy cannot capture cuBLAS calls into a CUDA graph (cupy issue #6290), so a whole
step as one graph needs another route: PyTorch tensors run through optimlab's same
array-agnostic code (``--backend torch``), and PyTorch captures CUDA graphs
including cuBLAS. This times one training step of :class:`optimlab.Trainer`
three ways in one run: on CuPy (with the fused kernels), on PyTorch CUDA one
operation at a time (``graphs=False``), and on PyTorch CUDA replaying the captured
graph of the step (the default there).

    python bench/torch_graph.py [--optimizers sgd,momentum,adam] [--batch-sizes 10,1000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--optimizers", default="sgd,momentum,adam")
    parser.add_argument("--batch-sizes", default="10,1000")
    parser.add_argument("--steps", type=int, default=1000, help="steps per timed block")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    import numpy as np

    import optimlab

    order_host = np.random.default_rng(0).permutation(60_000)
    ways = {
        "cupy": ({"device": "cuda"}, None),
        "torch eager": ({"device": "cuda", "library": "torch"}, False),
        "torch graph": ({"device": "cuda", "library": "torch"}, True),
    }
    print(
        f"{'optimizer':<9} {'batch':>5} " + " ".join(f"{w:>12}" for w in ways) + "  (us per step)"
    )
    for batch in (int(b) for b in args.batch_sizes.split(",")):
        steps = min(args.steps, 60_000 // batch)
        for name in args.optimizers.split(","):
            times = []
            for resolve_args, graphs in ways.values():
                backend = optimlab.resolve(**resolve_args)
                train, _ = optimlab.load_mnist(device=backend.device, xp=backend.xp)
                model = optimlab.MLP(seed=0, device=backend.device, xp=backend.xp)
                trainer = optimlab.Trainer(model, name, train, batch_size=batch, graphs=graphs)
                order = backend.asarray(order_host[: steps * batch])
                trainer.run_batches(order)  # warm-up: kernels, allocator, graph capture
                samples = []
                for _ in range(args.repeats):
                    backend.synchronize()
                    start = time.perf_counter()
                    trainer.run_batches(order)
                    backend.synchronize()
                    samples.append((time.perf_counter() - start) / steps)
                times.append(statistics.median(samples))
            print(
                f"{name:<9} {batch:>5} " + " ".join(f"{t * 1e6:12.1f}" for t in times), flush=True
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
