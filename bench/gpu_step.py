"""One training step on the GPU, three ways: its time, its kernels and the launch floor.

CuPy cannot capture cuBLAS calls into a CUDA graph (cupy issue #6290), so a whole
step as one graph needs another route: PyTorch tensors run through optimlab's same
array-agnostic code (``--backend torch``), and PyTorch captures CUDA graphs
including cuBLAS. This times one training step of :class:`optimlab.Trainer`
three ways in one run: on CuPy (with the fused kernels), on PyTorch CUDA one
operation at a time (``graphs=False``), and on PyTorch CUDA replaying the captured
graph of the step (the default there).

Then it profiles a block of steps of each way with ``torch.profiler`` (CUPTI sees
CuPy's kernels as well as PyTorch's): per step, the kernels and copies the device
ran, the sum of their durations ("busy": the work as written, with no waiting) and
the device time from the block's first kernel start to its last kernel end divided
by the steps ("span": busy plus the gaps between kernels). Then the launch floor:
what a launch of an empty kernel costs on this card, eagerly and as one node of a
captured graph, which bounds any step made of that many kernels from below. Last,
at batch sizes of 100 and more, the device time of the step's two large products
whole and split S ways along their reduction axis (see docs/performance.md).

    python bench/gpu_step.py [--optimizers sgd,momentum,adam] [--batch-sizes 10,1000]
                             [--json FILE]
    python bench/gpu_step.py --device cpu   # a dry run: PyTorch CPU alone, its ops

On the CPU there is no kernel: the profile counts PyTorch's outermost CPU operations.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from functools import partial
from pathlib import Path
from typing import Any

# What the device ran, in a Chrome trace of torch.profiler (the CPU's operations on --device cpu).
DEVICE_CATEGORIES = {"kernel", "gpu_memcpy", "gpu_memset"}
CPU_CATEGORIES = {"cpu_op"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    parser.add_argument("--optimizers", default="sgd,momentum,adam")
    parser.add_argument("--batch-sizes", default="10,1000")
    parser.add_argument("--steps", type=int, default=1000, help="steps per timed block")
    parser.add_argument("--profile-steps", type=int, default=50, help="steps profiled (0: none)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args(argv)
    batches = [int(b) for b in args.batch_sizes.split(",")]
    failed: list[str] = []

    def attempt(what: str, function: Any, *a: Any) -> Any:
        """A part that fails is reported and the others still run (device time is scarce)."""
        try:
            return function(*a)
        except Exception as error:
            print(f"gpu_step: {what} failed: {type(error).__name__}: {error}", file=sys.stderr)
            failed.append(what)
            return None

    print(
        f"{'optimizer':<9} {'batch':>5} {'way':<12} {'wall us':>9} {'kernels':>8} "
        f"{'busy us':>8} {'span us':>8}  (per step)"
    )
    categories = DEVICE_CATEGORIES if args.device == "cuda" else CPU_CATEGORIES
    rows = []
    for row, block, steps, synchronize in step_rows(args, batches):
        if steps:
            events = attempt(
                f"profile of {row['way']}",
                profile_events,
                block,
                synchronize,
                args.device == "cuda",
            )
            row |= kernel_stats(events, steps, categories) if events else {}
        rows.append(row)
        print(_line(row), flush=True)
    for row in rows:
        print(f"\n{row['optimizer']}, batch {row['batch']}, {row['way']}: longest per step")
        for kernel, count, us in row.get("top", [])[:6]:
            print(f"  {us:8.2f} us  {count:5.2f}x  {kernel[:90]}")
    launch = (attempt("launch floor", launch_floor) if args.device == "cuda" else None) or {}
    print()
    for key, value in launch.items():
        print(f"{key:<40} {value:8.2f} us")
    print("\nthe two large products, whole and split S ways (per call)")
    products = []
    for batch in (b for b in batches if b >= 100):
        products += attempt("split products", split_products, batch, args.device) or []
    for row in products:
        print(
            f"  batch {row['batch']:>5} {row['product']:<20} S={row['splits']}: "
            f"{row['kernels']:4.1f} kernels, {row['busy_us']:7.2f} us busy, "
            f"error {row['error']:.1e}"
        )
    if args.json:
        report = {
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "command": " ".join(["gpu_step.py", *(argv if argv is not None else sys.argv[1:])]),
            "device": _card(args.device),
            "results": rows,
            "launch_floor_us": launch,
            "split_products": products,
            "failed": failed,
        }
        Path(args.json).write_text(json.dumps(report, indent=1) + "\n")
    return 1 if failed else 0


def step_rows(args: argparse.Namespace, batches: list[int]) -> Any:
    """For each batch size, optimizer and way: a row with the median wall time of a
    step (µs), a block of ``--profile-steps`` steps to profile, their number, and the
    backend's ``synchronize``."""
    import numpy as np

    import optimlab

    if args.device == "cuda":
        ways = {
            "cupy": ({"device": "cuda"}, None),
            "torch eager": ({"device": "cuda", "library": "torch"}, False),
            "torch graph": ({"device": "cuda", "library": "torch"}, True),
        }
    else:
        ways = {"torch eager": ({"device": "cpu", "library": "torch"}, False)}
    order_host = np.random.default_rng(0).permutation(60_000)
    data: dict[str, Any] = {}
    for batch in batches:
        steps = min(args.steps, 60_000 // batch)
        for name in args.optimizers.split(","):
            for way, (resolve_args, graphs) in ways.items():
                backend = optimlab.resolve(**resolve_args)
                if backend.library not in data:  # the data set goes to the device once
                    data[backend.library] = optimlab.load_mnist(
                        device=backend.device, xp=backend.xp
                    )[0]
                model = optimlab.MLP(seed=0, device=backend.device, xp=backend.xp)
                trainer = optimlab.Trainer(
                    model, name, data[backend.library], batch_size=batch, graphs=graphs
                )
                order = backend.asarray(order_host[: steps * batch])
                trainer.run_batches(order)  # warm-up: kernels, allocator, graph capture
                samples = []
                for _ in range(args.repeats):
                    backend.synchronize()
                    start = time.perf_counter()
                    trainer.run_batches(order)
                    backend.synchronize()
                    samples.append((time.perf_counter() - start) / steps)
                profiled = min(args.profile_steps, steps)
                row = {"optimizer": name, "batch": batch, "way": way}
                row["wall_us"] = statistics.median(samples) * 1e6
                block = partial(trainer.run_batches, order[: profiled * batch])
                yield row, block, profiled, backend.synchronize


def profile_events(block: Any, synchronize: Any, cuda: bool) -> list[dict[str, Any]]:
    """The Chrome-trace events ``torch.profiler`` records while ``block()`` runs.

    ``block`` runs twice and the second run is kept: the profiler's first use in a
    process pays its own start-up inside the first operations it records."""
    from torch.profiler import ProfilerActivity, profile

    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
    for _ in range(2):
        synchronize()
        with profile(activities=activities) as prof:
            block()
            synchronize()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "trace.json")
        prof.export_chrome_trace(path)
        with open(path) as f:
            return json.load(f)["traceEvents"]


