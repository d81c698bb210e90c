"""The strict book build: no warnings, no broken references, and the pages show the verified outputs.

The book renders the outputs stored in the notebooks (execute_notebooks: off), the same
outputs tests/test_outputs.py compares. The ``built_site`` fixture (conftest.py) builds the whole book with
warnings as errors into ``_build/html``; these tests check what a reader sees in the HTML.
"""

import html
import re
from pathlib import Path

import nbformat
import pytest

from decaylab.claims import METADATA_KEY
from decaylab_book.files import ROOT, collect_records, ignored_cells, notebooks
from decaylab_book.ledger import SEED_CLAIMS

pytestmark = pytest.mark.build  # a tier of `make test`, not of `make check`


@pytest.fixture(scope="module")
def built(built_site) -> Path:
    return built_site


def page(built: Path, nb_path: Path) -> str:
    rel = nb_path.relative_to(ROOT).with_suffix(".html")
    return (built / rel).read_text(encoding="utf-8")


def text_of(html_source: str) -> str:
    text = html.unescape(re.sub(r"<[^>]+>", "", html_source))
    return (
        text.replace("\u2019", "'").replace("\u2018", "'").replace("\u201c", '"').replace("\u201d", '"')
    )  # smartquotes


@pytest.mark.parametrize("nb_path", notebooks(), ids=lambda p: p.name)
def test_page_shows_every_stored_output(built, nb_path):
    source = page(built, nb_path)
    text = text_of(source)
    nb = nbformat.read(nb_path, as_version=4)
    n_claims = n_images = 0
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.output_type == "stream":
                for line in out.text.strip().splitlines():
                    assert line.strip() in text, f"printed line not on the page: {line!r}"
            data = out.get("data", {})
            n_images += "image/png" in data
            n_claims += METADATA_KEY in out.get("metadata", {})
    # each stored box once, with its anchor (the box, not its parts: decaylab-claim-head ...);
    # the chapter's opening answer is a second, unanchored copy of one of them
    assert len(re.findall(r'<div id="claim-[^"]+" class="decaylab-claim ', source)) == n_claims
    images = re.findall(r'<img[^>]+src="([^"]+)"', source)
    assert len([i for i in images if "_images/" in i]) >= n_images
    for src in images:
        assert (built / nb_path.relative_to(ROOT).parent / src).resolve().exists(), f"missing image {src}"
    assert "output stderr" not in source and "traceback" not in source.lower()


def test_paddle_chapter_shows_deltas_table_and_figure(built):
    source = page(built, ROOT / "book" / "paddle_regularizers.ipynb")
    text = text_of(source)
    assert "weight change with L2Decay(0.1):" in text
    assert "weight change with 0.5*coeff*sum(w**2) in the loss:" in text
    tables = re.findall(r"<table.*?</table>", source, flags=re.S)
    precedence = [t for t in tables if "ParamAttr L2Decay(0.01)" in t]
    assert precedence, "the measured precedence table is not rendered as a table"
    assert "L2 0.01 + decoupled 0.1" in precedence[0]
    assert re.search(r'<img[^>]+src="[^"]*_images/[^"]+\.png"', source), "no figure on the page"


def test_landing_page_links_the_chapters(built):
    source = (built / "book" / "intro.html").read_text(encoding="utf-8")
    assert 'href="paddle_regularizers.html"' in source
    assert (built / "index.html").exists()


def test_ledger_lists_every_seed_claim_with_a_working_link(built):
    source = (built / "book" / "claims_ledger.html").read_text(encoding="utf-8")
    text = text_of(source)
    for seed in SEED_CLAIMS:
        assert seed.claim in text, f"seed claim missing from the ledger page: {seed.claim!r}"
        assert f"#claim-{seed.checked_by}" in source
    for href in re.findall(r'href="([^"#]+\.html)#(claim-[^"]+)"', source):
        page_path, anchor = href
        target = (built / "book" / page_path).read_text(encoding="utf-8")
        assert f'id="{anchor}"' in target, f"ledger link to {page_path}#{anchor} has no target"


def test_site_loads_nothing_from_other_hosts(built):
    for page in built.rglob("*.html"):
        source = page.read_text(encoding="utf-8")
        external = re.findall(r'<(?:script|link|img)[^>]+(?:src|href)="(https?://[^"]+)"', source)
        external = [u for u in external if not u.startswith("https://github.com")]
        assert not external, f"{page.relative_to(built)} loads {external}"


