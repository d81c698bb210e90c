"""The strict book build: no warnings, no broken references, and the pages show the verified outputs.

The book renders the outputs stored in the notebooks (execute_notebooks: off), the same
outputs nbval compares. The ``built_site`` fixture (conftest.py) builds the whole book with
warnings as errors into ``_build/html``; these tests check what a reader sees in the HTML.
"""

import html
import re
from pathlib import Path

import nbformat
import pytest
from bookfiles import ROOT, notebooks

from decaylab.claims import METADATA_KEY
from decaylab.ledger import SEED_CLAIMS


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
    assert source.count('class="decaylab-claim') == n_claims
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
        external = [
            u
            for u in external
            if not u.startswith(("https://github.com", "https://mybinder.org", "https://colab"))
        ]
        assert not external, f"{page.relative_to(built)} loads {external}"


def test_cjk_font_has_every_chinese_character_the_book_uses():
    from cjk_font import FONT, font_chars, used_cjk_chars

    missing = used_cjk_chars() - font_chars(FONT)
    assert not missing, f"{''.join(sorted(missing))} not in {FONT.name}: run `python tests/cjk_font.py`"
