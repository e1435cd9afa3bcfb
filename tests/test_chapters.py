"""What the chapters may hold: thin cells that call the package, no function definitions but the
exercise stubs and their solutions, and code listings that point at package code that exists."""
import ast
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def cells(nb, kind):
    return ["".join(c["source"]) for c in json.loads(nb.read_text())["cells"] if c["cell_type"] == kind]


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.name)
def test_chapters_define_no_functions_but_exercises(nb):
    for src in cells(nb, "code"):
        defs = [n.name for n in ast.walk(ast.parse(src)) if isinstance(n, ast.FunctionDef)]
        assert all(d.startswith("my_") or d.endswith("_solution") for d in defs), defs


def _defined(path: Path, dotted: str) -> bool:
    body = ast.parse(path.read_text()).body
    for name in dotted.split("."):
        found = [n for n in body if isinstance(n, (ast.ClassDef, ast.FunctionDef)) and n.name == name]
        if not found:
            return False
        body = found[0].body
    return True


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.name)
def test_code_listings_point_at_package_code(nb):
    for src in cells(nb, "markdown"):
        for path, obj in re.findall(r"```\{literalinclude\} (\S+)\n(?::pyobject: (\S+))?", src):
            target = (nb.parent / path).resolve()
            assert target.is_file(), path
            assert not obj or _defined(target, obj), f"{path}: {obj}"