def test_no_launch_buttons(built):
    # a launched notebook fails at its first import (no decaylab, no Paddle): no button
    for page in built.rglob("*.html"):
        source = page.read_text(encoding="utf-8")
        for host in ("mybinder.org", "colab.research.google.com", "/./book/"):
            assert host not in source, f"{page.relative_to(built)} links {host}"


def test_site_ships_no_source_maps_and_no_font_awesome_script(built):
    assert not list(built.rglob("*.map")), "source maps are shipped"
    assert not (built / "_static" / "scripts" / "fontawesome.js").exists()
    icons = (built / "_static" / "decaylab-icons.css").read_text(encoding="utf-8")
    for page in built.rglob("*.html"):
        source = page.read_text(encoding="utf-8")
        assert "fontawesome.js" not in source, f"{page.relative_to(built)} loads Font Awesome's script"
        assert "sourceMappingURL" not in source
        for classes in re.findall(r'class="([^"]*\bfa-(?!solid|brands|regular|lg|fw)[^"]*)"', source):
            name = next(
                w
                for w in classes.split()
                if w.startswith("fa-") and w not in ("fa-solid", "fa-brands", "fa-regular", "fa-lg")
            )
            assert f".{name}{{" in icons or f".{name}," in icons, (
                f"icon {name} has no rule in decaylab-icons.css"
            )


def test_each_post_has_a_key_on_the_landing_page_and_the_ledger(built):
    from pybtex.database import parse_file

    from decaylab.claims import POSTS

    entries = parse_file(str(ROOT / "book" / "references.bib")).entries
    for name in ("intro", "claims_ledger"):
        source = (built / "book" / f"{name}.html").read_text(encoding="utf-8")
        text = text_of(source)
        for post in POSTS:
            assert f'id="post-{post}"' in source, f"{name}: no key for post {post}"
            title = entries[f"post{post}"].fields["title"].replace("{", "").replace("}", "")
            assert title in text, f"{name}: post {post}'s title is not shown"


def test_citation_labels_are_post_numbers_and_titles_keep_their_case(built):
    source = (built / "book" / "references.html").read_text(encoding="utf-8")
    text = text_of(source)
    for post in ("000", "001", "002", "003"):
        assert f"[post {post}]" in text.replace("\n", ""), f"post {post} is not labelled [post {post}]"
    for wrong in ("in chinese", "Torch.optim", "Sklearn.datasets"):
        assert wrong not in text, f"the bibliography prints {wrong!r}"
    chapter = (built / "book" / "torch_weight_decay.html").read_text(encoding="utf-8")
    assert "post 001" in text_of(chapter)


def test_ledger_lists_the_anchors_claims(built):
    from decaylab.claims import ANCHORS

    source = (built / "book" / "claims_ledger.html").read_text(encoding="utf-8")
    for rec in collect_records():
        if rec.source in ANCHORS:
            assert f"#claim-{rec.id}" in source, f"anchor claim {rec.id} is not in the ledger"
            assert html.escape(ANCHORS[rec.source]) in source


def test_reproducibility_page_lists_every_cell_whose_output_is_not_compared(built):
    text = text_of((built / "book" / "reproducibility.html").read_text(encoding="utf-8"))
    for cell in ignored_cells():
        assert cell.reason in text, (
            f"{cell.notebook}: the reason {cell.reason!r} is not on the reproducibility page"
        )


def test_checklist_links_every_claim_of_its_notebook(built):

    page = ROOT / "book" / "checklist.md"
    names = re.findall(r"```\{claims-checklist\}\s*\n:notebook:\s*(\S+)", page.read_text(encoding="utf-8"))
    source = (built / "book" / "checklist.html").read_text(encoding="utf-8")
    records = collect_records()
    for name in names:
        for rec in (r for r in records if r.notebook == name):
            assert f'{name}.html#claim-{rec.id}"' in source, f"checklist: no link to {rec.id}"


