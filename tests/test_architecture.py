"""The layout keeps its promises: no import cycles, libraries behind the backend, small units.

Read from the source with :mod:`ast` (nothing is imported), so a lazy import
inside a function counts as much as one at the top of a module.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "src" / "optimlab"
MODULES = {
    ".".join(("optimlab", *p.relative_to(ROOT).with_suffix("").parts)).removesuffix(".__init__"): p
    for p in sorted(ROOT.rglob("*.py"))
}
#: The only package that may import these array libraries.
LIBRARIES, BACKEND = {"torch", "cupy", "cupyx", "jax"}, "optimlab.backend"
MAX_CLASS, MAX_FUNCTION = 200, 100


def _imports(name: str, path: Path) -> list[tuple[str, int]]:
    """Every module ``name`` imports: ``(module, line)``, relative imports resolved."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, *([node.module] if node.module else [])])
            for alias in node.names:  # "from pkg import module" imports pkg.module
                child = f"{base}.{alias.name}"
                found.append((child if child in MODULES else base, node.lineno))
    return found


GRAPH = {
    name: sorted({m for m, _ in _imports(name, path) if m in MODULES and m != name})
    for name, path in MODULES.items()
}


def _cycle(start: str) -> list[str] | None:
    """A path of imports from ``start`` back to itself, if there is one."""
    stack, seen = [(start, [start])], set()
    while stack:
        node, path = stack.pop()
        for nxt in GRAPH[node]:
            if nxt == start:
                return [*path, start]
            if nxt not in seen:
                seen.add(nxt)
                stack.append((nxt, [*path, nxt]))
    return None


def test_the_graph_is_read():
    assert GRAPH["optimlab.train.trainer"]  # it imports its siblings
    assert "optimlab.nn.mlp" in GRAPH["optimlab.nn"]


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_module_imports_one_that_depends_on_it(name):
    assert _cycle(name) is None, " -> ".join(_cycle(name))


def test_array_libraries_are_imported_only_inside_the_backend():
    outside = [
        f"{name}:{line} imports {module}"
        for name, path in MODULES.items()
        if not (name == BACKEND or name.startswith(BACKEND + "."))
        for module, line in _imports(name, path)
        if module.split(".")[0] in LIBRARIES
    ]
    assert outside == []


def _units():
    for name, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                yield name, node, node.end_lineno - node.lineno + 1


def test_no_class_over_200_lines_and_no_function_over_100():
    limit = {ast.ClassDef: MAX_CLASS}
    too_long = [
        f"{name}.{node.name}: {lines} lines"
        for name, node, lines in _units()
        if lines > limit.get(type(node), MAX_FUNCTION)
    ]
    assert too_long == []


def _mapped() -> set[Path]:
    """The modules that docs/architecture.md's tree names. A folder line (``  nn/``) maps
    the package (its ``__init__.py``) and opens it: a file name on a deeper line belongs to
    it; a file name on a line at the folders' indent belongs to the root."""
    text = (ROOT.parents[1] / "docs" / "architecture.md").read_text(encoding="utf-8")
    lines = text.split("```")[1].splitlines()
    assert lines[1] == "src/optimlab/", "the map's tree starts at src/optimlab/"
    mapped, package = set(), Path()
    for line in lines[2:]:
        indent, words = len(line) - len(line.lstrip()), line.split()
        if indent == 2:  # a folder, or a module of the root
            package = Path(words[0]) if words and words[0].endswith("/") else Path()
            if package != Path():
                mapped.add(package / "__init__.py")
        for word in words:
            name = word.strip("(),;:`")
            if name.endswith(".py") and "/" not in name:
                mapped.add(package / name)
    return mapped


def test_every_module_is_on_the_map():
    """docs/architecture.md maps every module, and only modules that exist: a new one
    without its line (or a line left after its module went) fails here."""
    on_disk = {p.relative_to(ROOT) for p in ROOT.rglob("*.py")}
    mapped = _mapped()
    assert sorted(map(str, on_disk - mapped)) == [], "docs/architecture.md does not map these"
    assert sorted(map(str, mapped - on_disk)) == [], "docs/architecture.md maps no such module"


def test_nothing_that_trains_imports_the_figures_or_matplotlib():
    """The figures are drawn by the commands once the results exist: no module of
    experiment/, train/, nn/, optimizers/ or backend/ imports ``optimlab.figures`` or
    matplotlib, even lazily inside a function (the arrow would point back up)."""
    lower = ("experiment", "train", "nn", "optimizers", "backend")
    packages = tuple(f"optimlab.{p}" for p in lower)
    found = [
        f"{name}:{line} imports {module}"
        for name, path in MODULES.items()
        if any(name == p or name.startswith(p + ".") for p in packages)
        for module, line in _imports(name, path)
        if module.split(".")[0] == "matplotlib"
        or module == "optimlab.figures"
        or module.startswith("optimlab.figures.")
    ]
    assert any(n.startswith("optimlab.experiment.") for n in MODULES)  # the layers are read
    assert found == []
