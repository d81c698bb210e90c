"""Open every page of the table of contents in a real headless Chromium, with the network blocked,
at desktop width, at phone width and in dark mode.

Each page is loaded in three modes: ``desktop`` (1280×800, light theme), ``phone`` (390×844,
touch, light theme) and ``dark`` (1280×800, dark theme). In each mode a page fails if

* it does not load, requests anything that is not a file of the built site, requests a file
  that is missing, raises a JavaScript error, leaves math untypeset, shows an image that does
  not load, shows Chinese text without the site's own CJK font (Chromium is asked which
  font drew each element's Chinese text: a system font means boxes on a machine without
  Chinese fonts), or shows an error output;
* axe-core (bundled with ``axe-playwright-python``; nothing is downloaded) reports a
  violation of a WCAG 2 A/AA rule with impact "serious" or "critical", colour contrast
  included, in the light (desktop) and the dark theme (the phone shows the same colours);
* a table cell is narrower than its longest word (with every ``details`` disclosure opened,
  so the evidence a reader can open counts too): for every visible ``td``/``th``, each
  word of its text (a run of non-space characters, split after hyphens and around each
  Chinese character, where browsers may break a line) is measured in the font of the element that holds it; the widest must fit
  in the cell's content box (1 px tolerance). This is what makes "Po/st" and "00/1";
* a result line is hidden by horizontal overflow: every ``pre`` of a cell output (printed
  text and text results) must show its longest line without scrolling (``scrollWidth <=
  clientWidth + 1``), and the page itself must not scroll sideways. Code inputs may scroll
  (they are not results); tables in outputs may scroll (their first column stays in view
  and a shadow shows that there is more);
* on a phone, tapping the navigation button does not open the navigation (the sidebar's
  links must become visible inside the viewport);
* its link to the other edition (``.decaylab-lang-switch``) is missing or leads to a file
  that does not exist, or the page's language (``<html lang>``) is not its edition's;
* in the Chinese edition: a paragraph, list item, heading or caption of the text shows six
  or more English words and no Chinese (its translation was not applied); code, math,
  outputs and the bibliography are left out.

Both editions are checked: every page of the English edition (``_build/html``) and of the
Chinese edition (``_build/html/zh``). A screenshot of each page in each mode is saved as
``_build/screenshots/<page>-<mode>.png`` (``zh-<page>-<mode>.png`` for the Chinese edition).
``test_checker_catches_a_broken_page`` proves that every check fails on a page built to
break it.

Needs Chromium: Debian's ``chromium`` package (``apt-get install chromium``), or the path of
another Chromium/Chrome binary in the environment variable ``CHROMIUM``. ``.ci/run``
installs it. Without it these tests fail and say how to get it.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
import yaml

from decaylab_book.files import ROOT

pytestmark = pytest.mark.browser  # a tier of `make test`, not of `make check`

ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--allow-file-access-from-files",
]

MODES = {
    "desktop": {"viewport": {"width": 1280, "height": 800}, "color_scheme": "light"},
    "phone": {
        "viewport": {"width": 390, "height": 844},
        "color_scheme": "light",
        "is_mobile": True,
        "has_touch": True,
        "device_scale_factor": 1,
    },
    "dark": {"viewport": {"width": 1280, "height": 800}, "color_scheme": "dark"},
}
SCREENSHOTS = ROOT / "_build" / "screenshots"
#: The editions: the folder under _build/html, and the language its pages declare.
EDITIONS = {"en": ("", "en"), "zh": ("zh", "zh-CN")}


def chromium_path() -> str:
    for candidate in (os.environ.get("CHROMIUM"), shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and Path(candidate).exists():
            return candidate
    pytest.fail(
        "Chromium not found: install Debian's package (apt-get install chromium) or set CHROMIUM to the path "
        "of a Chromium or Chrome binary. The browser test needs a real browser; it is not skipped."
    )


def toc_pages() -> list[str]:
    """The documents of _toc.yml, in order (root first), as paths without suffix."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    pages = [toc["root"]]
    for part in toc.get("parts", []):
        pages += [chapter["file"] for chapter in part["chapters"]]
    return pages


#: Fontconfig for the browser: the machine's fonts without any Chinese one, so that the test
#: sees what a reader without Chinese fonts sees (boxes, unless the site's own subset loads),
#: also on a machine where `make translations` needed Debian's fonts-noto-cjk installed.
FONTS_CONF = """<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig>
  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>
  <cachedir>{cache}</cachedir>
  <selectfont><rejectfont>
    <glob>*CJK*</glob><glob>*/wqy*</glob><glob>*/arphic*</glob><glob>*/droid/*Fallback*</glob>
  </rejectfont></selectfont>
</fontconfig>
"""


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    from playwright.sync_api import sync_playwright

    path = chromium_path()
    folder = tmp_path_factory.mktemp("fontconfig")
    conf = folder / "fonts.conf"
    conf.write_text(FONTS_CONF.format(cache=folder / "cache"), encoding="utf-8")
    env = {**os.environ, "FONTCONFIG_FILE": str(conf)}
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=path, args=ARGS, headless=True, env=env)
        yield b
        b.close()


