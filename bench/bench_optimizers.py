"""Time one training step of each optimizer, per device, against its peers in the same run.

For each optimizer x device x batch size x dtype it measures, side by side:

* **optimlab**, through :class:`optimlab.Trainer` (the code ``fit`` runs);
* **numpy-loop**, the hand-written NumPy loop of ``bench/numpy_loop.py`` (CPU only),
  the practical floor: preallocated buffers, ``out=`` everywhere; for the rules it
  writes out (``numpy_loop.RULES``: the report's seven and the elementwise ones after
  them);
* **torch**, PyTorch eager with the optimizer's peer (:data:`PEERS`: the matching
  ``torch.optim`` optimizer, or ``lion_pytorch.Lion``, ``schedulefree``'s,
  ``prodigyopt.Prodigy``, ``pytorch_optimizer``'s Adan, AdEMAMix, AdaBelief and SOAP;
  Muon as ``torch.optim.Muon`` on the matrices and ``torch.optim.AdamW`` on the biases), with optimlab's default hyper-parameters,
  where torch and the peer's package are importable (on the CPU with
  ``torch.set_num_threads(--threads)``).

``--optimizers`` is the report's seven by default, ``all`` for every optimizer in
``optimlab.optimizers.OPTIMIZERS`` (read at run time, plugins included), or a list
of names. An optimizer without a peer is measured without it, and its row says so
(``peers`` and ``notes`` in the JSON).

All peers start from the same parameters and visit the same batches. A step's time
is the median, over ``--repeats`` rounds, of a block of steps divided by its length;
each round runs every peer once (interleaved, so that machine noise hits them alike),
after one untimed warm-up block, with the device synchronized before every clock
read. Evaluation is one batched pass over the 10,000 test images. Peak memory is the
peak of traced host allocations (tracemalloc: NumPy arrays, not torch's CPU tensors)
during one untimed block, or on CUDA the allocator's peak.

    python bench/bench_optimizers.py                       # CPU, batch 10 and 1000, float32
    python bench/bench_optimizers.py --dtypes float32,float64 --json bench.json
    python bench/bench_optimizers.py --devices cuda        # on a GPU machine
    python bench/bench_optimizers.py --batch-sizes 10 --optimizers all
    python bench/bench_optimizers.py --problem mnist_mlp --batch-sizes 128 --threads 2 \
        --peers torch --optimizers sgd,momentum,adam,adamw

``--problem`` names a network of :mod:`optimlab.problems` (default ``report``, the
784-30-10 sigmoid network); the NumPy loop is written for the report's network only.
"""

from __future__ import annotations

import argparse
import datetime
import itertools
import json
import math
import os
import platform
import statistics
import sys
import time
from importlib import import_module
from pathlib import Path
from typing import Any

OPTIMIZERS = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adadelta", "adam")

