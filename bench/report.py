"""Turn a JSON file written by ``bench_optimizers.py --json`` or ``gpu_step.py --json``
into Markdown tables.

python bench/report.py docs/bench/cpu.json
"""

from __future__ import annotations

import json
import sys


def _cell(row: dict, label: str, key: str, scale: float, fmt: str) -> str:
    return format(row[label][key] * scale, fmt) if label in row else "—"


def markdown(report: dict) -> str:
    lines = [
        f"{report['date']}, {report['machine']['cpu']} ({report['machine']['cores']} cores)"
        + (f", GPU {report['machine']['gpu']}" if report["machine"].get("gpu") else "")
        + f", {report['threads']} thread(s); "
        + ", ".join(f"{k} {v}" for k, v in report["versions"].items() if v),
        "",
        "| optimizer | device | dtype | batch | optimlab µs/step | NumPy loop | PyTorch "
        "| × NumPy | × PyTorch | s/epoch | evaluate ms (optimlab / NumPy / PyTorch) |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for row in report["results"]:
        ratios = [
            f"{row[f'ratio_{peer}']:.2f}" if f"ratio_{peer}" in row else "—"
            for peer in ("numpy-loop", "torch")
        ]
        evaluate = " / ".join(
            _cell(row, label, "evaluate_s", 1e3, ".1f")
            for label in ("optimlab", "numpy-loop", "torch")
        )
        lines.append(
            f"| {row['optimizer']} | {row['device']} | {row['dtype']} | {row['batch']} "
            f"| {_cell(row, 'optimlab', 'step_s', 1e6, '.1f')} "
            f"| {_cell(row, 'numpy-loop', 'step_s', 1e6, '.1f')} "
            f"| {_cell(row, 'torch', 'step_s', 1e6, '.1f')} "
            f"| {ratios[0]} | {ratios[1]} | {row['optimlab']['epoch_s']:.2f} | {evaluate} |"
        )
    return "\n".join(lines)


def gpu_step_markdown(report: dict) -> str:
    """The tables of ``gpu_step.py``: the steps, the launch floor, the split products."""
    lines = [
        f"{report['date']}, {report['device']}: `{report['command']}`",
        "",
        "| optimizer | batch | way | µs/step | kernels/step | busy µs | span µs |",
        "|---|---:|---|---:|---:|---:|---:|",
    ]
    for row in report["results"]:
        profiled = [f"{row[k]:.1f}" if k in row else "—" for k in ("kernels", "busy_us", "span_us")]
        lines.append(
            f"| {row['optimizer']} | {row['batch']} | {row['way']} | {row['wall_us']:.1f} | "
            + " | ".join(profiled)
            + " |"
        )
    if report["launch_floor_us"]:
        lines += ["", "| launch | µs |", "|---|---:|"]
        lines += [f"| {what} | {us:.2f} |" for what, us in report["launch_floor_us"].items()]
    if report["split_products"]:
        lines += [
            "",
            "| batch | product | S | kernels | busy µs | relative error |",
            "|---:|---|---:|---:|---:|---:|",
        ]
        lines += [
            f"| {r['batch']} | `{r['product']}` | {r['splits']} | {r['kernels']:.1f} "
            f"| {r['busy_us']:.2f} | {r['error']:.1e} |"
            for r in report["split_products"]
        ]
    return "\n".join(lines)


if __name__ == "__main__":
    for path in sys.argv[1:]:
        with open(path) as f:
            report = json.load(f)
        print(gpu_step_markdown(report) if "launch_floor_us" in report else markdown(report))