@pytest.fixture(scope="module")
def contexts(browser):
    """One browser context per mode, shared by the pages (opening one per page is slow)."""
    made = {}
    for mode, options in MODES.items():
        context = browser.new_context(**options)
        theme = "dark" if options["color_scheme"] == "dark" else "light"
        # pydata-sphinx-theme reads the reader's choice from localStorage ("mode").
        context.add_init_script(f"try {{ localStorage.setItem('mode', '{theme}'); }} catch (e) {{}}")
        made[mode] = context
    yield made
    for context in made.values():
        context.close()


# ----------------------------------------------------------------------------- the checks

NARROW_CELLS_JS = """() => {
  const canvas = document.createElement('canvas'), ctx = canvas.getContext('2d');
  const problems = [];
  const visible = el => el.checkVisibility({checkVisibilityCSS: true});
  for (const cell of document.querySelectorAll('td, th')) {
    if (!visible(cell)) continue;  // hidden (display, visibility, closed disclosure)
    const group = cell.closest('thead, tbody, table');
    if (group.getBoundingClientRect().width <= 1) continue;  // visually hidden (headers of cards)
    const style = getComputedStyle(cell);
    const inner = cell.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
    let worst = null, worstWidth = 0;
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const parent = node.parentElement;
      if (!parent || !visible(parent)) continue;
      ctx.font = getComputedStyle(parent).font;
      for (const run of node.textContent.split(/\\s+/)) {
        // a line may break after a hyphen, and before and after every CJK character
        for (const word of run.split(/(?<=-)|(?<=[\\u3000-\\u9fff\\uff00-\\uffef])|(?=[\\u3000-\\u9fff\\uff00-\\uffef])/)) {
          if (!word) continue;
          const w = ctx.measureText(word).width;
          if (w > worstWidth) { worstWidth = w; worst = word; }
        }
      }
    }
    if (worst && worstWidth > inner + 1) {
      problems.push(`table cell ${Math.round(inner)} px wide is narrower than its word `
        + `"${worst.slice(0, 40)}" (${Math.round(worstWidth)} px)`);
    }
  }
  return problems;
}"""

HIDDEN_RESULTS_JS = """() => {
  const problems = [];
  for (const pre of document.querySelectorAll('.cell_output pre, .output pre')) {
    if (!pre.checkVisibility({checkVisibilityCSS: true})) continue;
    if (pre.scrollWidth > pre.clientWidth + 1) {
      const lines = pre.textContent.split('\\n');
      const longest = lines.reduce((a, b) => (b.length > a.length ? b : a), '');
      problems.push(`result line hidden by horizontal overflow (${pre.scrollWidth} px in `
        + `${pre.clientWidth} px): "${longest.trim().slice(0, 60)}" (${longest.length} characters)`);
    }
  }
  const doc = document.documentElement;
  if (doc.scrollWidth > doc.clientWidth + 1) {
    problems.push(`the page scrolls sideways (${doc.scrollWidth} px wide in a ${doc.clientWidth} px window)`);
  }
  return problems;
}"""

NAV_VISIBLE_JS = """(selector) => {
  const w = window.innerWidth, h = window.innerHeight;
  return Array.from(document.querySelectorAll(selector)).some(a => {
    const r = a.getBoundingClientRect();
    const s = getComputedStyle(a);
    return r.width > 0 && r.height > 0 && r.left >= 0 && r.right <= w + 1 && r.top >= 0 && r.top < h
      && s.visibility !== 'hidden' && parseFloat(s.opacity || '1') > 0;
  });
}"""
# the links of the site navigation, and of the page's contents (the secondary sidebar)
PRIMARY_LINKS = "#pst-primary-sidebar-modal a, .bd-sidebar-primary a.reference, .bd-sidebar-primary nav a"
SECONDARY_LINKS = "#pst-secondary-sidebar-modal a, .bd-sidebar-secondary a"


def load(page, url: str, problems: list[str]) -> None:
    def route(r):
        if r.request.url.startswith("file://"):
            r.continue_()
        else:
            problems.append(f"request leaves the site: {r.request.url}")
            r.abort()

    page.route("**/*", route)
    page.on(
        "requestfailed",
        lambda req: req.url.startswith("file://") and problems.append(f"missing file: {req.url}"),
    )
    page.on("pageerror", lambda exc: problems.append(f"JavaScript error: {exc}"))
    response = page.goto(url, wait_until="load", timeout=60_000)
    if response is not None and not response.ok:
        problems.append(f"page did not load: {url}")


