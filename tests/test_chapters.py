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


def _cells_with_meta(nb, kind):
    return [c for c in json.loads(nb.read_text())["cells"] if c["cell_type"] == kind]


SOURCE_CALL = re.compile(r"^al\.report\.source\((al(?:\.\w+)+|\"advlab(?:\.\w+)+\")\)$")


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.name)
def test_code_listings_show_package_code_in_both_places(nb):
    """The taught code is a cell ``al.report.source(al.…)`` (one line, its input hidden in the book),
    pointing at a class or function the package defines (checked on the file's syntax tree)."""
    import advlab as al
    listings = [c for c in _cells_with_meta(nb, "code") if "al.report.source(" in "".join(c["source"])]
    for c in listings:
        src = "".join(c["source"]).strip()
        m = SOURCE_CALL.match(src)
        assert m, src
        assert "remove-input" in c["metadata"].get("tags", []), src
        if m.group(1).startswith('"'):
            obj = m.group(1).strip('"')
        else:
            obj = al
            for part in m.group(1).split(".")[1:]:
                obj = getattr(obj, part)
        shown = al.report.source(obj)
        assert _defined(ROOT / shown.path, shown.name), src


# MyST that JupyterLab shows as literal text: roles such as {cite}`x` and directives such as ```{note}
MYST_ONLY = re.compile(r"\{[\w:-]+\}`|^(```|:::)+\s*\{[\w:-]+\}", re.M)


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.name)
def test_markdown_reads_the_same_in_jupyterlab(nb):
    for src in cells(nb, "markdown"):
        assert not MYST_ONLY.search(src), MYST_ONLY.search(src).group(0) + " in: " + src[:200]


def _bib_label(entry) -> str:
    """How the book's author-year style writes one reference: "Nakka, 2021", "Girdhar and Ramanan,
    2017", "Goodfellow et al., 2015"."""
    last = [" ".join(p.last_names) for p in entry.persons["author"]]
    who = last[0] if len(last) == 1 else " and ".join(last) if len(last) == 2 else f"{last[0]} et al."
    return f"{who}, {entry.fields['year']}"


CITATION = re.compile(r"\[\[([^\[\]]+)\]\]\(#cite-([\w:.,-]+)\)")


def test_citations_are_written_as_the_book_prints_them():
    """``[[Goodfellow et al., 2015]](#cite-goodfellow2015explaining)``: keys in book/references.bib,
    the label the author-year style prints for them, in the order it prints them (by label)."""
    from pybtex.database import parse_file
    bib = parse_file(str(ROOT / "book" / "references.bib")).entries
    found = 0
    for nb in NOTEBOOKS:
        for src in cells(nb, "markdown"):
            for text, keys in CITATION.findall(src):
                keys = keys.split(",")
                assert all(k in bib for k in keys), keys
                labels = [_bib_label(bib[k]) for k in keys]
                assert labels == sorted(labels), keys
                assert text == ", ".join(labels), (text, keys)
                found += 1
    assert found >= 30