def kernel_stats(
    events: list[dict[str, Any]], steps: int, categories: set[str] = DEVICE_CATEGORIES
) -> dict[str, Any]:
    """Per step: the events of ``categories`` (outermost ones only), their summed
    duration ``busy_us``, the time from the first start to the last end ``span_us``
    (µs), and the kernels by total time, ``top``: ``[name, count, µs]`` per step."""
    chosen = [e for e in events if e.get("ph") == "X" and e.get("cat") in categories]
    outermost, ends = [], {}
    for e in sorted(chosen, key=lambda e: (e["ts"], -e["dur"])):
        lane = (e.get("pid"), e.get("tid"))
        if e["ts"] + e["dur"] <= ends.get(lane, float("-inf")):
            continue  # inside an operation already counted (nested CPU operations)
        outermost.append(e)
        ends[lane] = e["ts"] + e["dur"]
    if not outermost:
        return {"kernels": 0.0, "busy_us": 0.0, "span_us": 0.0, "top": []}
    by_name: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])
    for e in outermost:
        by_name[e["name"]][0] += 1
        by_name[e["name"]][1] += e["dur"]
    span = max(e["ts"] + e["dur"] for e in outermost) - min(e["ts"] for e in outermost)
    top = sorted(by_name.items(), key=lambda item: -item[1][1])
    return {
        "kernels": len(outermost) / steps,
        "busy_us": sum(e["dur"] for e in outermost) / steps,
        "span_us": span / steps,
        "top": [[name, count / steps, us / steps] for name, (count, us) in top],
    }