#: Names the Chinese text keeps in Latin letters (frameworks, optimizers, schedulers, layers, tools).
LATIN_NAMES = (
    "PyTorch Paddle PaddlePaddle Keras TensorFlow AdamW Adam SGDW SGD Momentum MNIST Lion Muon Jupyter "
    "JupyterLab Book Chromium Debian NumPy Python LayerNorm BatchNorm CyclicLR ReduceLROnPlateau "
    "ExponentialLR StepLR OneCycleLR CosineAnnealingLR MLP ParamAttr Decay Optax MyST Sphinx ResNet et al"
).split()

UNTRANSLATED_JS = """(names) => {
  // Runs of three or more English words of prose on a Chinese page, and in the attributes a
  // reader meets (alt text, labels, tooltips, placeholders). Not counted: code, outputs, math,
  // citations (the bibliography, the tooltips of links to it), quotations (titles and messages
  // quoted in their own language), the glossary's English terms, and names.
  const skip = 'pre, code, kbd, .cell_output, .output, .math, mjx-container, .bibliography, .citation, '
    + '.decaylab-post-key, .decaylab-lang-switch, dl.glossary > dt, script, style';
  const NAME = new Set(names);
  const runs = text => {
    // quotations, and titles (with the original's name in brackets after a Chinese title)
    text = text.replace(/《[^》]*》(（[^）]*）)?|[“"「][^”"」]*[”"」]/g, ' ');
    const out = [];
    for (const m of text.matchAll(/(?<![-\\w.\\/])[A-Za-z][a-z]+(?: +[A-Za-z][a-z]+){2,}(?![-\\w\\/])/g)) {
      if (m[0].split(/ +/).filter(w => !NAME.has(w)).length >= 3) out.push(m[0]);
    }
    return out;
  };
  const problems = [], seen = new Set();
  const report = (what, run) => {
    if (!seen.has(what + run)) { seen.add(what + run); problems.push(`untranslated ${what}: "${run.slice(0, 70)}"`); }
  };
  const prose = 'article p, article li, article h1, article h2, article h3, article figcaption, article dt, '
    + 'article dd, article td, article th, article caption, article summary, article label, article button, '
    + 'article legend, article option';
  for (const el of document.querySelectorAll(prose)) {
    if (el.closest(skip) || !el.checkVisibility({checkVisibilityCSS: true})) continue;
    const clone = el.cloneNode(true);
    clone.querySelectorAll(skip + ', ul, ol, p, table').forEach(n => n.remove());
    runs(clone.textContent).forEach(r => report('text', r));
  }
  for (const el of document.querySelectorAll('[alt], [aria-label], [title], [placeholder]')) {
    if (el.closest('script, style, pre, .bibliography')) continue;
    for (const attr of ['alt', 'aria-label', 'title', 'placeholder']) {
      const value = el.getAttribute(attr);
      if (!value) continue;
      if (attr === 'title' && el.matches('a[href*="references.html"]')) continue;  // a citation
      runs(value).forEach(r => report(attr, r));
    }
  }
  return problems.slice(0, 8);
}"""


def edition_problems(page, url: str, edition: str) -> list[str]:
    """The page's language, its link to the other edition, and (Chinese edition) untranslated text."""
    from urllib.parse import unquote, urljoin, urlsplit

    problems = []
    lang = page.evaluate("() => document.documentElement.lang")
    if lang != EDITIONS[edition][1]:
        problems.append(f"the page declares lang={lang!r}, not {EDITIONS[edition][1]!r}")
    links = page.locator(".decaylab-lang-switch a")
    if links.count() != 1:
        problems.append(f"{links.count()} links to the other edition (want one)")
    else:
        target = Path(unquote(urlsplit(urljoin(url, links.first.get_attribute("href"))).path))
        if not target.is_file():
            problems.append(f"the link to the other edition leads nowhere: {target}")
    if edition == "zh":
        problems += page.evaluate(UNTRANSLATED_JS, LATIN_NAMES)
    return problems


CJK_ELEMENTS_JS = """(limit) => {
  // visible elements whose own text (not their children's) holds Chinese characters, marked
  const found = [];
  for (const el of document.querySelectorAll('body *')) {
    if (found.length >= limit) break;
    const own = Array.from(el.childNodes).filter(n => n.nodeType === 3).map(n => n.textContent).join('');
    if (!/[\\u4e00-\\u9fff]/.test(own) || !el.checkVisibility({checkVisibilityCSS: true})) continue;
    el.setAttribute('data-cjk-check', String(found.length));
    found.push(own.trim().slice(0, 30));
  }
  return found;
}"""


