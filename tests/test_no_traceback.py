"""Issue 26: no input ends the command line in a traceback, and no message misleads.

An optimizer whose step raises fails its pass in one sentence wherever the pass runs
(``--jobs 1`` as ``--jobs 2``) and in ``trajectories``; a failed pass is shown as such in
the table, not as a row of nan.
"""

from __future__ import annotations

import pytest

from optimlab import optimizers
from optimlab.cli import main
from optimlab.optimizers import SGD


class Boom(SGD):
    """An optimizer whose every step raises (a plugin's bug)."""

    name = "boom"

    def step(self, params, grads, state, **kwargs):
        raise ValueError("boom went the step")


@pytest.fixture
def boom(monkeypatch):
    monkeypatch.setitem(optimizers.OPTIMIZERS, "boom", Boom)
    return "boom"


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_raising_step_fails_its_pass_in_one_sentence(boom, tmp_path, capsys, jobs):
    argv = ["compare", "--optimizers", "boom,sgd", "--limit-train", "20", "--epochs", "1"]
    code = main([*argv, "--layers", "784,3,10", "--jobs", jobs, "--out", str(tmp_path / "r")])
    captured = capsys.readouterr()
    assert code == 1, captured.err
    assert "Traceback" not in captured.err
    assert "failed: ValueError: boom went the step" in captured.err
    row = next(line for line in captured.out.splitlines() if line.startswith("boom"))
    assert "nan" not in row and "no epoch complete: its pass failed" in row, row


def test_a_raising_step_in_trajectories_is_one_sentence_and_writes_nothing(
    boom, tmp_path, capsys
):
    out = tmp_path / "paths"
    code = main(["trajectories", "--optimizers", "sgd,boom", "--steps", "3", "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 1
    assert _lines(captured.err) == [
        "optimlab trajectories: boom failed: ValueError: boom went the step; nothing was written"
    ]
    assert not out.exists()