def forward_product(torch: Any, x: Any, w: Any, splits: int = 1) -> Any:
    """``x @ w.T``, (B, 30): one product, or the sum of ``splits`` partial products
    over slices of the 784 features (more blocks of work for a thin output)."""
    if splits == 1:
        return x @ w.T
    batch, features = x.shape
    xs = x.reshape(batch, splits, features // splits).transpose(0, 1)  # (S, B, 784/S)
    ws = w.reshape(w.shape[0], splits, features // splits).permute(1, 2, 0)  # (S, 784/S, 30)
    return torch.sum(torch.bmm(xs, ws), dim=0)


def weight_gradient(torch: Any, delta: Any, x: Any, splits: int = 1) -> Any:
    """``delta.T @ x``, (30, 784): one product, or the sum of ``splits`` partial
    products over slices of the batch."""
    if splits == 1:
        return delta.T @ x
    batch = x.shape[0]
    ds = delta.reshape(splits, batch // splits, delta.shape[1]).transpose(1, 2)  # (S, 30, B/S)
    xs = x.reshape(splits, batch // splits, x.shape[1])  # (S, B/S, 784)
    return torch.sum(torch.bmm(ds, xs), dim=0)


def split_products(
    batch: int, device: str = "cuda", splits: tuple[int, ...] = (1, 2, 4, 8), calls: int = 20
) -> list[dict[str, Any]]:
    """The device time of the step's two large products at ``batch`` (PyTorch,
    float32), whole and split, with the split's relative error: at batch 1000 cuBLAS
    may cover the thin outputs with too few blocks to use the card, which splitting
    the reduction axis would show."""
    import torch

    g = torch.Generator(device=device).manual_seed(0)
    x = torch.rand(batch, 784, device=device, generator=g)
    w = torch.randn(30, 784, device=device, generator=g) / 28
    delta = torch.randn(batch, 30, device=device, generator=g) / batch
    cuda = device == "cuda"
    synchronize = torch.cuda.synchronize if cuda else (lambda: None)
    rows = []
    for name, product, a, b in (
        ("x @ W1.T", forward_product, x, w),
        ("dW1 = delta1.T @ x", weight_gradient, delta, x),
    ):
        whole = product(torch, a, b)
        for s in splits:
            if batch % s or 784 % s:
                continue
            split = product(torch, a, b, s)
            error = float(torch.linalg.norm(split - whole) / torch.linalg.norm(whole))
            block = partial(_repeat, calls, product, torch, a, b, s)
            events = profile_events(block, synchronize, cuda=cuda)
            stats = kernel_stats(events, calls, DEVICE_CATEGORIES if cuda else CPU_CATEGORIES)
            del stats["top"]
            rows.append({"batch": batch, "product": name, "splits": s, "error": error} | stats)
    return rows


def _repeat(calls: int, function: Any, *args: Any) -> None:
    for _ in range(calls):
        function(*args)


def launch_floor(repeats: int = 2000, chain: int = 64) -> dict[str, float]:
    """What launching an empty kernel costs on this card, µs (medians of 5 blocks).

    Eager launches are bound by the host; in a replayed graph of ``chain`` dependent
    one-element kernels the cost per node is the device's own, the least any
    kernel of a step takes."""
    import cupy
    import torch

    one = torch.zeros(1, device="cuda")
    one_cupy = cupy.zeros(1, dtype=cupy.float32)

    def per_call(call: Any, n: int) -> float:
        call()
        samples = []
        for _ in range(5):
            torch.cuda.synchronize()
            start = time.perf_counter()
            for _ in range(n):
                call()
            torch.cuda.synchronize()
            samples.append((time.perf_counter() - start) / n * 1e6)
        return statistics.median(samples)

    def graph_of(n: int) -> Any:
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            one.add_(1)
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            for _ in range(n):
                one.add_(1)
        return graph

    short, long = graph_of(1), graph_of(chain)
    one_node = per_call(short.replay, repeats)
    many_nodes = per_call(long.replay, repeats // 8)
    return {
        "cupy eager launch": per_call(lambda: cupy.add(one_cupy, 1, out=one_cupy), repeats),
        "torch eager launch": per_call(lambda: one.add_(1), repeats),
        "torch graph replay, 1 node": one_node,
        f"torch graph replay, {chain} nodes": many_nodes,
        "torch graph, per extra node": (many_nodes - one_node) / (chain - 1),
    }


def _line(row: dict[str, Any]) -> str:
    line = f"{row['optimizer']:<9} {row['batch']:>5} {row['way']:<12} {row['wall_us']:9.1f}"
    if "kernels" in row:
        line += f" {row['kernels']:8.1f} {row['busy_us']:8.1f} {row['span_us']:8.1f}"
    return line


def _card(device: str) -> str:
    if device != "cuda":
        import platform

        return platform.processor() or platform.machine()
    import torch

    return f"{torch.cuda.get_device_name(0)}, torch {torch.__version__}"


if __name__ == "__main__":
    sys.exit(main())