def cjk_font_problems(page, limit: int = 60) -> list[str]:
    """Elements whose Chinese text the browser draws with no web font: on a machine without
    Chinese fonts (CI's), that is boxes instead of characters. Asks Chromium (DevTools
    protocol) which fonts drew each element's text."""
    texts = page.evaluate(CJK_ELEMENTS_JS, limit)
    if not texts:
        return []
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument", {"depth": 0})["root"]["nodeId"]
    problems = []
    for i, text in enumerate(texts):
        node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": f'[data-cjk-check="{i}"]'})[
            "nodeId"
        ]
        fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
        if fonts and not any(f.get("isCustomFont") for f in fonts):
            used = ", ".join(sorted({f["familyName"] for f in fonts}))
            problems.append(f'Chinese text drawn without a CJK font ({used}): "{text}"')
    cdp.detach()
    return problems[:5]


def content_problems(page) -> list[str]:
    """Math, the CJK font, images and error outputs."""
    problems: list[str] = []
    n_math = page.locator(".math").count()
    if n_math:
        # a page that loads no MathJax at all fails at once; one that does gets 30 s to start it
        loads_mathjax = page.evaluate(
            "() => !!window.MathJax || !!document.querySelector('script[src*=\"mathjax\" i]')"
        )
        try:
            page.wait_for_function(
                "() => window.MathJax && MathJax.startup && MathJax.startup.promise",
                timeout=30_000 if loads_mathjax else 1,
            )
            page.evaluate("() => MathJax.startup.promise")
        except Exception as exc:  # MathJax never started
            problems.append(f"MathJax did not start ({type(exc).__name__})")
        typeset = page.locator("mjx-container").count()
        if typeset < n_math:
            problems.append(f"math not typeset: {typeset} of {n_math} formulas")
        if page.locator("mjx-merror").count():
            problems.append("MathJax reports errors in a formula")
    if page.evaluate("() => /[\\u4e00-\\u9fff]/.test(document.body.innerText)"):
        page.evaluate("() => document.fonts.ready")
        loaded = page.evaluate(
            "() => Array.from(document.fonts).some(f => f.family.includes('Decaylab CJK') && f.status === 'loaded')"
        )
        if not loaded:
            problems.append("Chinese text shown, but the site's own CJK font did not load")
        problems += cjk_font_problems(page)
    broken = page.evaluate(
        "() => Array.from(document.images).filter(i => i.loading !== 'lazy' && !(i.complete && i.naturalWidth > 0))"
        ".map(i => i.src)"
    )
    problems += [f"image does not load: {src}" for src in broken]
    errors = page.locator(".output.error, .output.traceback, .output.stderr, .cell_output .stderr").count()
    if errors:
        problems.append(f"{errors} error or stderr outputs rendered")
    return problems


AXE_OPTIONS = {
    "resultTypes": ["violations"],
    # the WCAG 2.x A and AA rules (colour contrast included); no best-practice rules
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]},
    # axe would fetch the style sheets again by XHR, resolving @import against the page
    "preload": False,
}


# The code of the cells is left to CODE_CONTRAST_JS: axe's colour-contrast rule on the
# thousands of highlighted tokens costs 20-30 s a page; their colours are a handful of pairs.
AXE_CONTEXT = {"exclude": [[".cell_input .highlight"]]}

CODE_CONTRAST_JS = """() => {
  const rgb = c => (c.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const background = el => {
    for (; el; el = el.parentElement) {
      const c = rgb(getComputedStyle(el).backgroundColor);
      if (c.length >= 3 && (c.length < 4 || c[3] > 0.5)) return c;
    }
    return [255, 255, 255];
  };
  const seen = new Set(), problems = [];
  for (const el of document.querySelectorAll('.cell_input .highlight pre, .cell_input .highlight pre span')) {
    if (!el.textContent.trim()) continue;
    const fg = getComputedStyle(el).color, bg = background(el);
    const key = fg + '|' + bg;
    if (seen.has(key)) continue;
    seen.add(key);
    const [a, b] = [lum(rgb(fg)), lum(bg)].sort((x, y) => y - x);
    const ratio = (a + 0.05) / (b + 0.05);
    if (ratio < 4.5) problems.push(`code colour ${fg} on rgb(${bg.slice(0, 3).join(', ')}) has contrast `
      + `${ratio.toFixed(2)}:1 < 4.5:1 (e.g. "${el.textContent.trim().slice(0, 20)}")`);
  }
  return problems;
}"""