def test_figures_link_to_their_full_size_image(built):
    for nb_path in notebooks():
        source = page(built, nb_path)
        for img in re.findall(r"<img[^>]+_images/[^>]+>", source):
            assert "decaylab-figure-image" in img, f"{nb_path.name}: a figure is not sized for the column"
        n_images = len(re.findall(r"<img[^>]+_images/", source))
        n_linked = len(re.findall(r'<a class="[^"]*image-reference[^"]*" href="[^"]*_images/', source))
        assert n_linked == n_images, (
            f"{nb_path.name}: {n_images - n_linked} figures do not link to the full image"
        )


def visible_cjk(site_pages: list[Path]) -> set[str]:
    """The CJK characters the pages show: their text, without scripts and styles."""
    from decaylab_book.fonts import CJK

    chars: set[str] = set()
    for path in site_pages:
        source = re.sub(r"<(script|style)\b.*?</\1>", " ", path.read_text(encoding="utf-8"), flags=re.S)
        text = re.sub(r"<[^>]+>", " ", source)  # text only: attributes are not drawn
        chars |= set(CJK.findall(html.unescape(text)))
    return chars


def test_cjk_fonts_hold_every_chinese_character_the_pages_show(built):
    from decaylab_book.fonts import FONT, FONT_ZH, font_chars

    zh_site = built / "zh"
    english = [p for p in built.rglob("*.html") if zh_site not in p.parents]
    chinese = list(zh_site.rglob("*.html"))
    assert chinese, "the Chinese edition was not built into _build/html/zh"
    for pages, font in ((english, FONT), (chinese, FONT_ZH)):
        missing = visible_cjk(pages) - font_chars(font)
        assert not missing, (
            f"{''.join(sorted(missing))} shown but not in {font.name}: run `make translations`"
        )


def test_figures_have_real_alt_text(built):
    # the alt text comes from the cell's metadata (mystnb.image.alt), not the file's hash name
    for nb_path in notebooks():
        for alt in re.findall(r'<img alt="([^"]*)"[^>]+_images/', page(built, nb_path)):
            assert alt.strip() and not alt.endswith(".png"), f"{nb_path.name}: a figure's alt text is {alt!r}"


def test_chinese_edition_labels_hidden_code_in_chinese(built):
    from decaylab_book.sphinx.edition import ZH_CODE_PROMPTS

    for nb_path in notebooks():
        if "hide-input" not in nb_path.read_text(encoding="utf-8"):
            continue
        chinese = page(built / "zh", nb_path)
        assert "Show code cell source" in page(built, nb_path)
        assert "Show code cell" not in chinese, f"{nb_path.name}: a code toggle is labelled in English"
        assert ZH_CODE_PROMPTS[0] in chinese


def test_a_translation_edit_reaches_the_chinese_page_with_no_notebook_executed(built):
    """The fixture built with one claim translation edited (conftest.EDITED_CHAPTER) and checked
    that no notebook changed; the Chinese page shows the edit, the English one the English."""
    from conftest import EDIT, EDITED_CHAPTER

    msgid, msgstr = (built / ".edited-translation").read_text(encoding="utf-8").split("\n")
    assert msgstr.endswith(EDIT)
    zh_page = (built / "zh" / "book" / f"{EDITED_CHAPTER}.html").read_text(encoding="utf-8")
    en_page = (built / "book" / f"{EDITED_CHAPTER}.html").read_text(encoding="utf-8")
    assert html.escape(msgstr) in zh_page
    assert html.escape(msgid) in en_page and EDIT not in en_page


def test_every_chinese_verdict_box_is_rendered_from_its_record(built):
    """Each stored (English) box is replaced, in the Chinese edition, by the record rendered in
    Chinese: no English verdict heading is left, and every record's box is on its chapter's page."""
    from decaylab_book import boxes
    from decaylab_book.editions import CHINESE

    for nb_path in notebooks():
        zh_page = page(built / "zh", nb_path)
        for rec in [r for r in collect_records() if r.notebook == nb_path.stem]:
            assert f'id="claim-{rec.id}"' in zh_page
        for heading in ("HOLDS", "DOES NOT HOLD", "NOT SETTLED AT THIS SCALE"):
            assert f'class="decaylab-claim-verdict">{heading}' not in zh_page, nb_path.name
    assert boxes.render(collect_records()[0], CHINESE).startswith('<div id="claim-')


