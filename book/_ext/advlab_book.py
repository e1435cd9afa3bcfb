"""Small Sphinx fixes for the offline book.

sphinx-thebe (pulled in by jupyter-book 1.x) registers its inline configuration script on every
``env-before-read-docs`` event, so a page can carry it twice and the browser reports
"Identifier 'THEBE_JS_URL' has already been declared". We drop exact duplicates from each page's
script list, and likewise the duplicated toggle-button configuration.

The API page (``book/api.md``) renders the package's docstrings, written as prose with ``literals``
rather than as reStructuredText, and builds with ``-W -n``. Before autodoc and napoleon parse them:

* a bare ``|x|`` is an absolute value, not a substitution: it is escaped;
* a constant or attribute without a docstring of its own (``REGISTRY``, a dataclass field) would
  show the docstring of its value or its type (``dict``'s, ``str.format``'s): that is dropped;
* an attribute docstring such as ``#: the maps measured: (model, interpreter)`` is prose, while
  napoleon reads ``text: rest`` as ``type: description``; when ``text`` has spaces it is no type,
  so napoleon is told to leave the line alone.

The chapter notebooks cite as ``[[Goodfellow et al., 2015]](#cite-goodfellow2015explaining)``: a
link JupyterLab shows as the same text the book prints, which this extension turns back into
``{cite}`goodfellow2015explaining``` as each notebook is read, so the book links it to the
references. (JupyterLab shows ``{cite}`` roles as literal text; ``tests/test_chapters.py`` checks
each written label against ``book/references.bib``, ``tests/test_book.py`` against the page.)

The claims page (``book/claims.ipynb``) shows the claims tables the chapters register while they
run (:mod:`advlab.report.claims`): at the start of a build the extension points
``ADVLAB_CLAIMS_DIR`` at ``_build/claims`` (the kernels inherit it; a chapter executed again
overwrites its records, so an incremental build keeps those of the chapters it did not re-read),
and has Sphinx read that page after every other, and on every build.

And a cross-reference to where an object is defined (``advlab.studies.common.attack_table``,
``Range`` inside ``advlab.widgets``) resolves to where the page documents it, the public name
the same object has (``advlab.studies.attack_table``); other broken references still fail.
"""
import inspect
import re

from sphinx.util.nodes import make_refnode

from advlab.report.source import lookup

_LITERAL = re.compile(r"(``.+?``|`[^`]*`)")
_BARS = re.compile(r"\|(?=[^|\s])([^|`]*?[^|\s])\|")
_PROSE_COLON = re.compile(r"^[^:`]*\s[^:`]*:(\s|$)")


_PROSE = {}  # (what, name) -> the lines napoleon must not reinterpret


def _clean_docstring(app, what, name, obj, options, lines):
    """Before napoleon: drop borrowed docstrings, keep prose "text: rest" lines for after it."""
    if what == "method" and inspect.isbuiltin(obj):
        lines.clear()  # a field holding a builtin (``fmt = "{:g}".format``): Python's docstring, not ours
        return
    if what in ("data", "attribute", "property") and lines:
        own = "\n".join(lines).strip()
        borrowed = [(inspect.getdoc(x) or "").strip() for x in (obj, type(obj))]
        if what != "property" and own and any(own in b for b in borrowed):
            lines.clear()  # the value's docstring, not one written for this name
            return
        if _PROSE_COLON.match(lines[0]):
            _PROSE[what, name] = list(lines)


def _after_napoleon(app, what, name, obj, options, lines):
    """After napoleon: restore prose it read as "type: description"; escape bare |x|."""
    if (what, name) in _PROSE:
        lines[:] = _PROSE.pop((what, name))
    for i, line in enumerate(lines):
        if "|" in line and not line.lstrip().startswith("|"):  # leave line blocks and tables alone
            parts = _LITERAL.split(line)
            lines[i] = "".join(p if k % 2 else _BARS.sub(r"\\|\1|", p) for k, p in enumerate(parts))


def _resolve_public_name(app, env, node, contnode):
    """Resolve an advlab reference the page documents under another (public) name: same object."""
    if node.get("refdomain") != "py":
        return None
    target = node.get("reftarget", "").lstrip(".~")
    context = node.get("py:module") or ""
    if not (target.startswith("advlab.") or context.startswith("advlab")):
        return None
    candidates = [target] if target.startswith("advlab.") else [f"{context}.{target}", target]
    objects = env.get_domain("py").objects
    tail = target.rsplit(".", 1)[-1]
    same_tail = [name for name in objects if name.startswith("advlab.") and name.rsplit(".", 1)[-1] == tail]
    found = None
    for cand in candidates:
        obj = lookup(cand) if cand.startswith("advlab.") else None
        if obj is not None:
            found = next((name for name in same_tail if name != cand and lookup(name) is obj), None)
            if found:
                break
    if found is None and "." not in target and len(same_tail) == 1:
        found = same_tail[0]  # a bare name (``Range``) that the page documents exactly once
    if found is None:
        return None
    entry = objects[found]
    return make_refnode(app.builder, node["refdoc"], entry.docname, entry.node_id, contnode, found)


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


_CITATION = re.compile(r"\[\[[^\[\]]+\]\]\(#cite-([\w:.,-]+)\)")


def _citations(app, docname, source):
    """``[[label]](#cite-keys)`` in a notebook's Markdown → ``{cite}`keys``` (see the module's docstring)."""
    if docname.startswith("notebooks/"):
        source[0] = _CITATION.sub(lambda m: "{cite}`" + m.group(1) + "`", source[0])


CLAIMS_PAGE = "book/claims"


def _claims_folder(app):
    """The folder of the claims records, named to the kernels by ``ADVLAB_CLAIMS_DIR``."""
    import os
    from pathlib import Path
    folder = Path(app.doctreedir).parent / "claims"
    folder.mkdir(parents=True, exist_ok=True)
    os.environ["ADVLAB_CLAIMS_DIR"] = str(folder)


def _claims_outdated(app, env, added, changed, removed):
    """The claims page is read on every build (what it shows comes from the chapters' runs)."""
    return [CLAIMS_PAGE] if CLAIMS_PAGE in env.found_docs else []


def _claims_last(app, env, docnames):
    """Read the claims page after the chapters, whose execution registers what it shows."""
    if CLAIMS_PAGE in docnames:
        docnames.remove(CLAIMS_PAGE)
        docnames.append(CLAIMS_PAGE)


def setup(app):
    app.connect("builder-inited", _claims_folder)
    app.connect("env-get-outdated", _claims_outdated)
    app.connect("env-before-read-docs", _claims_last)
    app.connect("source-read", _citations)
    app.connect("html-page-context", _dedupe_scripts, priority=900)
    app.connect("autodoc-process-docstring", _clean_docstring, priority=400)  # before napoleon (500)
    app.connect("autodoc-process-docstring", _after_napoleon, priority=600)
    app.connect("missing-reference", _resolve_public_name)
    # the claims page must be read after the chapters: not in parallel
    return {"parallel_read_safe": False, "parallel_write_safe": True}