# In the dark theme only the rules that depend on colours are run again (the others see the
# same page as in the light theme).
AXE_DARK_OPTIONS = {
    **AXE_OPTIONS,
    "runOnly": {"type": "rule", "values": ["color-contrast", "link-in-text-block"]},
}


def axe_problems(page, dark: bool = False) -> list[str]:
    """Serious and critical accessibility violations found by axe-core, and the contrast of
    the highlighted code (checked by CODE_CONTRAST_JS instead of axe, for speed)."""
    from axe_playwright_python.sync_playwright import Axe

    problems = page.evaluate(CODE_CONTRAST_JS)
    options = AXE_DARK_OPTIONS if dark else AXE_OPTIONS
    response = Axe().run(page, context=AXE_CONTEXT, options=options).response
    for v in response.get("violations", []):
        if v.get("impact") in ("serious", "critical"):
            where = "; ".join(", ".join(n.get("target", [])) for n in v.get("nodes", [])[:3])
            problems.append(f"axe {v['impact']} {v['id']} ({len(v.get('nodes', []))} elements, e.g. {where})")
    return problems


CHAPTER_LAYOUT_JS = """() => {
  // a chapter's visible code (not the folded cells): none wider than the column, at most a
  // share of the page; its first figure or verdict box near the top
  const article = document.querySelector('article.bd-article');
  if (!article || !article.querySelector('.cell_input')) return null;
  const visible = el => el.checkVisibility({checkVisibilityCSS: true});
  let code = 0; const wide = [];
  for (const pre of article.querySelectorAll('.cell_input pre')) {
    if (!visible(pre)) continue;
    code += pre.getBoundingClientRect().height;
    if (pre.scrollWidth > pre.clientWidth + 1) wide.push(pre.textContent.trim().split('\\n')[0].slice(0, 50));
  }
  const top = article.getBoundingClientRect().top;
  const first = article.querySelector('figure, .cell_output img, .decaylab-claim');
  return {share: code / article.getBoundingClientRect().height, wide,
          first: first ? (first.getBoundingClientRect().top - top) / 800 : null};
}"""


def chapter_budget_problems(page) -> list[str]:
    """A chapter's layout budgets at desktop width (:mod:`decaylab_book.budgets`)."""
    from decaylab_book import budgets

    found = page.evaluate(CHAPTER_LAYOUT_JS)
    if found is None:
        return []
    problems = [f"visible code block wider than the column: {w!r}" for w in found["wide"]]
    if found["share"] > budgets.CODE_SHARE:
        problems.append(f"visible code is {found['share']:.0%} of the page (budget {budgets.CODE_SHARE:.0%})")
    if found["first"] is None or found["first"] > budgets.FIRST_ANSWER_SCREENS:
        problems.append(f"no figure or verdict box within {budgets.FIRST_ANSWER_SCREENS} screens")
    return problems


def layout_problems(page) -> list[str]:
    """Narrow table cells and hidden result lines, with every disclosure (``details``) open:
    what a reader sees after opening the evidence must fit too."""
    page.evaluate("() => document.querySelectorAll('details').forEach(d => { d.open = true; })")
    return page.evaluate(NARROW_CELLS_JS) + page.evaluate(HIDDEN_RESULTS_JS)


def _tap_opens(page, button_selector: str, links: str, what: str) -> list[str]:
    buttons = [b for b in page.locator(button_selector).all() if b.is_visible()]
    if not buttons:
        return [f"phone: no visible {what} button"]
    if page.evaluate(NAV_VISIBLE_JS, links):
        return [f"phone: the {what} is open before any tap (it covers the page)"]
    buttons[0].tap()
    page.wait_for_timeout(400)
    opened = page.evaluate(NAV_VISIBLE_JS, links)
    page.keyboard.press("Escape")
    page.wait_for_timeout(200)
    return [] if opened else [f"phone: tapping the {what} button does not open the {what}"]


def phone_nav_problems(page) -> list[str]:
    """Tap the visible navigation button: the navigation's links must come into view. On a
    page with a table of contents, the same for its "Contents" button."""
    problems = _tap_opens(
        page, ".primary-toggle, button[aria-label*='navigation' i]", PRIMARY_LINKS, "navigation"
    )
    if page.locator(".bd-sidebar-secondary a").count():
        problems += _tap_opens(page, ".secondary-toggle", SECONDARY_LINKS, "contents")
    return problems


