"""The package's layers: imports point one way (down), and no family imports itself in a circle.

Every top-level part of ``advlab`` has a rank; a module may import parts of its own rank or
below, never above, and the graph of imports between parts (module-level and lazy imports inside
functions alike, found with ``ast``) has no cycle. The rule is checked on the real source tree
and, so that the checker itself is known to work, on small synthetic trees.
"""
import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "advlab"

# rank of each top-level part: the neutral core at the bottom, chapters and panels at the top
RANKS = {
    "core": 0,
    "data": 1, "models": 1,
    "attacks": 2, "interpret": 2, "metrics": 2, "landscape": 2,
    "train": 3,
    "zoo": 4,
    "transforms": 5, "stylize": 5, "squeeze": 5,
    "report": 6, "plot": 6,
    "studies": 7, "widgets": 7, "exercises": 7,
    "__init__": 8, "__main__": 8,
}


def part_of(path: Path, root: Path) -> str:
    rel = path.relative_to(root)
    return rel.parts[0].removesuffix(".py")


def imported_parts(path: Path, root: Path) -> set[str]:
    """The top-level parts of the package that ``path`` imports (relative or absolute)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    rel = path.relative_to(root)
    pkg_parts = list(rel.parts[:-1])  # the package the module lives in, relative to advlab/
    if rel.name == "__init__.py":
        here = pkg_parts
    else:
        here = pkg_parts
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[:len(here) - (node.level - 1)] if node.level > 1 else here
                if node.level - 1 > len(here):
                    continue
                target = base + (node.module.split(".") if node.module else [])
                if target:
                    out.add(target[0])
                else:  # "from . import a, b" at the top of the package
                    out.update(a.name for a in node.names)
            elif node.module and node.module.split(".")[0] == root.name:
                names = node.module.split(".")[1:]
                out.update([names[0]] if names else [a.name for a in node.names])
        elif isinstance(node, ast.Import):
            for a in node.names:
                bits = a.name.split(".")
                if bits[0] == root.name and len(bits) > 1:
                    out.add(bits[1])
    return out


def graph(root: Path) -> dict[str, set[str]]:
    g: dict[str, set[str]] = {}
    for path in root.rglob("*.py"):
        src = part_of(path, root)
        g.setdefault(src, set())
        g[src] |= {p for p in imported_parts(path, root) if p != src}
    return g


def violations(root: Path, ranks: dict) -> list[str]:
    problems = []
    g = graph(root)
    for src, targets in sorted(g.items()):
        if src not in ranks:
            problems.append(f"{src}: no rank (add it to RANKS)")
            continue
        for t in sorted(targets):
            if t in ranks and ranks[t] > ranks[src]:
                problems.append(f"upward import: {src} (rank {ranks[src]}) imports {t} (rank {ranks[t]})")
    # cycles among parts, by depth-first search
    state: dict[str, int] = {}

    def visit(node, stack):
        state[node] = 1
        for t in sorted(g.get(node, ())):
            if state.get(t) == 1:
                problems.append("import cycle: " + " -> ".join(stack[stack.index(t):] + [t]) if t in stack
                                else f"import cycle through {t}")
            elif t in g and state.get(t) is None:
                visit(t, stack + [t])
        state[node] = 2

    for node in sorted(g):
        if state.get(node) is None:
            visit(node, [node])
    return problems


def test_advlab_imports_point_down_and_never_in_a_circle():
    assert violations(PKG, RANKS) == []


def test_every_part_of_the_package_has_a_rank():
    parts = {part_of(p, PKG) for p in PKG.rglob("*.py")}
    assert parts - set(RANKS) == set()


def _tree(tmp_path, files):
    root = tmp_path / "advlab"
    for name, text in files.items():
        f = root / name
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(text)
    return root


@pytest.mark.parametrize("files, expected", [
    ({"core/__init__.py": "", "attacks/__init__.py": "from ..core import x\n"}, []),
    ({"core/__init__.py": "from ..attacks import base\n", "attacks/__init__.py": ""},
     ["upward import: core (rank 0) imports attacks (rank 2)"]),
    ({"core/a.py": "def f():\n    from advlab.widgets import w\n", "widgets/__init__.py": ""},
     ["upward import: core (rank 0) imports widgets (rank 7)"]),
    ({"metrics.py": "from . import interpret\n", "interpret/__init__.py": "from .. import metrics\n"},
     ["import cycle: interpret -> metrics -> interpret"]),
])
def test_the_checker_finds_upward_imports_and_cycles(tmp_path, files, expected):
    assert violations(_tree(tmp_path, files), RANKS) == expected
