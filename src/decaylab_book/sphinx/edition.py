"""The two editions: the Chinese edition's title, catalogues, table-of-contents captions and
verdict boxes, and the link from every page to the same page in the other edition."""

from __future__ import annotations

import functools
import re
from pathlib import Path

from docutils import nodes
from sphinx.errors import ExtensionError

from .. import boxes, editions, files
from . import references
from .common import esc, is_zh

ZH_CSS = "decaylab-zh.css"

#: MyST-NB's labels of a hidden cell's toggle ("Show code cell {type}"), in Chinese. The book
#: hides only code (tag "hide-input"), so {type}, MyST-NB's English "source", is left out.
ZH_CODE_PROMPTS = ("显示代码", "隐藏代码")


def edition_config(app, config):
    """The Chinese edition's title, its stylesheet (its own CJK font subset), the labels of
    the toggles of hidden code cells, its search dictionary and its bibliography (the
    ``_zh`` fields of ``references.bib``: :func:`.references.zh_bib`)."""
    if (config.language or "en") == editions.LANGUAGE:
        config.html_title = config.decaylab_title_zh
        config.author = config.decaylab_author_zh
        config.nb_code_prompt_show, config.nb_code_prompt_hide = ZH_CODE_PROMPTS
        app.add_css_file(ZH_CSS, priority=900)  # after the book's CSS (html_css_files: 800)
        words = glossary_terms_zh(Path(app.srcdir) / "book" / "glossary.md")
        dictionary = Path(app.doctreedir) / "search-words-zh.txt"
        dictionary.parent.mkdir(parents=True, exist_ok=True)
        dictionary.write_text("".join(f"{w} 100000 n\n" for w in words), encoding="utf-8")
        config.html_search_options = {**(config.html_search_options or {}), "dict": str(dictionary)}
        config.bibtex_bibfiles = [references.write_zh_bib(Path(app.srcdir))]
        config.bibtex_default_style = references.ZH_STYLE


_GLOSSARY_TERM = re.compile(r"^(\S[^\n(]*?) \((.+)\)$", re.M)
_CJK_WORD = re.compile(r"[\u4e00-\u9fff]{2,}")


def glossary_terms_zh(glossary: Path) -> list[str]:
    """The Chinese words of the glossary's terms (``weight decay (权重衰减)``), for the search:
    Sphinx indexes Chinese with jieba, which splits 权重衰减 into 权重 and 衰减 unless its
    dictionary knows the term; with it, a reader's query 权重衰减 finds the pages (and 权重
    still does: jieba's search mode indexes the parts too)."""
    words = []
    for term, chinese in _GLOSSARY_TERM.findall(glossary.read_text(encoding="utf-8")):
        if not term.startswith("#"):  # not the page's title
            words += _CJK_WORD.findall(chinese)
    return list(dict.fromkeys(words))


_GLUE_ROLE = re.compile(r"\{glue(:[a-z]+)?\}`([^`]+)`")


def _glue_from(text: str, notebook: str) -> str:
    """Every glue role of ``text`` that names no notebook, made to name ``notebook``.

    ``{glue:text}`` splits a format spec off at the last colon, so a named key gets the
    format ``s`` (the text as stored) unless it has a format of its own."""

    def named(m):
        role, key = m.group(1) or "", m.group(2)
        if "::" in key:
            return m.group(0)
        spec = ":s" if role == ":text" and ":" not in key else ""
        return f"{{glue{role}}}`{notebook}::{key}{spec}`"

    return _GLUE_ROLE.sub(named, text)


_NUMBERED = re.compile(r"^(\d+)\. ")


def _numbered_title(text: str) -> str:
    """A translated message that starts like "3. " would be parsed as a numbered list, not as
    the heading it translates (Sphinx then keeps the English): escape its full stop."""
    return _NUMBERED.sub(r"\1\\. ", text)


def compile_catalogues(app):
    """Compile the edition's ``.po`` files into ``.mo`` ourselves, before Sphinx would.

    A translated message is parsed again on its own, outside its notebook, where MyST-NB
    cannot find the notebook's glued values ({glue:text}`key` fails). So the compiled
    messages name their notebook: {glue:text}`/book/chapter.ipynb::key`, a reference MyST-NB
    resolves after reading (from the glue cache of that notebook). Translators write the
    same role as the English. A translated heading that starts like "3. " is escaped so that
    it stays a heading (:func:`_numbered_title`). Sphinx then finds the ``.mo`` files up to
    date."""
    if not is_zh(app):
        return
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    src = Path(app.srcdir)
    for locale_dir in app.config.locale_dirs:
        base = src / locale_dir / app.config.language / "LC_MESSAGES"
        for po in sorted(base.rglob("*.po")):
            docname = po.relative_to(base).with_suffix("").as_posix()
            source = src / f"{docname}.ipynb"
            with po.open("rb") as f:
                catalog = read_po(f)
            for message in catalog:
                if message.id and isinstance(message.string, str):
                    message.string = _numbered_title(message.string)
                    if source.exists():
                        message.string = _glue_from(message.string, f"/{docname}.ipynb")
            with po.with_suffix(".mo").open("wb") as f:
                write_mo(f, catalog, use_fuzzy=False)


