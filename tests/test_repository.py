"""Repository rules: pins agree, notebooks carry no outputs, imports have no side effects."""
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def test_there_are_chapters():
    assert NOTEBOOKS


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.name)
def test_notebooks_are_stored_without_outputs(nb):
    cells = json.loads(nb.read_text())["cells"]
    code = [c for c in cells if c["cell_type"] == "code"]
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code)


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_cells_stay_thin(nb):
    cells = json.loads(nb.read_text())["cells"]
    for c in cells:
        if c["cell_type"] == "code":
            assert len("".join(c["source"]).splitlines()) <= 16, "".join(c["source"])[:80]
    assert any("import advlab as al" in "".join(c["source"]) for c in cells)


def test_pyproject_pins_match_the_lock():
    lock = dict(l.split("==") for l in (ROOT / "requirements/lock.txt").read_text().split() if "==" in l)
    lock = {k.lower().replace("_", "-"): v for k, v in lock.items()}
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = meta["dependencies"] + [r for extra in meta["optional-dependencies"].values() for r in extra]
    for r in reqs:
        if r.startswith("advlab"):
            continue
        name, version = re.fullmatch(r"([A-Za-z0-9_.\-]+)==(\S+)", r).groups()
        assert lock[name.lower().replace("_", "-")] == version, r


def test_environment_yml_installs_the_same_pins():
    text = (ROOT / "environment.yml").read_text()
    assert "-c requirements/lock.txt" in text and "-e .[dev]" in text


def test_import_has_no_side_effects(tmp_path):
    code = ("import warnings, torch, sys; f = list(warnings.filters); t = torch.get_num_threads(); "
            "import advlab, advlab.interpret, advlab.widgets; "
            "assert warnings.filters == f and torch.get_num_threads() == t; "
            "assert 'advlab.widgets' in sys.modules")
    env = {"ADVLAB_DATA": str(tmp_path / "data"), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)
    assert not (tmp_path / "data").exists()
