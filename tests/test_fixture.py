"""The redesign changed no figure: the stored fixture is reproduced bit for bit on NumPy.

``tests/data/fixture-<kernel>.json`` was written by ``tests/data/make_fixture.py``
from the code before "The step as the unit" (commit f6b2400): compare and sweep in
float32 and float64, and a train interrupted by ``--checkpoint``/``--resume``; one
file per OpenBLAS kernel (SkylakeX, which OpenBLAS picks on the AVX-512 processors
here, and Haswell, which ``OPENBLAS_CORETYPE=Haswell`` forces), since the kernel
sets the last bits of every matrix product. Every test
accuracy, test and training loss per epoch and the SHA-256 of every saved
parameter vector must be equal. Hyper-parameters added since (the seven's
``weight_decay``) must be at the value that keeps the old rule (0).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

DATA = Path(__file__).with_name("data")
sys.path.insert(0, str(DATA))
import make_fixture  # noqa: E402

FILE = make_fixture.path()
STORED = json.loads(FILE.read_text()) if FILE.exists() else {}


@pytest.fixture(scope="module")
def reproduced() -> dict:
    _stored_here()
    return make_fixture.make(jobs=True)


def _stored_here() -> None:
    if not STORED:
        pytest.skip(f"no fixture stored for the OpenBLAS kernel {make_fixture.kernel()}")
    if np.__version__.split(".")[:2] != STORED["numpy"].split(".")[:2]:
        pytest.skip(f"the fixture was stored with NumPy {STORED['numpy']}")


#: Hyper-parameters added after the fixture was stored, at the values that keep the old rules.
ADDED = {"weight_decay": 0.0}


def _without_added(value):
    """``value`` with the ADDED hyper-parameters removed where they hold their old-rule value."""
    if isinstance(value, dict):
        return {
            k: _without_added(v)
            for k, v in value.items()
            if not (k in ADDED and v == ADDED[k] and not isinstance(v, dict))
        }
    if isinstance(value, list):
        return [_without_added(v) for v in value]
    return value


@pytest.mark.parametrize("name", [*make_fixture.COMMANDS, "train"])
def test_the_redesign_reproduces_the_stored_figures(reproduced: dict, name: str) -> None:
    assert _without_added(reproduced[name]) == STORED[name]


def test_the_resumed_train_equals_the_uninterrupted_one() -> None:
    _stored_here()
    assert STORED["train"]["resumed"] == STORED["train"]["uninterrupted"]


def test_worker_processes_reproduce_the_serial_figures(tmp_path: Path) -> None:
    """``--jobs 2`` (two worker processes) gives the serial figures of ``--jobs 1``."""
    _stored_here()
    argv = make_fixture.COMMANDS["compare-float32"].replace("--jobs 1", "--jobs 2")
    assert make_fixture.run(f"{argv} --out {tmp_path}") == 0
    assert _without_added(make_fixture._figures(tmp_path)) == STORED["compare-float32"]
