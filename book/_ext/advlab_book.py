"""Small Sphinx fixes for the offline book.

sphinx-thebe (pulled in by jupyter-book 1.x) registers its inline configuration script on every
``env-before-read-docs`` event, so a page can carry it twice and the browser reports
"Identifier 'THEBE_JS_URL' has already been declared". We drop exact duplicates from each page's
script list, and likewise the duplicated toggle-button configuration.

The API page (``book/api.md``) renders the package's docstrings, which are prose with ``literals``:
a bare ``|x|`` there is an absolute value, not an reStructuredText substitution, so it is escaped
before autodoc parses it (otherwise "Undefined substitution referenced" fails the ``-W`` build).
A constant (``REGISTRY``, ``CLASSES``) has no docstring of its own: autodoc would show the one of its
type (``dict``'s), so that is dropped and the page's own sentence stands.
"""
import inspect
import re

_LITERAL = re.compile(r"(``.+?``|`[^`]*`)")
_BARS = re.compile(r"\|(?=[^|\s])([^|`]*?[^|\s])\|")


def _clean_docstring(app, what, name, obj, options, lines):
    if what in ("data", "attribute") and lines:
        inherited = inspect.getdoc(type(obj))
        if inherited and "\n".join(lines).strip() == inherited.strip():
            lines.clear()
            return
    for i, line in enumerate(lines):
        if "|" in line and not line.lstrip().startswith("|"):  # leave line blocks and tables alone
            parts = _LITERAL.split(line)
            lines[i] = "".join(p if k % 2 else _BARS.sub(r"\\|\1|", p) for k, p in enumerate(parts))


def _dedupe_scripts(app, pagename, templatename, context, doctree):
    files = context.get("script_files")
    if not files:
        return
    seen, unique = set(), []
    for js in files:
        # same file (or inline body) and attributes, whatever the priority it was registered with
        key = (str(getattr(js, "filename", js) or ""),  # inline scripts carry None or ""
               tuple(sorted((k, str(v)) for k, v in getattr(js, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            unique.append(js)
    context["script_files"] = unique


def setup(app):
    app.connect("html-page-context", _dedupe_scripts, priority=900)
    app.connect("autodoc-process-docstring", _clean_docstring)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