def test_the_chinese_search_finds_the_glossary_s_terms(built):
    """The Chinese edition's search index holds Chinese words (Sphinx needs jieba for that), and
    the glossary's terms whole: a reader's query 权重衰减 finds the pages that use it."""
    import json

    from decaylab_book.sphinx.edition import glossary_terms_zh

    source = (built / "zh" / "searchindex.js").read_text(encoding="utf-8")
    terms = json.loads(source[source.index("(") + 1 : source.rindex(")")])["terms"]
    words = glossary_terms_zh(ROOT / "book" / "glossary.md")
    assert "权重衰减" in words and "正则化" in words
    missing = [w for w in words if w not in terms]
    assert not missing, f"the Chinese search index lacks {missing}"

    def pages(word):
        found = terms[word]
        return len(found) if isinstance(found, list) else 1

    assert pages("权重衰减") >= 5 and pages("学习率衰减") >= 3


def test_chinese_pages_show_the_checks_values_in_chinese(built):
    """What close() writes ("agree within ...") is translated wherever the Chinese edition shows a
    record (boxes, ledger, checklist), and a label meets its value with a full-width colon."""
    for page_path in sorted((built / "zh" / "book").glob("*.html")):
        text = page_path.read_text(encoding="utf-8")
        assert "agree within" not in text, f"zh/{page_path.name} shows 'agree within' in English"
        assert "</span>: <code>" not in text and not re.search(r"[\u4e00-\u9fff]: <code>", text), (
            f"zh/{page_path.name}: a half-width colon after a Chinese label"
        )


def test_the_chinese_edition_s_interface_is_in_chinese(built):
    """The theme's and extensions' words that upstream leaves in English (sphinx.edition.UI_ZH)
    are replaced on every Chinese page, the footer names the authors in Chinese."""
    from decaylab_book.sphinx.edition import UI_ZH

    for page_path in sorted((built / "zh").rglob("*.html")):
        text = page_path.read_text(encoding="utf-8")
        left = [english for english in UI_ZH if english in text]
        assert not left, f"{page_path.relative_to(built)} still shows {left}"
        assert "The Weight Decay, Verified authors" not in text, (
            f"{page_path.relative_to(built)}: English author"
        )


def test_the_chinese_references_page_is_chinese(built):
    """The Chinese edition's bibliography takes each entry's ``_zh`` fields (references.bib):
    the posts labelled 博文, their Chinese titles, Paddle's Chinese documentation (the ``_cn``
    pages the posts cite), 《动手学深度学习》 by its name."""
    text = text_of((built / "zh" / "book" / "references.html").read_text(encoding="utf-8")).replace("\n", "")
    for post in ("000", "001", "002", "003"):
        assert f"[博文 {post}]" in text, f"post {post} is not labelled [博文 {post}] in the Chinese edition"
    source = (built / "zh" / "book" / "references.html").read_text(encoding="utf-8")
    assert "documentation/docs/zh/api/paddle/regularizer/L2Decay_cn.html" in source
    assert "_en.html" not in source
    for chinese in ("权重衰减和学习率衰减", "《动手学深度学习》", "飞桨（PaddlePaddle）中文文档"):
        assert chinese in text, f"the Chinese bibliography lacks {chinese!r}"
    for english in ("In Chinese", "Stack Overflow question", "title given by this book"):
        assert english not in text, f"the Chinese bibliography still says {english!r}"


def test_every_chinese_figure_has_chinese_alt_text(built):
    for nb_path in notebooks():
        html = (built / "zh" / "book" / f"{nb_path.stem}.html").read_text(encoding="utf-8")
        for alt in re.findall(r'<img alt="([^"]*)"[^>]+_images/', html):
            assert re.search(r"[\u4e00-\u9fff]", alt), (
                f"{nb_path.name}: an English alt text in Chinese: {alt[:60]!r}"
            )


def test_each_chapter_numbers_its_own_figures(built):
    for nb_path in notebooks():
        for folder, word in (("", "Figure"), ("zh", "图")):
            html = (built / folder / "book" / f"{nb_path.stem}.html").read_text(encoding="utf-8")
            found = re.findall(rf'class="decaylab-figure-number">{word} (\d+)', html)
            assert found == [str(k) for k in range(1, len(found) + 1)], (nb_path.name, folder, found)
            assert "Fig. " not in text_of(html), f"{nb_path.name}: Sphinx's book-wide figure number"
