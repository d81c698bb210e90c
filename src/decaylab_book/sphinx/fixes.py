"""Workarounds for upstream bugs, each next to the condition for removing it."""

from __future__ import annotations


# pydata-sphinx-theme 0.17.1 under sphinx-book-theme 1.3.0 (pydata-sphinx-theme issue 2451):
# the top bar renders a second ".primary-toggle" button when any navbar_* slot is filled; the
# theme's script binds only the first, so the visible button opened nothing on a phone. Jupyter
# Book fills navbar_persistent with the search button; emptying every slot leaves no top bar and
# one working toggle (the search field stays in the sidebar). REMOVE when a released
# sphinx-book-theme carries its pull request 1000 (the browser test taps the button on every page).
def one_navigation_toggle(app, config):
    options = dict(config.html_theme_options or {})
    options["navbar_persistent"] = []
    options["navbar_start"] = options["navbar_center"] = options["navbar_end"] = []
    config.html_theme_options = options


# sphinx-thebe registers its configuration script (``const THEBE_JS_URL = ...``) on every
# env-before-read-docs event, which fires more than once per build here; the second copy
# re-declares a const and raises a JavaScript error in the reader's browser. REMOVE when
# sphinx-thebe adds its script once (the browser test fails on any console error).
def unique_scripts(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if scripts:
        seen, unique = set(), []
        for script in scripts:
            # inline scripts come with filename None or "" (both mean "no file")
            key = (
                getattr(script, "filename", None) or "",
                repr(sorted(getattr(script, "attributes", {}).items())),
            )
            if key not in seen:
                seen.add(key)
                unique.append(script)
        scripts[:] = unique  # in place: listeners after this one (sphinx.ext.mathjax) still append to it


# docutils marks bibliography entries role="doc-biblioentry" inside role="list": a list may hold
# only list items (axe: aria-required-children, critical). REMOVE when docutils or
# sphinxcontrib-bibtex writes list items (the browser test runs axe on the references page).
def bibliography_list_items(html_text: str) -> str:
    return html_text.replace('role="doc-biblioentry"', 'role="listitem"')
