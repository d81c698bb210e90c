"""The book's Sphinx extension (``_config.yml``: ``extra_extensions: [decaylab_book.sphinx]``).

One module per concern:

* :mod:`.pages`: the pages generated from the notebooks (directives ``claims-ledger``,
  ``claims-checklist``, ``claim-box``, ``claim-summary`` and the role ``{claim}``, ``output-tolerances``, ``rule-error-rates``,
  ``nbval-ignored-cells``, ``pinned-versions``, ``decay-explorer``: the primer's interactive figure, ``chinese-terms``: the Chinese
  edition's terms);
* :mod:`.references`: ``post-key`` and the bibliography style labelling the posts
  "post 000" ... "post 003";
* :mod:`.edition`: the Chinese edition (title, catalogues, captions, verdict boxes rendered
  from the records) and the link between the editions;
* :mod:`.fixes`: workarounds for upstream bugs, each with the condition for removing it;
* :mod:`.site`: a lighter site (icons, fonts, figures, no source maps);
* :mod:`.common`: what the directives share.
"""

from __future__ import annotations

from . import common, edition, fixes, pages, references, site

SITE_JS = "decaylab.js"


def _no_figure_numbers(app, config):
    """Sphinx does not number the figures: Jupyter Book numbers them across the whole book (a
    chapter's only figure was "Fig. 10") and forces ``numfig`` on over ``_config.yml``; each
    chapter numbers its own (:func:`_figure_numbers_per_page`)."""
    config.numfig = False


def _figure_numbers_per_page(app, doctree, docname):
    """Each page numbers its figures from 1 ("Figure 2." before the caption; "图 2：" in the
    Chinese edition)."""
    from docutils import nodes

    word = "图 {}：" if common.is_zh(app) else "Figure {}. "
    for k, figure in enumerate(doctree.findall(nodes.figure), start=1):
        caption = next(iter(figure.findall(nodes.caption)), None)
        if caption is not None:
            caption.insert(0, nodes.strong("", word.format(k), classes=["decaylab-figure-number"]))


def _budgets(app, config):
    """The budgets (:mod:`decaylab_book.budgets`) as MyST substitutions: ``{{ notebook_seconds }}``."""
    from .. import budgets

    config.myst_substitutions = {**(config.myst_substitutions or {}), **budgets.SUBSTITUTIONS}


def setup(app):
    references.register_bib_style()
    app.add_directive("claims-ledger", pages.ClaimsLedger)
    app.add_directive("claims-checklist", pages.ClaimsChecklist)
    app.add_directive("claim-box", pages.ClaimBox)
    app.add_directive("claim-summary", pages.ClaimSummary)
    app.add_role("claim", pages.claim_role)
    app.add_directive("nbval-ignored-cells", pages.NbvalIgnoredCells)
    app.add_directive("output-tolerances", pages.OutputTolerances)
    app.add_directive("rule-error-rates", pages.RuleErrorRates)
    app.add_directive("pinned-versions", pages.PinnedVersions)
    app.add_directive("decay-explorer", pages.DecayExplorer)
    app.add_directive("chinese-terms", pages.ChineseTerms)
    app.add_directive("post-key", references.PostKey)
    app.add_css_file(site.ICONS_CSS)
    app.add_js_file(SITE_JS, loading_method="defer")
    app.add_config_value("decaylab_title_zh", "", "html")
    app.add_config_value("decaylab_author_zh", "", "html")
    app.connect("config-inited", fixes.one_navigation_toggle)
    app.connect("config-inited", edition.edition_config)
    app.connect("config-inited", _budgets)
    app.connect("config-inited", _no_figure_numbers, priority=900)  # after the extensions that set it
    app.connect("builder-inited", edition.compile_catalogues)
    app.connect("doctree-read", edition.translate_toc_captions)
    app.connect("doctree-resolved", site.link_full_size_images)
    app.connect("doctree-resolved", common.fill_titles)
    app.connect("doctree-resolved", edition.render_boxes)
    app.connect("doctree-resolved", _figure_numbers_per_page)
    app.connect("doctree-resolved", edition.translate_alts)
    # Early (priority 1): html-page-context stops at the first listener that returns a template.
    app.connect("html-page-context", edition.language_switch_in_body, priority=1)
    app.connect("html-page-context", fixes.unique_scripts, priority=1)
    app.connect("build-finished", site.finish)
    app.connect("build-finished", edition.translate_ui)
    return {"version": "3.0", "parallel_read_safe": True, "parallel_write_safe": True}
