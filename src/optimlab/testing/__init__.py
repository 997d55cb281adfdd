"""Conformance kits: what every optimizer (:func:`check_optimizer`) and every test
problem (:func:`check_problem`) must do, each in one call, for the project's own and
for a package that registers its own (docs/plugins.md, docs/problems.md)."""

from .optimizer_kit import CHECKS, check_optimizer
from .problem_kit import PROBLEM_CHECKS, check_problem

__all__ = ["CHECKS", "PROBLEM_CHECKS", "check_optimizer", "check_problem"]