def translate_toc_captions(app, doctree):
    """The table of contents' part captions in the edition's language.

    sphinx-external-toc adds the toctrees after Sphinx has translated the page, so their
    captions (extracted into the root page's catalogue) are translated here, from it."""
    if not is_zh(app):
        return
    from sphinx import addnodes
    from sphinx.locale import init as init_locale
    from sphinx.util.i18n import docname_to_domain

    docname = app.env.docname
    domain = docname_to_domain(docname, app.config.gettext_compact)
    dirs = [str(Path(app.srcdir) / d) for d in app.config.locale_dirs]
    catalog, _ = init_locale(dirs, app.config.language, domain)
    for toctree in doctree.findall(addnodes.toctree):
        caption = toctree.get("caption")
        if caption:
            toctree["caption"] = catalog.gettext(caption)


def _language_switch(pagename: str, zh: bool) -> str:
    """A link to the same page in the other edition (English at the root, Chinese under zh/)."""
    up = "../" * pagename.count("/")
    if zh:
        href, label, lang, name = f"../{up}{pagename}.html", "English", "en", "English edition"
    else:
        href, label, lang, name = (
            f"{up}{editions.SITE_FOLDER}/{pagename}.html",
            editions.SWITCH_TO_ZH,
            editions.HTML_LANG,
            "中文版",
        )
    return (
        f'<nav class="decaylab-lang-switch" aria-label="{"语言" if zh else "Language"}">'
        f'<a href="{esc(href)}" hreflang="{lang}" lang="{lang}" title="{esc(name)}">{esc(label)}</a></nav>'
    )


_STORED_BOX = re.compile(r'^<div id="claim-([a-z0-9-]+)" class="decaylab-claim ')


@functools.lru_cache(maxsize=2)
def _records_by_id(root: str, stamp: tuple) -> dict:
    return {r.id: r for r in files.collect_records(Path(root))}


def render_boxes(app, doctree, docname):
    """Every verdict box a notebook stored (English, made by
    :meth:`decaylab.claims.ClaimRecord.to_html`) is rendered again from its claim record, in
    the edition's words and folded (:func:`decaylab_book.boxes.render_folded`): the verdict,
    statement and result in view, the checks, rule and note behind a disclosure. The notebooks
    hold English only, so changing a translation re-executes nothing."""
    edition = editions.CHINESE if is_zh(app) else editions.ENGLISH
    root = Path(app.srcdir)
    stamp = tuple(p.stat().st_mtime_ns for p in files.notebooks(root))
    records = None
    for node in list(doctree.findall(nodes.raw)):
        m = _STORED_BOX.match(node.astext())
        if not m:
            continue
        records = records or _records_by_id(str(root), stamp)
        rec = records.get(m.group(1))
        if rec is None:  # every stored box has its record: collect_records reads the same output
            raise ValueError(f"{docname}: a verdict box {m.group(1)!r} has no claim record")
        node.replace(node.children[0], nodes.Text(boxes.render_folded(rec, edition)))


def translate_alts(app, doctree, docname):
    """In the Chinese edition, the alt text of every figure (cell metadata, English) is
    replaced by its translation from the chapter's claims catalogue, where
    ``make translations`` put it; a figure without one stops the build."""
    if not is_zh(app):
        return
    for node in doctree.findall(nodes.image):
        alt = node.get("alt")
        if not alt:
            continue
        chinese = editions.CHINESE.translation(alt)
        if chinese is None:
            raise ExtensionError(
                f"{docname}: a figure's alt text has no Chinese in locales/ (run `make translations`): {alt[:80]!r}"
            )
        node["alt"] = chinese


def language_switch_in_body(app, pagename, templatename, context, doctree):
    if "body" in context:
        context["body"] = _language_switch(pagename, is_zh(app)) + context["body"]


#: Words of the theme and of upstream extensions that the Chinese edition would show in English
#: (no zh_CN message for them in their catalogues at the pinned versions): replaced in every
#: built page of the edition. A test checks that none of the English is left.
UI_ZH = {
    'title="Link to this heading"': 'title="链接到此标题"',
    'title="Link to this term"': 'title="链接到此术语"',
    'title="Link to this image"': 'title="链接到此图片"',
    'aria-label="Toggle hidden content"': 'aria-label="显示或隐藏内容"',
    'placeholder="Search this book..."': 'placeholder="搜索本书……"',
    'aria-label="Search this book..."': 'aria-label="搜索本书"',
    'title="Toggle primary sidebar"': 'title="显示或隐藏目录"',
    'title="Toggle secondary sidebar"': 'title="显示或隐藏本页目录"',
    'title="System Settings"': 'title="跟随系统设置"',
    'aria-label="Color mode"': 'aria-label="颜色模式"',
    'data-bs-title="Color mode"': 'data-bs-title="颜色模式"',
    'aria-label="Main"': 'aria-label="主导航"',
    'aria-label="Page"': 'aria-label="本页"',
    "© Copyright ": "© 版权所有 ",
}


def translate_ui(app, exception):
    """Put :data:`UI_ZH` into the Chinese edition's pages at the end of the build."""
    if exception is not None or app.builder.format != "html" or not is_zh(app):
        return
    for page in Path(app.outdir).rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        new = text
        for english, chinese in UI_ZH.items():
            new = new.replace(english, chinese)
        if new != text:
            page.write_text(new, encoding="utf-8")
