"""The claims page: every paper claim the book tests, with its computed verdict, on one page.

A chapter's claims table (a :class:`~advlab.report.tables.Table` whose cells hold verdicts computed
by :func:`~advlab.report.verdicts.verdict`) is passed through :func:`register` by the study that
builds it. During the book build (``ADVLAB_CLAIMS_DIR`` is set by the book's Sphinx extension,
``book/_ext``, which also reads the claims page after every chapter) ``register`` writes the table
there; anywhere else it only returns it. The claims page (``book/claims.ipynb``) shows
:func:`page`: per chapter, how many verdicts hold, do not hold or cannot tell, then its table.
So a chapter adds its claims to the page by being written, and the page never disagrees with
the chapters of the same build.
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

from .tables import Table, cell, markdown_table
from .verdicts import CANNOT_TELL, DOES_NOT_HOLD, HOLDS

ENV = "ADVLAB_CLAIMS_DIR"
VERDICTS = (HOLDS, DOES_NOT_HOLD, CANNOT_TELL)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60]


def register(chapter: int, title: str, table: Table) -> Table:
    """Record ``table`` (chapter ``chapter``'s claims, headed ``title``) for the claims page when
    the book is being built; returns ``table`` unchanged."""
    if not isinstance(chapter, int) or isinstance(chapter, bool) or not 1 <= chapter <= 99:
        raise ValueError(f"chapter must be an integer in [1, 99], got {chapter!r}")
    if not isinstance(table, Table):
        raise ValueError(f"table must be an advlab.report.Table, got {type(table).__name__}")
    if not isinstance(title, str) or not title.strip():
        raise ValueError(f"title must be a non-empty string, got {title!r}")
    folder = os.environ.get(ENV, "")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        record = {"chapter": chapter, "title": title, "header": [cell(h) for h in table.header],
                  "rows": [[cell(c, table.digits) for c in r] for r in table.rows]}
        (Path(folder) / f"ch{chapter:02d}-{_slug(title)}.json").write_text(json.dumps(record, indent=1))
    return table


def collected(folder=None) -> list[dict]:
    """The tables registered in ``folder`` (default ``$ADVLAB_CLAIMS_DIR``), by chapter and title."""
    folder = folder if folder is not None else os.environ.get(ENV, "")
    if not folder or not Path(folder).is_dir():
        return []
    records = [json.loads(p.read_text()) for p in Path(folder).glob("ch*.json")]
    return sorted(records, key=lambda r: (r["chapter"], r["title"]))


def count(rows) -> dict:
    """How many cells of ``rows`` state each verdict (a cell may add a reason after the verdict:
    "does not hold (avg is worse under every attack)")."""
    counts = dict.fromkeys(VERDICTS, 0)
    for r in rows:
        for c in r:
            text = str(c).strip().strip("*").lower()
            for v in VERDICTS:
                if text.startswith(v):
                    counts[v] += 1
    return counts


class Page:
    """What the claims page displays (Markdown): a summary table, then each chapter's claims."""

    def __init__(self, records: list[dict]):
        self.records = records

    def _repr_markdown_(self) -> str:
        if not self.records:
            return ("No claims were recorded: this page is filled while the book is built "
                    f"(``{ENV}``), after every chapter has run.")
        summary = []
        for r in self.records:
            c = count(r["rows"])
            summary.append([f"{r['chapter']}", r["title"], c[HOLDS], c[DOES_NOT_HOLD], c[CANNOT_TELL]])
        parts = [markdown_table(["chapter", "claims", "hold", "do not hold", "cannot tell"], summary)]
        for r in self.records:
            parts.append(f"### Chapter {r['chapter']}: {r['title']}\n\n" + markdown_table(r["header"], r["rows"]))
        return "\n\n".join(parts) + "\n"


def page(folder=None) -> Page:
    """The claims page's content from the tables registered in ``folder`` (see :func:`collected`)."""
    return Page(collected(folder))
