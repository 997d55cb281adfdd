"""Would a PyTorch backend with CUDA graphs pay? A measurement, on a CUDA GPU.

CuPy cannot capture cuBLAS calls into a CUDA graph (cupy issue #6290), so a whole
step as one graph needs another route: PyTorch tensors run through optimlab's same
array-agnostic code (``xp = array_api_compat.torch``), and PyTorch can capture
CUDA graphs including cuBLAS. This times one batch-10 step of optimlab three ways,
in one run: on CuPy (with the fused kernels), on PyTorch CUDA eager, and on PyTorch
CUDA replaying a captured graph of the step (a new batch index copied into the
graph's static input before each replay).

The captured step freezes Python scalars, so it is exact only for rules without a
step count (SGD, Momentum, Nesterov, AdaGrad, RMSprop, AdaDelta); Adam's bias
corrections would have to become device tensors. Timing is what this measures.

    python bench/torch_graph.py [--optimizers sgd,momentum,adam] [--steps 2000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--optimizers", default="sgd,momentum,adam")
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    import array_api_compat.torch as txp
    import numpy as np
    import torch

    import optimlab

    host_train, _ = optimlab.load_mnist()
    order_host = np.random.default_rng(0).permutation(host_train.n)
    cuda = torch.device("cuda", 0)
    size, steps = 10, args.steps
    print(f"{'optimizer':<9} {'cupy':>10} {'torch eager':>12} {'torch graph':>12}  (us per step)")
    for name in args.optimizers.split(","):
        times = {}
        # CuPy, as --device cuda runs it.
        train, _ = optimlab.load_mnist(device="cuda")
        model = optimlab.MLP(seed=0, device="cuda")
        trainer = optimlab.Trainer(model, name, train)
        order = model.backend.asarray(order_host[: steps * size])
        times["cupy"] = _median(trainer.run_batches, order, model.backend, steps, args)
        # PyTorch CUDA eager, through the same code.
        backend = optimlab.Backend(txp, cuda)
        train = optimlab.Dataset(
            backend.asarray(host_train.images), backend.asarray(host_train.labels), 10
        )
        model = optimlab.MLP(seed=0, xp=txp, device=cuda)
        trainer = optimlab.Trainer(model, name, train)
        order = backend.asarray(order_host[: steps * size])
        times["torch eager"] = _median(trainer.run_batches, order, backend, steps, args)
        # PyTorch CUDA, one captured graph per step.
        replay = _captured_step(torch, txp, model, trainer, size)
        times["torch graph"] = _median(_replay_all, (replay, order, size), backend, steps, args)
        print(
            f"{name:<9} {times['cupy'] * 1e6:10.1f} {times['torch eager'] * 1e6:12.1f} "
            f"{times['torch graph'] * 1e6:12.1f}",
            flush=True,
        )
    return 0


def _replay_all(arguments) -> None:
    replay, order, size = arguments
    for i in range(order.shape[0] // size):
        replay(order[i * size : (i + 1) * size])


def _median(run, argument, backend, steps, args) -> float:
    run(argument)  # warm-up (kernel compilation, allocator)
    samples = []
    for _ in range(args.repeats):
        backend.synchronize()
        start = time.perf_counter()
        run(argument)
        backend.synchronize()
        samples.append((time.perf_counter() - start) / steps)
    return statistics.median(samples)


def _captured_step(torch, xp, model, trainer, size):
    """Capture gather, gradient and update of one step; return ``replay(batch_index)``."""
    params = model.params
    views = model._views(params)
    grad = xp.zeros_like(params)
    grad_views = model._views(grad)
    group = trainer.groups[0]
    accumulators = [slot[0] for slot in group.state[1:]]
    update = group.optimizer.update
    x_all, y_all = trainer.train.images, trainer._targets
    index = torch.zeros(size, dtype=torch.int64, device=params.device)

    def step():
        x = xp.take(x_all, index, axis=0)
        y = xp.take(y_all, index, axis=0)
        model._gradient(views, x, y, out=grad_views)
        update(xp, params, grad, *accumulators, t=1)

    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for _ in range(3):
            step()
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        step()

    def replay(batch):
        index.copy_(batch)
        graph.replay()

    return replay


if __name__ == "__main__":
    sys.exit(main())
