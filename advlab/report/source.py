"""The code a chapter teaches, shown from the package itself, the same in JupyterLab and in the book.

``source(al.attacks.FGSM)`` in a code cell displays the class's source as a Markdown code block,
headed by the file it lives in: JupyterLab renders it with syntax colours, and the book (whose
notebook outputs are parsed as MyST) renders the same block as any code on its pages. The book
hides the cell's one line of input (tag ``remove-input``); the student sees the call and can edit
it. What is shown is read from the file the package was imported from, so it is never a copy.
"""
from __future__ import annotations

import inspect
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Source:
    """The source of one class or function of advlab: ``path`` (from the repository root, such as
    ``advlab/attacks/fgsm.py``), its ``name`` (qualified), its ``first`` and ``last`` line in that
    file and its ``text`` (dedented)."""
    path: str
    name: str
    first: int
    last: int
    text: str

    def _repr_markdown_(self) -> str:
        longest = max((len(m) for m in re.findall(r"`+", self.text)), default=0)
        fence = "`" * max(3, longest + 1)
        return (f"`{self.path}`, lines {self.first}–{self.last}: `{self.name}`\n\n"
                f"{fence}python\n{self.text}{fence}\n")

    def __repr__(self) -> str:
        return f"# {self.path}, lines {self.first}-{self.last}: {self.name}\n{self.text}"

    def _repr_pretty_(self, p, cycle) -> None:
        p.text(repr(self))


def lookup(name: str):
    """The object a dotted name such as ``advlab.interpret.pathways._influence`` names, or None:
    the longest importable module, then attributes (``al.interpret.pathways`` is the function, not
    the module). The book's extension resolves cross-references with it too."""
    import importlib
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            for attr in parts[cut:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return None
        return obj
    return None


def source(obj) -> Source:
    """The source of ``obj``, a class, function or method defined in advlab (decorators included),
    or its dotted name (``"advlab.interpret.pathways._influence"``, for one the package's public
    names hide), for display in a notebook (see the module's docstring)."""
    import advlab
    if isinstance(obj, str):
        if not (obj == "advlab" or obj.startswith("advlab.")):
            raise ValueError(f"obj must name a class, function or method of advlab, got {obj!r}")
        found = lookup(obj)
        if found is None:
            raise ValueError(f"obj must name a class, function or method of advlab, got {obj!r}: no such object")
        obj = found
    target: Any = obj.fget if isinstance(obj, property) else obj
    if callable(target):
        target = inspect.unwrap(target)
    module = getattr(target, "__module__", None) or ""
    code = inspect.isclass(target) or inspect.isfunction(target) or inspect.ismethod(target)
    file_name = inspect.getsourcefile(target) if code else None
    if not code or not (module == "advlab" or module.startswith("advlab.")) or file_name is None:
        raise ValueError(f"obj must be a class, function or method defined in advlab, got {obj!r}")
    lines, first = inspect.getsourcelines(target)
    file = Path(file_name).resolve()
    root = Path(advlab.__file__).resolve().parent.parent
    return Source(path=file.relative_to(root).as_posix(), name=target.__qualname__, first=first,
                  last=first + len(lines) - 1, text=textwrap.dedent("".join(lines)))
