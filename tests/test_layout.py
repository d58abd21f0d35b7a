"""The package's layers: imports only point down (cli -> io -> training -> book modules -> _array -> errors),
datasets import only errors, and no two modules import each other, even through others or lazily."""

from __future__ import annotations

import ast
import pathlib

import pytest

import xpnet

ROOT = pathlib.Path(xpnet.__file__).parent

#: Each part of the package and the parts it may import (itself included).
LAYERS = {
    "errors": {"errors"},
    "_version": {"_version"},
    "_array": {"_array", "errors"},
    "_files": {"_files", "errors"},
    "datasets": {"datasets", "_array", "errors"},  # host data: the one pixel scaling lives in _array's operations
    "book": {"book", "_array", "_files", "errors"},
    "training": {"training", "book", "_array", "_files", "errors"},
    "trainer": {"trainer", "training", "book", "_array", "_files", "errors"},  # the book's Trainer, on xpnet's
    "io": {"io", "trainer", "training", "book", "_array", "_files", "errors"},
    "cli": {"cli", "io", "trainer", "training", "book", "datasets", "_array", "_files", "errors", "_version"},
}
TOP = {"__init__", "__main__"}  # the package's face: may import anything


def _part(module: str) -> str:
    """The layer of module ``module`` (dotted, relative to the package)."""
    head = module.split(".")[0]
    return head if head in LAYERS or head in TOP else "book"


def _modules() -> dict[str, pathlib.Path]:
    out = {}
    for path in ROOT.rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__" and len(parts) > 1:
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _imports(module: str, path: pathlib.Path, known: set[str]) -> set[str]:
    """Modules of the package that ``module`` imports anywhere in its file (lazy imports too)."""
    package = [] if module in TOP else module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1] if node.level > 1 else package
                target = ".".join([*base, *(node.module.split(".") if node.module else [])])
            elif node.module and node.module.split(".")[0] == "xpnet":
                target = node.module.partition(".")[2]
            else:
                continue
            for alias in node.names:
                name = f"{target}.{alias.name}" if target else alias.name
                found.add(name if name in known else target)
        elif isinstance(node, ast.Import):
            found |= {a.name.partition(".")[2] for a in node.names if a.name.startswith("xpnet.")}
    return {m for m in found if m in known and m != module}


def _graph() -> dict[str, set[str]]:
    mods = _modules()
    return {m: _imports(m, p, set(mods)) for m, p in mods.items()}


def test_the_import_graph_is_read():
    graph = _graph()
    assert "nets" in graph["io.checkpoint"] and "layers" in graph["nets.two_layer_net"] and "_array.checks" in graph["layers.affine"]


def test_imports_only_point_down():
    wrong = []
    for module, targets in _graph().items():
        part = _part(module)
        if part in TOP:
            continue
        for target in targets:
            if _part(target) not in LAYERS[part]:
                wrong.append(f"{module} ({part}) imports {target} ({_part(target)})")
    assert wrong == []


def test_no_import_cycles():
    graph = _graph()
    state: dict[str, int] = {}
    cycles = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join([*stack[stack.index(nxt):], nxt]))
            elif nxt not in state:
                visit(nxt, [*stack, nxt])
        state[node] = 2

    for module in sorted(graph):
        if module not in state and module not in TOP:
            visit(module, [module])
    assert cycles == []


@pytest.mark.parametrize("module", ["functions", "gradient", "layers", "nets", "params", "optim", "gradcheck"])
def test_book_modules_stay_at_the_root(module):
    """A book module is a file at the root, or a package there that re-exports the book's names."""
    assert (ROOT / f"{module}.py").is_file() or (ROOT / module / "__init__.py").is_file()


def test_modules_and_functions_stay_small():
    long_modules, long_functions = [], []
    for path in ROOT.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        if text.count("\n") > 400:
            long_modules.append(path.name)
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno >= 60:
                long_functions.append(f"{path.relative_to(ROOT)}:{node.name}")
    assert long_modules == [] and long_functions == []


#: Backend names (and aliases) that code outside ``_array/`` must not compare: it asks a row's capability instead.
BACKEND_NAMES = {"numpy", "torch", "jax", "cupy", "array_api_strict", "np", "cp", "strict", "pytorch"}


def _string_constants(node: ast.AST) -> list[str]:
    """The string constants of an expression compared against: itself, or the elements of a tuple, list or set."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return [s for elt in node.elts for s in _string_constants(elt)]
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("set", "frozenset", "tuple"):
        return [s for arg in node.args for s in _string_constants(arg)]
    return []


def backend_name_comparisons(source: str) -> list[tuple[int, str]]:
    """``(line, name)`` of every comparison (==, !=, in, not in, is, a match-case value) of a backend name in ``source``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
        elif isinstance(node, ast.MatchValue):
            operands = [node.value]
        else:
            continue
        found += [(node.lineno, s) for op in operands for s in _string_constants(op) if s.strip().lower() in BACKEND_NAMES]
    return found


@pytest.mark.parametrize("snippet", [
    "if name == 'numpy': pass", "ok = 'torch' != backend.name", "if be.name in ('cupy', 'other'): pass",
    "x = name not in {'jax'}", "match name:\n    case 'array_api_strict': pass", "match n:\n    case 'np' | 'cp': pass",
    "if name.lower() == 'PyTorch': pass", "if kind in frozenset(['strict']): pass",
])
def test_a_backend_name_comparison_is_found(snippet):
    assert backend_name_comparisons(snippet)


def test_other_uses_of_backend_names_are_not_comparisons():
    snippet = "backend = 'numpy'\nprint('torch')\nf(backend='jax')\nif kind == 'relu': pass\nd = {'cupy': 1}"
    assert backend_name_comparisons(snippet) == []


def test_no_backend_name_is_compared_outside_the_array_layer():
    """Outside ``_array/`` code asks a backend's row a question (``row.writable``, ``row.compiler``), never its name."""
    offenders = []
    for path in sorted(ROOT.rglob("*.py")):
        if "_array" in path.relative_to(ROOT).parts:
            continue
        for line, name in backend_name_comparisons(path.read_text(encoding="utf-8")):
            offenders.append(f"{path.relative_to(ROOT)}:{line} compares {name!r}")
    assert offenders == []
