"""Notebooks stay without outputs in git: the clean filter scripts/setup.sh installs strips what
running a chapter adds (outputs, execution counts, timings) and keeps what the book needs (tags)."""
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _git(cwd, *args, **kw):
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True, **kw)


@pytest.mark.skipif(shutil.which("git") is None or os.environ.get("ADVLAB_NO_GIT_FILTER") == "1"
                    or not (ROOT / ".git").exists(), reason="no git checkout with the filter set up")
def test_running_a_chapter_leaves_git_diff_empty(tmp_path):
    filt = _git(ROOT, "config", "--get", "filter.advlab-nbstrip.clean").stdout.strip()
    assert "ClearOutputPreprocessor" in filt and (ROOT / ".gitattributes").read_text().count("advlab-nbstrip") == 1
    repo = tmp_path / "repo"
    (repo / "notebooks").mkdir(parents=True)
    shutil.copy(ROOT / ".gitattributes", repo)
    (repo / ".venv").symlink_to(ROOT / ".venv")
    nb = {"cells": [{"cell_type": "code", "execution_count": None, "id": "a1", "metadata": {"tags": ["hide-input"]},
                     "outputs": [], "source": ["print(1)"]}],
          "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
          "nbformat": 4, "nbformat_minor": 5}
    path = repo / "notebooks" / "ch.ipynb"
    path.write_text(json.dumps(nb, indent=1) + "\n")
    _git(repo, "init", "-q")
    _git(repo, "config", "filter.advlab-nbstrip.clean", filt)
    _git(repo, "add", "notebooks/ch.ipynb")
    # what JupyterLab writes after Run All: an output, a count, timings
    ran = json.loads(path.read_text())
    cell = ran["cells"][0]
    cell.update(execution_count=3, outputs=[{"name": "stdout", "output_type": "stream", "text": ["1\n"]}])
    cell["metadata"]["execution"] = {"iopub.execute_input": "2026-12-04T18:29:43Z"}
    path.write_text(json.dumps(ran, indent=1) + "\n")
    assert _git(repo, "diff", "--stat").stdout == ""
    staged = json.loads(_git(repo, "show", ":notebooks/ch.ipynb").stdout)
    assert staged["cells"][0]["outputs"] == [] and staged["cells"][0]["metadata"] == {"tags": ["hide-input"]}
