"""Write ``tests/data/fixture-<kernel>.json``: the figures the redesign must not change.

Run once per OpenBLAS kernel, from the code as it stood before "The step as the
unit" (commit f6b2400, where this file did not exist yet: copy it into a checkout
of that commit and run ``PYTHONPATH=src python tests/data/make_fixture.py
--no-jobs``). ``tests/test_fixture.py`` runs the same commands and requires every
figure to be equal, bit for bit, on NumPy with the same OpenBLAS kernel: the
kernel (``OPENBLAS_CORETYPE``, or the one OpenBLAS picks for the processor) sets
the last bits of every matrix product, so a fixture holds for one kernel only.
Only the training figures and the saved parameters are stored; wall times and
the environment are not.
"""

from __future__ import annotations

import hashlib
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

# (name, command line); the experiment commands write into OUT.
COMMANDS = {
    "compare-float64": "compare --seeds 2 --epochs 2 --limit-train 3000 "
    "--dtype float64 --quiet --jobs 1",
    "compare-float32": "compare --seeds 2 --epochs 2 --limit-train 3000 "
    "--dtype float32 --quiet --jobs 1",
    "sweep-float64": "sweep --optimizer adam --lr 0.001,0.01 --seeds 2 --max-members 3 "
    "--epochs 2 --limit-train 3000 --dtype float64 --quiet --jobs 1",
    "sweep-float32": "sweep --optimizer momentum --lr 0.01,0.1 --seeds 2 --max-members 3 "
    "--epochs 2 --limit-train 3000 --dtype float32 --quiet --jobs 1",
}
TRAIN = "train --optimizer adam --limit-train 3000 --seed 3 --quiet --dtype float32"


def _figures(out: Path) -> dict:
    results = json.loads((out / "results.json").read_text())
    runs = []
    for run in results["runs"]:
        runs.append(
            {
                "optimizer": run["optimizer"],
                "hyperparameters": run["hyperparameters"],
                "seed": run["seed"],
                "epochs": [
                    [e["epoch"], e["test_accuracy"], e["test_loss"], e["train_loss"]]
                    for e in run["epochs"]
                ],
            }
        )
    models = {p.name: _digest(p) for p in sorted((out / "models").glob("*.npz"))}
    return {"runs": runs, "models": models}


def _digest(path: Path) -> str:
    """SHA-256 of the parameters saved in a model file (not of the zip's bytes)."""
    with np.load(path, allow_pickle=False) as npz:
        return hashlib.sha256(np.ascontiguousarray(npz["params"]).tobytes()).hexdigest()


def run(argv: str, *, jobs: bool = True) -> int:
    from optimlab.cli import main

    words = argv.split()
    if not jobs:
        words = [w for w in words if w not in ("--jobs", "1")]
    return main(words)


def kernel() -> str:
    """The OpenBLAS kernel that NumPy's matrix products run on (``"Haswell"``, ...)."""
    from threadpoolctl import threadpool_info

    names = [i.get("architecture") for i in threadpool_info() if i.get("user_api") == "blas"]
    return str(names[0]) if names else "unknown"


def path() -> Path:
    """This machine's fixture file: one per OpenBLAS kernel."""
    return Path(__file__).with_name(f"fixture-{kernel()}.json")


def make(jobs: bool = True) -> dict:
    fixture: dict = {"numpy": np.__version__, "kernel": kernel()}
    with tempfile.TemporaryDirectory() as tmp:
        for name, argv in COMMANDS.items():
            out = Path(tmp, name)
            assert run(f"{argv} --out {out}", jobs=jobs) == 0, name
            fixture[name] = _figures(out)
        whole, part = Path(tmp, "whole.npz"), Path(tmp, "part.npz")
        ckpt = Path(tmp, "ckpt.npz")
        assert run(f"{TRAIN} --epochs 2 --save {whole}") == 0
        assert run(f"{TRAIN} --epochs 1 --checkpoint {ckpt}") == 0
        assert run(f"{TRAIN} --epochs 2 --checkpoint {ckpt} --resume --save {part}") == 0
        fixture["train"] = {"uninterrupted": _digest(whole), "resumed": _digest(part)}
    return fixture


if __name__ == "__main__":
    jobs = "--no-jobs" not in sys.argv
    target = path()
    target.write_text(json.dumps(make(jobs), indent=1) + "\n")
    print(f"wrote {target}")