#: optimlab name -> its PyTorch peer: ``(module, class, fixed keyword arguments,
#: {optimlab hyper-parameter: the peer's name})``. Every other hyper-parameter is passed
#: under its own name where the peer's constructor takes it (``beta1``/``beta2`` as
#: ``betas``); one it does not take is listed in the row's notes. ``muon`` is two
#: optimizers (see :func:`_torch_peer`).
PEERS: dict[str, tuple[str, str, dict[str, Any], dict[str, str]]] = {
    "sgd": ("torch.optim", "SGD", {}, {}),
    "momentum": ("torch.optim", "SGD", {}, {}),
    "nesterov": ("torch.optim", "SGD", {"nesterov": True}, {}),
    "adagrad": ("torch.optim", "Adagrad", {}, {}),
    "rmsprop": ("torch.optim", "RMSprop", {}, {"decay": "alpha"}),
    "adadelta": ("torch.optim", "Adadelta", {}, {"decay": "rho"}),
    "adam": ("torch.optim", "Adam", {}, {}),
    "adamw": ("torch.optim", "AdamW", {}, {}),
    "amsgrad": ("torch.optim", "Adam", {"amsgrad": True}, {}),
    "nadam": ("torch.optim", "NAdam", {}, {}),
    "nadamw": ("torch.optim", "NAdam", {"decoupled_weight_decay": True}, {}),
    "radam": ("torch.optim", "RAdam", {}, {}),
    "adamax": ("torch.optim", "Adamax", {}, {}),
    "adafactor": ("torch.optim", "Adafactor", {}, {}),
    "lion": ("lion_pytorch", "Lion", {}, {}),
    "sf_adamw": ("schedulefree", "AdamWScheduleFree", {}, {}),
    "sf_sgd": ("schedulefree", "SGDScheduleFree", {}, {}),
    "prodigy": ("prodigyopt", "Prodigy", {}, {}),
    "muon": ("torch.optim", "Muon", {}, {}),
    "adan": ("pytorch_optimizer", "Adan", {"max_grad_norm": 0.0}, {}),
    "ademamix": ("pytorch_optimizer", "AdEMAMix", {}, {}),
    "adabelief": ("pytorch_optimizer", "AdaBelief", {"ams_bound": False}, {}),
    "soap": ("pytorch_optimizer", "SOAP", {"merge_dims": False}, {}),
}


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", default="cpu", help="comma-separated: cpu, cuda (cpu)")
    parser.add_argument("--batch-sizes", default="10,1000", help="comma-separated (10,1000)")
    parser.add_argument("--dtypes", default="float32", help="float32 and/or float64 (float32)")
    parser.add_argument(
        "--optimizers",
        default=",".join(OPTIMIZERS),
        help="comma-separated names, or 'all' for every registered optimizer "
        "(default: the report's seven)",
    )
    parser.add_argument("--peers", default="numpy-loop,torch", help="which peers to run")
    parser.add_argument("--repeats", type=int, default=11, help="timed rounds per case (11)")
    parser.add_argument(
        "--seconds", type=float, default=0.02, help="target length of one timed block (0.02)"
    )
    parser.add_argument("--threads", type=int, default=1, help="CPU threads for every peer (1)")
    parser.add_argument("--problem", default="report", help="the network (report)")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    # Thread counts must be fixed before NumPy (and its BLAS) is imported.
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)
    sys.path.insert(0, str(Path(__file__).parent))
    import numpy as np

    import optimlab

    names = _names(args.optimizers, optimlab.optimizers.OPTIMIZERS)
    problem = optimlab.problems.get(args.problem)
    from numpy_loop import RULES

    peers = [p for p in args.peers.split(",") if p]
    torch = None
    if "torch" in peers:
        try:
            import torch

            torch.set_num_threads(args.threads)
        except ImportError:
            print("torch is not importable: the torch peer is skipped", file=sys.stderr)
            peers.remove("torch")

    train, test = optimlab.load_mnist(dtype="float64")
    x_host, labels_host = train.images, train.labels
    test_x, test_labels = test.images, test.labels
    results = []
    for device in args.devices.split(","):
        backend = optimlab.resolve(device)
        for dtype in args.dtypes.split(","):
            data = _Data(np, backend, dtype, x_host, labels_host, test_x, test_labels, problem)
            for batch in (int(b) for b in args.batch_sizes.split(",")):
                for name in names:
                    runners = {"optimlab": _Optimlab(optimlab, data, name, batch)}
                    described, notes = {}, []
                    if "numpy-loop" in peers and device == "cpu":
                        if problem.name != "report":
                            notes.append("the NumPy loop is the report's network only")
                        elif name in RULES:
                            runners["numpy-loop"] = _NumpyLoop(np, data, name, batch)
                            described["numpy-loop"] = f"numpy_loop.NumpyLoop._{name}"
                        else:
                            notes.append("no NumPy loop for this rule")
                    if "torch" in peers:
                        try:
                            runners["torch"] = _Torch(torch, data, name, batch, device)
                        except _NoPeer as missing:
                            notes.append(str(missing))
                        else:
                            described["torch"] = runners["torch"].described
                            notes.extend(runners["torch"].notes)
                    row = _measure(runners, args, device, dtype, batch, name)
                    row["peers"], row["notes"] = described, notes
                    results.append(row)
                    _print_row(row, first=len(results) == 1)
    report = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.argv[0]).name, *(argv or sys.argv[1:])]),
        "machine": _machine(),
        "versions": _versions(torch),
        "threads": args.threads,
        "problem": problem.name,
        "network": list(problem.layers),
        "results": results,
    }
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1) + "\n")
        print(f"\nwrote {args.json}")
    return 0