def check_page(
    context, url: str, mode: str, screenshot: Path | None = None, edition: str | None = None
) -> list[str]:
    """Load ``url`` (a file:// URL) in ``mode`` and return the problems a reader would see
    (with ``edition``, also those of :func:`edition_problems`)."""
    problems: list[str] = []
    page = context.new_page()
    try:
        load(page, url, problems)
        if edition is not None:
            problems += edition_problems(page, url, edition)
        want = "dark" if mode == "dark" else "light"
        theme = page.evaluate("() => document.documentElement.dataset.theme || 'light'")
        if theme != want and page.locator(".bd-page-width").count():
            problems.append(f"{mode}: the page shows the {theme} theme")
        problems += content_problems(page)
        if mode == "desktop":
            problems += chapter_budget_problems(page)
        if mode != "phone":  # light and dark; the phone shows the same colours
            problems += axe_problems(page, dark=mode == "dark")
        if screenshot is not None:
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(screenshot), full_page=True)
        problems += layout_problems(page)
        if mode == "phone":
            problems += phone_nav_problems(page)
    finally:
        page.close()
    return [f"[{mode}] {p}" for p in problems]


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("doc", toc_pages())
@pytest.mark.parametrize("edition", list(EDITIONS))
def test_page_reads_well(built_site, contexts, edition, doc, mode):
    folder = EDITIONS[edition][0]
    html = built_site / folder / f"{doc}.html"
    assert html.exists(), f"{doc}: no page built in the {edition} edition"
    prefix = f"{folder}-" if folder else ""
    shot = SCREENSHOTS / f"{prefix}{Path(doc).name}-{mode}.png"
    problems = check_page(contexts[mode], html.as_uri(), mode, screenshot=shot, edition=edition)
    assert not problems, f"{edition} {doc}: " + "; ".join(problems)


BROKEN_PAGE = """<!DOCTYPE html><html lang="en"><head><title>broken</title>
<style>
  .low { color: #bbbbbb; background: #ffffff; }
  table.fixed { table-layout: fixed; width: 300px; }
  table.fixed td { overflow-wrap: anywhere; }
  .cell_output pre { width: 300px; overflow-x: auto; white-space: pre; }
  #pst-primary-sidebar { display: none; }
</style></head><body><main>
<h1>A broken page</h1>
<p class='math'>\\(x^2\\)</p>
<img src='missing.png' alt='missing'>
<script src='https://cdn.example.org/lib.js'></script>
<div class='cell_output'><div class='output stderr'>oops</div></div>
<p class='low'>Text a reader can hardly see against its background.</p>
<div class='cell_input'><div class='highlight'><pre><span style='color: #dddddd'>x = 1</span></pre></div></div>
<table class='fixed'><tr><th>Post</th><th>Measured evidence</th><th>x</th><th>y</th></tr>
<tr><td>001</td><td>paddle.regularizer.L2Decay_is_a_very_long_word</td><td>a</td><td>b</td></tr></table>
<div class='cell_output'><pre>final train loss 0.123 ... with decay 0.456 ... the answer is at the far end: 0.789 0.789 0.789</pre></div>
<article><p>This paragraph was never translated into Chinese at all.</p>
<button aria-label='Toggle the primary sidebar'>≡</button></article>
<nav><a href='#'>术语表</a></nav>
<button class='primary-toggle' aria-label='Site navigation'>menu</button>
<div id='pst-primary-sidebar'><nav><a class='reference' href='#'>Chapter</a></nav></div>
</main></body></html>"""


def test_checker_catches_a_broken_page(built_site, contexts, tmp_path):
    """Every check fails on a page made to break it (in the mode where the check applies)."""
    (tmp_path / "broken.html").write_text(BROKEN_PAGE, encoding="utf-8")
    url = (tmp_path / "broken.html").as_uri()
    joined = "; ".join(check_page(contexts["phone"], url, "phone"))
    assert "request leaves the site: https://cdn.example.org/lib.js" in joined
    assert "image does not load" in joined
    assert "MathJax did not start" in joined or "math not typeset" in joined
    assert "error or stderr outputs rendered" in joined
    assert 'narrower than its word "paddle.regularizer.L2Decay_is_a_very_lon' in joined
    assert "result line hidden by horizontal overflow" in joined
    assert "tapping the navigation button does not open the navigation" in joined
    assert "Chinese text shown, but the site's own CJK font did not load" in joined
    assert re.search(r'Chinese text drawn without a CJK font \([^)]+\): "术语表"', joined), joined
    light = "; ".join(check_page(contexts["desktop"], url, "desktop"))
    assert "axe serious color-contrast" in light
    assert "code colour rgb(221, 221, 221) on rgb(255, 255, 255) has contrast" in light
    dark = "; ".join(check_page(contexts["dark"], url, "dark"))
    assert "axe serious color-contrast" in dark
    chinese = "; ".join(check_page(contexts["desktop"], url, "desktop", edition="zh"))
    assert "the page declares lang='en', not 'zh-CN'" in chinese
    assert "0 links to the other edition (want one)" in chinese
    assert 'untranslated text: "This paragraph was never translated into Chinese at all"' in chinese
    assert 'untranslated aria-label: "Toggle the primary sidebar"' in chinese


