"""Small Sphinx fixes for the offline book.

sphinx-thebe (pulled in by jupyter-book 1.x) registers its inline configuration script on every
``env-before-read-docs`` event, so a page can carry it twice and the browser reports
"Identifier 'THEBE_JS_URL' has already been declared". We drop exact duplicates from each page's
script list, and likewise the duplicated toggle-button configuration.
"""


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
    return {"parallel_read_safe": True, "parallel_write_safe": True}