def _names(given: str, registry) -> list[str]:
    """The optimizers to measure: ``all`` is every registered one, in the registry's order."""
    if given.strip() == "all":
        return list(registry)
    names = [n.strip().lower() for n in given.split(",") if n.strip()]
    unknown = [n for n in names if n not in registry]
    if unknown:
        raise SystemExit(
            f"unknown optimizer {unknown[0]!r}: choose among {', '.join(registry)} or 'all'"
        )
    return names


class _NoPeer(Exception):
    """The optimizer has no PyTorch peer here (none known, or its package is missing)."""


class _Data:
    """The training and test sets of one backend and dtype, plus one shared visiting order."""

    def __init__(self, np, backend, dtype, x, labels, test_x, test_labels, problem):
        host_dtype = np.dtype(dtype)
        self.np, self.backend, self.dtype, self.problem = np, backend, dtype, problem
        self.x_host = x.astype(host_dtype)
        self.labels_host = labels
        self.y_host = np.eye(10, dtype=host_dtype)[labels]
        self.test_x_host = test_x.astype(host_dtype)
        self.test_labels_host = test_labels
        self.order_host = np.random.default_rng(0).permutation(len(labels))

    def initial_params(self):
        import optimlab

        p = self.problem
        model = optimlab.MLP(p.layers, p.activation, p.output, dtype="float64", init=p.init)
        return model.params.astype(self.dtype)


