"""Tables that show ours beside the paper: GitHub-flavoured Markdown pipe tables, displayed as
Markdown by Jupyter (``_repr_markdown_``) and rendered as tables by the book (chapters 1–3)."""
from __future__ import annotations

from dataclasses import dataclass, field

from .intervals import Rate


def cell(value, digits: int = 1) -> str:
    """One table cell: numbers and :class:`Rate` with ``digits`` decimals (a Rate as a
    percentage with its interval), anything else as text; ``|`` is escaped."""
    if isinstance(value, (Rate, float)):
        value = format(value, f".{digits}f")
    return str(value).replace("|", r"\|")


def markdown_table(header, rows, digits: int = 1) -> str:
    """A Markdown pipe table from a header and rows of cells (see :func:`cell`)."""
    if any(len(r) != len(header) for r in rows):
        raise ValueError("every row must have one cell per header column")
    lines = ["| " + " | ".join(cell(h) for h in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(c, digits) for c in r) + " |" for r in rows]
    return "\n".join(lines)


@dataclass
class Table:
    """A table with a ``header`` and ``rows``; a notebook displays it as Markdown (chapters 1–3).

    >>> Table(["", "clean"], [["paper", 98.8], ["ours", rate(290, 300)]])
    """
    header: list
    rows: list = field(default_factory=list)
    digits: int = 1

    def __post_init__(self):
        self.header, self.rows = list(self.header), [list(r) for r in self.rows]
        markdown_table(self.header, self.rows)   # checks the shape

    def add(self, *cells) -> Table:
        """Append one row (``len(header)`` cells); returns the table."""
        markdown_table(self.header, [cells])
        self.rows.append(list(cells))
        return self

    def _repr_markdown_(self) -> str:
        return markdown_table(self.header, self.rows, self.digits)

    __str__ = _repr_markdown_


def side_by_side(columns, paper: dict, ours: dict, digits: int = 1, first: str = "") -> Table:
    """"Ours beside the paper": one row per entry of ``paper`` then of ``ours`` (label → one
    value per column: a :class:`Rate` (shown with its interval), a number, text, or ``None``
    for "not reported", shown as –)."""
    rows = [[label] + ["–" if v is None else v for v in values]
            for label, values in (*paper.items(), *ours.items())]
    return Table([first, *columns], rows, digits)
