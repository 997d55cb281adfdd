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


#: The layers, lowest first: a module may import its own layer's and lower layers'
#: modules only (a package counts with everything inside it).
LAYERS = (
    ("optimlab.errors", "optimlab._checks", "optimlab._files", "optimlab._version"),
    ("optimlab._plugins",),
    ("optimlab.backend", "optimlab.schedules"),
    ("optimlab.optimizers", "optimlab.datasets", "optimlab.nn"),
    ("optimlab.train", "optimlab.problems"),
    ("optimlab.experiment", "optimlab.testing"),
    ("optimlab.figures",),
    ("optimlab.benchmark", "optimlab.trajectories"),
    ("optimlab.cli", "optimlab", "optimlab.__main__"),
)


def _layer(module: str) -> int | None:
    top = ".".join(module.split(".")[:2])
    return next((i for i, names in enumerate(LAYERS) if top in names), None)


def test_every_module_has_a_layer_and_imports_none_above_it():
    unplaced = sorted(name for name in MODULES if _layer(name) is None)
    assert unplaced == [], "tests/test_architecture.py's LAYERS does not place these"
    upward = [
        f"{name} (layer {_layer(name)}) imports {module} (layer {_layer(module)}), line {line}"
        for name, path in MODULES.items()
        for module, line in _imports(name, path)
        if module in MODULES and _layer(module) > _layer(name)
    ]
    assert upward == []


def _names_used_as_keys(source: str, names: set[str]) -> list[tuple[int, str]]:
    """Where ``source`` keys a dict literal by two or more of ``names`` (a table of facts
    about them), or compares a value with one of them (a branch on who it is)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Dict):
            keys = [k.value for k in node.keys if isinstance(k, ast.Constant)]
            if len(keys) >= 2 and len(keys) == len(node.keys) and set(keys) <= names:
                found.append((node.lineno, f"a dict keyed by {', '.join(map(str, keys[:3]))}"))
        elif isinstance(node, ast.Compare):
            for side in (node.left, *node.comparators):
                if isinstance(side, ast.Constant) and side.value in names:
                    found.append((node.lineno, f"a comparison with {side.value!r}"))
    return found


def test_the_scan_for_name_keyed_facts_finds_them():
    snippet = 'RATES = {"adam": 1e-3, "sgd": 0.1}\nif name == "muon":\n    pass\n'
    assert [line for line, _ in _names_used_as_keys(snippet, {"adam", "sgd", "muon"})] == [1, 2]


def test_facts_about_an_optimizer_or_a_problem_live_in_its_package():
    """No name-keyed table of optimizer facts outside optimizers/, none of problem facts
    outside problems/ (a problem's own default rates per optimizer are problem facts)."""
    from optimlab import optimizers
    from optimlab.problems import BUILTIN

    owners = {
        "optimlab.optimizers": set(optimizers.OPTIMIZERS),
        "optimlab.problems": {p.name for p in BUILTIN},
    }
    found = [
        f"{name}:{line}: {what} (belongs in {owner})"
        for name, path in MODULES.items()
        for owner, names in owners.items()
        if not _inside(name, owner)
        and not (owner == "optimlab.optimizers" and _inside(name, "optimlab.problems"))
        for line, what in _names_used_as_keys(path.read_text(encoding="utf-8"), names)
    ]
    assert found == []


def _inside(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")
