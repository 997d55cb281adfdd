"""Turn a JSON file written by ``bench_optimizers.py --json`` into Markdown tables.

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


if __name__ == "__main__":
    for path in sys.argv[1:]:
        with open(path) as f:
            print(markdown(json.load(f)))