def test_checker_passes_a_page_that_reads_well(built_site, contexts, tmp_path):
    """The same checks find nothing on a small page that is right (no false alarms)."""
    (tmp_path / "good.html").write_text(
        "<!DOCTYPE html><html lang='en'><head><title>good</title></head><body><main><h1>Good</h1>"
        "<table><tr><th>Post</th><th>Verdict</th></tr><tr><td>001</td><td>holds</td></tr></table>"
        "<div class='cell_output'><pre>loss 0.123</pre></div></main></body></html>",
        encoding="utf-8",
    )
    assert check_page(contexts["desktop"], (tmp_path / "good.html").as_uri(), "desktop") == []


# ----------------------------------------------------------------------------- the primer's figure

#: Slider positions (indices into decaylab.explorer.CHOICES) the figure is checked on.
EXPLORER_GRID = {"lr": (0, 6, 9, 12), "decay": (0, 5, 8, 12), "momentum": (0, 3, 5), "steps": (4,)}
#: The run's (batch, data, epochs) positions, each setting of the grid read with each: B = 1;
#: B = 128 not dividing N = 60,000 over 10 epochs; B = 4,096 larger than N = 1,000; B = 64
#: over ImageNet's 1,281,167 for 1,000 epochs (the most steps the figure offers).
EXPLORER_RUNS = ((0, 0, 0), (5, 4, 3), (10, 0, 9), (4, 7, 10))


def _explorer_page(contexts, built_site, edition):
    page = contexts["desktop"].new_page()
    problems: list[str] = []
    load(page, (built_site / EDITIONS[edition][0] / "book" / "primer.html").as_uri(), problems)
    page.wait_for_function("() => window.decayExplorer !== undefined", timeout=10_000)
    assert not problems, problems
    return page


@pytest.mark.parametrize("edition", list(EDITIONS))
def test_the_interactive_figure_computes_what_decaylab_does(built_site, contexts, edition):
    """The primer's figure (decay-explorer.js) against decaylab.explorer, on a grid of settings:
    the per-step factor and its kind, the half-life, the whole path (the NumPy reference's),
    the step at which it halves, each framework's code, and the clock read in a run of E
    epochs over N examples in batches of B (decaylab.explorer.clock)."""
    import itertools
    import math

    import numpy as np

    from decaylab import explorer

    page = _explorer_page(contexts, built_site, edition)
    try:
        settings = []
        for opt in explorer.OPTIMIZERS:
            for lr in EXPLORER_GRID["lr"]:
                for decay in EXPLORER_GRID["decay"]:
                    momenta = (None,) if opt in ("adam", "adamw") else EXPLORER_GRID["momentum"]
                    for mu, (batch, data, epochs) in itertools.product(momenta, EXPLORER_RUNS):
                        s = {"optimizer": opt, "lr": lr, "decay": decay, "steps": EXPLORER_GRID["steps"][0]}
                        s |= {"batch": batch, "data": data, "epochs": epochs}
                        settings.append({**s, "momentum": 0 if mu is None else mu, "adam": mu is None})
        results = page.evaluate("(all) => all.map(s => window.decayExplorer.compute(s))", settings)
    finally:
        page.close()
    C = explorer.CHOICES
    for s, got in zip(settings, results, strict=True):
        args = (s["optimizer"], C["lr"][s["lr"]], C["decay"][s["decay"]])
        mu = None if s["adam"] else C["momentum"][s["momentum"]]
        where = f"{s}"
        f = explorer.step_factor(*args, momentum=mu)
        assert got["kind"] == f.kind, where
        if f.value is None:
            assert got["factor"] is None, where
        else:
            assert got["factor"] == pytest.approx(f.value, rel=1e-12, abs=1e-15), where
        half = explorer.half_life(*args, momentum=mu)
        if half is None or math.isinf(half):
            assert got["halfLife"] == half, where
        else:
            assert got["halfLife"] == pytest.approx(half, rel=1e-9), where
        path = explorer.trajectory(*args, C["steps"][s["steps"]], momentum=mu)
        np.testing.assert_allclose(got["path"], path, rtol=1e-9, atol=1e-12, err_msg=where)
        assert got["stepsToHalf"] == explorer.steps_to_half(path), where
        assert got["code"] == explorer.arguments(*args, momentum=mu), where
        run = (C["batch"][s["batch"]], C["data"][s["data"]], C["epochs"][s["epochs"]])
        want, clock = explorer.clock(*args, *run, momentum=mu), got["clock"]
        assert (clock["stepsPerEpoch"], clock["steps"]) == (want.steps_per_epoch, want.steps), where
        for key, name in [("tau", "tau"), ("tauEpochs", "tau_epochs"), ("halfLife", "half_life"),
                          ("halfLifeEpochs", "half_life_epochs"), ("shrink", "shrink"),
                          ("factorShrink", "factor_shrink")]:  # fmt: skip
            value = getattr(want, name)
            if value is None or math.isinf(value) or value == 0.0:
                assert clock[key] == value, f"{key} {where}"
            else:
                assert clock[key] == pytest.approx(value, rel=1e-9), f"{key} {where}"


