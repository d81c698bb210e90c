"""Open every page of the table of contents in a real headless Chromium, with the network blocked.

A page fails if it does not load, if it requests anything that is not a file of the built
site, if a file it requests is missing, if a script raises an error, if its math is not
typeset by MathJax, if an image does not load, if it shows Chinese text but the site's own
CJK font did not load, or if it shows an error output. A screenshot of each page is saved under
``_build/screenshots/`` for people to look at.

Needs Chromium: Debian's ``chromium`` package (``apt-get install chromium``), or the path of
another Chromium/Chrome binary in the environment variable ``CHROMIUM``. ``.ci/run``
installs it. Without it these tests fail and say how to get it.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import yaml
from bookfiles import ROOT

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


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    path = chromium_path()
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=path, args=ARGS, headless=True)
        yield b
        b.close()


def check_page(browser, url: str, screenshot: Path | None = None) -> list[str]:
    """Load ``url`` (a file:// URL) and return the problems a reader would see."""
    problems: list[str] = []
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()

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
    n_math = page.locator(".math").count()
    if n_math:
        try:
            page.wait_for_function(
                "() => window.MathJax && MathJax.startup && MathJax.startup.promise", timeout=30_000
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
    broken = page.evaluate(
        "() => Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)"
    )
    problems += [f"image does not load: {src}" for src in broken]
    errors = page.locator(".output.error, .output.traceback, .output.stderr, .cell_output .stderr").count()
    if errors:
        problems.append(f"{errors} error or stderr outputs rendered")
    if screenshot is not None:
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(screenshot), full_page=True)
    context.close()
    return problems


@pytest.mark.parametrize("doc", toc_pages())
def test_page_renders_offline(built_site, browser, doc):
    html = built_site / f"{doc}.html"
    assert html.exists(), f"{doc}: no page built"
    shot = ROOT / "_build" / "screenshots" / f"{Path(doc).name}.png"
    problems = check_page(browser, html.as_uri(), screenshot=shot)
    assert not problems, f"{doc}: " + "; ".join(problems)


def test_checker_catches_a_broken_page(built_site, browser, tmp_path):
    # A page with an external script, a missing image, and math but no MathJax must fail.
    (tmp_path / "broken.html").write_text(
        "<html><body><p class='math'>\\(x^2\\)</p>"
        "<img src='missing.png'><script src='https://cdn.example.org/lib.js'></script>"
        "<div class='cell_output'><div class='output stderr'>oops</div></div></body></html>",
        encoding="utf-8",
    )
    problems = check_page(browser, (tmp_path / "broken.html").as_uri())
    joined = "; ".join(problems)
    assert "request leaves the site: https://cdn.example.org/lib.js" in joined
    assert "image does not load" in joined
    assert "MathJax did not start" in joined or "math not typeset" in joined
    assert "error or stderr outputs rendered" in joined