class _Optimlab:
    label = "optimlab"

    def __init__(self, optimlab, data: _Data, name: str, batch: int):
        backend = data.backend
        dtype = backend.dtype(data.dtype)
        self.data, self.batch, self.backend = data, batch, backend
        self.train = optimlab.Dataset(
            backend.asarray(data.x_host, dtype=dtype), backend.asarray(data.labels_host), 10
        )
        self.test = optimlab.Dataset(
            backend.asarray(data.test_x_host, dtype=dtype),
            backend.asarray(data.test_labels_host),
            10,
        )
        problem = data.problem
        self.model = optimlab.MLP(
            problem.layers,
            problem.activation,
            problem.output,
            params=backend.asarray(data.initial_params(), dtype=dtype),
            device=backend.device,
            xp=backend.xp,
            dtype=data.dtype,
        )
        self.trainer = optimlab.Trainer(self.model, name, self.train, batch_size=batch)
        self.order = backend.asarray(data.order_host)
        self.optimlab = optimlab

    def run(self, start: int, steps: int) -> None:
        n, size = self.order.shape[0], self.batch
        while steps > 0:  # whole batches, wrapping around the end of the order
            a = (start * size) % n
            chunk = min(steps, (n - a) // size)
            self.trainer.run_batches(self.order[a : a + chunk * size])
            start, steps = start + chunk, steps - chunk

    def evaluate(self) -> float:
        return self.optimlab.evaluate(self.model, self.test).accuracy

    def sync(self) -> None:
        self.backend.synchronize()


class _NumpyLoop:
    label = "numpy-loop"

    def __init__(self, np, data: _Data, name: str, batch: int):
        import optimlab
        from numpy_loop import NumpyLoop

        hyper = optimlab.optimizers.get(name).hyperparameters
        self.loop = NumpyLoop(data.initial_params(), data.problem.layers, batch, name, hyper)
        self.x, self.y, self.order, self.batch = data.x_host, data.y_host, data.order_host, batch
        self.test_x, self.test_labels = data.test_x_host, data.test_labels_host

    def run(self, start: int, steps: int) -> None:
        n, size, loop = len(self.order), self.batch, self.loop
        for i in range(start, start + steps):
            a = (i * size) % n
            loop.step(self.x, self.y, self.order[a : a + size])

    def evaluate(self) -> float:
        return self.loop.evaluate(self.test_x, self.test_labels)[0]

    def sync(self) -> None:
        pass


class _Torch:
    label = "torch"

    def __init__(self, torch, data: _Data, name: str, batch: int, device: str):
        import optimlab

        self.torch, self.batch = torch, batch
        self.device = torch.device(device)
        dtype = getattr(torch, data.dtype)
        put = lambda a: torch.as_tensor(a, dtype=dtype, device=self.device)  # noqa: E731
        p, layers = data.initial_params(), data.problem.layers
        shapes = [s for a, b in itertools.pairwise(layers) for s in ((b, a), (b,))]
        cut = [0, *itertools.accumulate(math.prod(s) for s in shapes)]
        self.params = [
            put(p[a:b].reshape(s)).requires_grad_() for a, b, s in zip(cut, cut[1:], shapes)
        ]
        self.act = {"sigmoid": torch.sigmoid, "relu": torch.relu, "tanh": torch.tanh}[
            data.problem.activation
        ]
        self.softmax = data.problem.output == "softmax"
        self.labels = torch.as_tensor(data.labels_host, device=self.device)
        hyper = optimlab.optimizers.get(name).hyperparameters
        self.opts, self.described, self.notes = _torch_peer(torch, name, self.params, hyper)
        # Schedule-Free optimizers step in train mode and are evaluated in eval mode.
        self.modes = [o for o in self.opts if hasattr(o, "train") and hasattr(o, "eval")]
        for opt in self.modes:
            opt.train()
        self.x, self.y = put(data.x_host), put(data.y_host)
        self.order = torch.as_tensor(data.order_host, device=self.device)
        self.test_x = put(data.test_x_host)
        self.test_labels = torch.as_tensor(data.test_labels_host, device=self.device)

    def _logits(self, x):
        for i in range(0, len(self.params), 2):
            w, b = self.params[i], self.params[i + 1]
            x = self.torch.addmm(b, x, w.t())
            if i + 2 < len(self.params):
                x = self.act(x)
        return x

    def run(self, start: int, steps: int) -> None:
        torch, n, size = self.torch, self.order.shape[0], self.batch
        bce = torch.nn.functional.binary_cross_entropy_with_logits
        cross_entropy = torch.nn.functional.cross_entropy
        for i in range(start, start + steps):
            a = (i * size) % n
            idx = self.order[a : a + size]
            x = self.x.index_select(0, idx)
            if self.softmax:  # optimlab's softmax cost: cross-entropy, batch mean
                loss = cross_entropy(self._logits(x), self.labels.index_select(0, idx))
            else:
                loss = bce(self._logits(x), self.y.index_select(0, idx), reduction="sum") / size
            for opt in self.opts:
                opt.zero_grad(set_to_none=True)
            loss.backward()
            for opt in self.opts:
                opt.step()

    def evaluate(self) -> float:
        for opt in self.modes:
            opt.eval()  # the averaged point, as optimlab's eval_params
        with self.torch.no_grad():
            predicted = self._logits(self.test_x).argmax(dim=1)
            accuracy = (predicted == self.test_labels).double().mean().item()
        for opt in self.modes:
            opt.train()
        return accuracy

    def sync(self) -> None:
        if self.device.type == "cuda":
            self.torch.cuda.synchronize(self.device)


def _torch_peer(torch, name: str, params: list, hyper: dict) -> tuple[list, str, list[str]]:
    """The PyTorch optimizers that step ``params`` (W1, b1, W2, b2) as optimlab's ``name``
    with the hyper-parameters ``hyper``, a description of them, and notes.

    Raises :class:`_NoPeer` where no peer is known or its package is not importable.
    """
    if name not in PEERS:
        raise _NoPeer("no known PyTorch peer: optimlab alone")
    module, cls_name, fixed, renames = PEERS[name]
    try:
        cls = getattr(import_module(module), cls_name)
    except (ImportError, AttributeError):
        raise _NoPeer(f"peer {module}.{cls_name} is not importable: optimlab alone") from None
    hyper = dict(hyper)
    if name == "muon":
        # optimlab's Muon: torch.optim.Muon on every 2-D array, AdamW on the others
        matrices = [p for p in params if p.ndim == 2]
        others = [p for p in params if p.ndim != 2]
        adamw = {"lr": hyper.pop("adamw_lr", 1e-3), "betas": (0.9, 0.999), "eps": 1e-8}
        adamw["weight_decay"] = hyper.get("weight_decay", 0.0)
        opt, kwargs, notes = _construct(cls, matrices, hyper, fixed, renames)
        second = torch.optim.AdamW(others, **adamw)
        described = f"{_call(module, cls_name, kwargs)} on W1, W2 + "
        described += f"{_call('torch.optim', 'AdamW', adamw)} on b1, b2"
        return [opt, second], described, notes
    opt, kwargs, notes = _construct(cls, params, hyper, fixed, renames)
    return [opt], _call(module, cls_name, kwargs), notes


def _construct(cls, params, hyper: dict, fixed: dict, renames: dict):
    """``cls(params, **kwargs)`` with optimlab's hyper-parameters under the peer's names,
    cast to the types of the peer's defaults; the notes name the ones it does not take."""
    import inspect

    signature = inspect.signature(cls.__init__).parameters
    kwargs, notes = dict(fixed), []
    hyper = dict(hyper)
    if "beta1" in hyper and "beta2" in hyper and "betas" in signature:
        names = ("beta1", "beta2") if "beta3" in signature else ("beta1", "beta2", "beta3")
        kwargs["betas"] = tuple(hyper.pop(k) for k in names if k in hyper)  # Adan's: three
    if hyper.get("t_alpha_beta3") == 0.0:  # AdEMAMix without warm-up: pytorch_optimizer's None
        hyper["t_alpha_beta3"] = None
    if "ns_a" in hyper and "ns_coefficients" in signature:  # torch's Muon: one tuple
        kwargs["ns_coefficients"] = (hyper.pop("ns_a"), hyper.pop("ns_b"), hyper.pop("ns_c"))
    if "eps2" in hyper and "eps2" not in signature and "eps" in signature:
        kwargs["eps"] = (None, hyper.pop("eps2"))  # torch's Adafactor: eps = (eps1, eps2)
    for key, value in hyper.items():
        target = renames.get(key, key)
        if target not in signature:
            notes.append(f"the peer takes no {key} (optimlab's is {value!r})")
            continue
        default = signature[target].default
        if isinstance(default, bool):
            value = bool(value)
        elif isinstance(default, int) and float(value).is_integer():
            value = int(value)
        kwargs[target] = value
    return cls(params, **kwargs), kwargs, notes


def _call(module: str, cls_name: str, kwargs: dict) -> str:
    return f"{module}.{cls_name}({', '.join(f'{k}={v!r}' for k, v in kwargs.items())})"


def _time(runner, start: int, steps: int) -> float:
    runner.sync()
    t0 = time.perf_counter()
    runner.run(start, steps)
    runner.sync()
    return time.perf_counter() - t0


def _peak_bytes(runner, steps: int, device: str) -> int | None:
    if device == "cpu":
        if runner.label == "torch":
            return None  # torch's CPU allocator is invisible to tracemalloc
        import tracemalloc

        tracemalloc.start()
        runner.run(0, steps)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return peak
    if runner.label == "torch":
        runner.torch.cuda.reset_peak_memory_stats()
        runner.run(0, steps)
        return runner.torch.cuda.max_memory_allocated()
    import cupy

    pool = cupy.get_default_memory_pool()
    runner.run(0, steps)
    runner.sync()
    return pool.total_bytes()


def _measure(runners: dict, args, device: str, dtype: str, batch: int, name: str) -> dict:
    # Size the block from a warm-up so that each timed block lasts about --seconds.
    steps = {}
    for label, runner in runners.items():
        runner.run(0, 2)
        first = _time(runner, 2, 5) / 5
        steps[label] = max(3, min(2000, int(args.seconds / max(first, 1e-7))))
        runner.run(0, steps[label])  # warm-up block
    per_step = {label: [] for label in runners}
    evals = {label: [] for label in runners}
    for round_ in range(args.repeats):
        for label, runner in runners.items():
            per_step[label].append(
                _time(runner, round_ * steps[label], steps[label]) / steps[label]
            )
    for _ in range(max(3, args.repeats // 2)):
        for label, runner in runners.items():
            runner.sync()
            t0 = time.perf_counter()
            runner.evaluate()
            evals[label].append(time.perf_counter() - t0)
    epoch_steps = math.ceil(60_000 / batch)
    row: dict[str, Any] = {"optimizer": name, "device": device, "dtype": dtype, "batch": batch}
    for label, runner in runners.items():
        step = statistics.median(per_step[label])
        row[label] = {
            "step_s": step,
            "step_s_all": per_step[label],
            "steps_per_block": steps[label],
            "epoch_s": step * epoch_steps,
            "samples_per_s": batch / step,
            "evaluate_s": statistics.median(evals[label]),
            "peak_bytes": _peak_bytes(runner, min(steps[label], 50), device),
        }
    for peer in ("numpy-loop", "torch"):
        if peer in row:
            row[f"ratio_{peer}"] = row["optimlab"]["step_s"] / row[peer]["step_s"]
            row[f"evaluate_ratio_{peer}"] = row["optimlab"]["evaluate_s"] / row[peer]["evaluate_s"]
    return row


def _print_row(row: dict, first: bool) -> None:
    if first:
        print(
            f"{'optimizer':<9} {'device':<6} {'dtype':<7} {'batch':>5} | "
            f"{'optimlab':>9} {'numpy':>9} {'torch':>9} {'x numpy':>7} {'x torch':>7} | "
            f"{'s/epoch':>7} {'samples/s':>10} | {'eval ms (ours/np/torch)':>23} | {'peak MB':>7}"
        )
        print("-" * 132)

    def us(label):
        return f"{row[label]['step_s'] * 1e6:8.1f}u" if label in row else f"{'-':>9}"

    def ratio(peer):
        return f"{row[f'ratio_{peer}']:7.2f}" if f"ratio_{peer}" in row else f"{'-':>7}"

    evals = "/".join(
        f"{row[label]['evaluate_s'] * 1e3:.1f}" if label in row else "-"
        for label in ("optimlab", "numpy-loop", "torch")
    )
    peak = row["optimlab"]["peak_bytes"]
    ours = row["optimlab"]
    print(
        f"{row['optimizer']:<9} {row['device']:<6} {row['dtype']:<7} {row['batch']:>5} | "
        f"{us('optimlab')} {us('numpy-loop')} {us('torch')} {ratio('numpy-loop')} "
        f"{ratio('torch')} | {ours['epoch_s']:7.2f} {ours['samples_per_s']:10.0f} | "
        f"{evals:>23} | {peak / 2**20 if peak else 0:7.2f}",
        flush=True,
    )
    for note in row.get("notes", []):
        print(f"{'':<9} note: {note}", flush=True)


def _machine() -> dict:
    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info = {"platform": platform.platform(), "cpu": cpu, "cores": os.cpu_count()}
    try:
        import cupy

        info["gpu"] = cupy.cuda.runtime.getDeviceProperties(0)["name"].decode()
    except Exception:
        info["gpu"] = None
    return info


def _versions(torch) -> dict:
    import array_api_compat
    import numpy

    import optimlab

    versions = {
        "python": platform.python_version(),
        "optimlab": optimlab.__version__,
        "numpy": numpy.__version__,
        "array_api_compat": array_api_compat.__version__,
        "torch": getattr(torch, "__version__", None),
    }
    try:
        import cupy

        versions["cupy"] = cupy.__version__
    except ImportError:
        versions["cupy"] = None
    return versions


if __name__ == "__main__":
    sys.exit(main())