@pytest.mark.parametrize("edition", list(EDITIONS))
def test_the_interactive_figure_works_from_the_keyboard(built_site, contexts, edition):
    """Tab to a slider, press an arrow key: its value, the spoken value, the results and the
    picture's description follow. Choosing Adam disables the momentum slider."""
    page = _explorer_page(contexts, built_site, edition)
    try:
        lr = page.locator("#decay-explorer-lr")
        page.locator("#decay-explorer-optimizer").focus()
        page.keyboard.press("Tab")
        assert page.evaluate("() => document.activeElement.id") == "decay-explorer-lr"
        before = page.locator(".decay-explorer-results").inner_text()
        label = page.locator(".decay-explorer-plot").get_attribute("aria-label")
        page.keyboard.press("ArrowRight")
        assert lr.get_attribute("aria-valuetext") == "0.2"
        assert page.locator("output[for='decay-explorer-lr']").inner_text() == "0.2"
        assert page.locator(".decay-explorer-results").inner_text() != before
        assert page.locator(".decay-explorer-plot").get_attribute("aria-label") != label
        assert (
            page.locator(".decay-explorer-code pre")
            .first.inner_text()
            .startswith("opt = SGD(net.parameters(), 0.2,")
        )
        page.locator("#decay-explorer-optimizer").select_option("adam")
        assert page.locator("#decay-explorer-momentum").is_disabled()
        words = {"en": "Learning rate", "zh": "学习率"}[edition]
        assert words in page.locator("label[for='decay-explorer-lr']").inner_text()
    finally:
        page.close()


#: The run's sliders, in the order Tab reaches them after the steps slider: id, the label's
#: words in each edition, the value after one ArrowRight from the start, the results' words.
EXPLORER_RUN_SLIDERS = [
    ("batch", {"en": "Batch size", "zh": "批量大小"}, "256", "⌈60,000/256⌉ = 10 × 235 = 2,350"),
    ("data", {"en": "Examples", "zh": "样本数"}, "100,000", "⌈100,000/256⌉ = 10 × 391 = 3,910"),
    ("epochs", {"en": "Epochs", "zh": "训练轮数"}, "20", "20 × ⌈100,000/256⌉ = 20 × 391 = 7,820"),
]


@pytest.mark.parametrize("edition", list(EDITIONS))
def test_the_interactive_figure_s_run_works_from_the_keyboard(built_site, contexts, edition):
    """Tab on from the steps slider to the run's batch size, examples and epochs: each has a
    label in the edition's language, an output and an aria-valuetext that follow the arrow
    keys, and the live region's steps, τ and shrink follow (checked against decaylab.explorer)."""
    from decaylab import explorer

    page = _explorer_page(contexts, built_site, edition)
    try:
        results = page.locator(".decay-explorer-results")
        assert results.get_attribute("aria-live") == "polite"
        page.locator("#decay-explorer-steps").focus()
        for name, label, value, total in EXPLORER_RUN_SLIDERS:
            page.keyboard.press("Tab")
            assert page.evaluate("() => document.activeElement.id") == f"decay-explorer-{name}"
            assert label[edition] in page.locator(f"label[for='decay-explorer-{name}']").inner_text()
            before = results.inner_text()
            page.keyboard.press("ArrowRight")
            slider = page.locator(f"#decay-explorer-{name}")
            assert slider.get_attribute("aria-valuetext") == value
            assert page.locator(f"output[for='decay-explorer-{name}']").inner_text() == value
            text = results.inner_text()
            assert text != before and total in text, text
        # η = 0.1, λ = 0.01, B = 256, N = 100,000, E = 20: 7,820 steps, τ = 1,000 steps
        c = explorer.clock("sgd", 0.1, 0.01, 256, 100000, 20, momentum=0.9)
        assert c.steps == 7820
        text = results.inner_text()
        assert "1,000" + {"en": " steps", "zh": " 步"}[edition] in text, text
        assert f"{c.tau_epochs:.4g}" in text and f"{c.shrink:.4g}" in text, text
    finally:
        page.close()
