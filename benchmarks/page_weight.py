"""Print every built page's first-visit transfer size (gzipped), largest first.

A measurement, not a test: it never fails a build. The book's budget is 800 KB gzipped for
the first visit of every chapter (empty cache). Build the book first (``make book``).

How it measures: each page of ``_build/html`` is opened in headless Chromium (network
blocked, 1280×800) and every file the browser requests while loading it (the HTML, style
sheets, scripts, fonts, images, the MathJax parts it fetches) is counted once, at its size
compressed by gzip (level 6, what a typical web server sends). Without Chromium it falls
back to reading the HTML and counting what the page links (scripts, style sheets and their
@imports, images), which misses what scripts fetch later (MathJax's fonts) and says so.

    make bench          # or: .venv/bin/python benchmarks/page_weight.py
"""

from __future__ import annotations

import gzip
import os
import re
import shutil
import sys
import urllib.parse
from functools import cache
from pathlib import Path

from decaylab_book import budgets
from decaylab_book.files import ROOT

SITE = ROOT / "_build" / "html"
BUDGET_KB = float(budgets.PAGE_KB)


@cache
def gzipped(path: Path) -> int:
    return len(gzip.compress(path.read_bytes(), compresslevel=6))


def local(url: str) -> Path | None:
    if not url.startswith("file://"):
        return None
    path = Path(urllib.parse.unquote(urllib.parse.urlsplit(url).path))
    return path if path.is_file() else None


def with_browser(pages: list[Path]) -> dict[Path, set[Path]]:
    from playwright.sync_api import sync_playwright

    chromium = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        raise RuntimeError("no Chromium")
    loaded: dict[Path, set[Path]] = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=chromium, args=["--no-sandbox", "--allow-file-access-from-files"], headless=True
        )
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        for html in pages:
            files: set[Path] = set()
            page = context.new_page()
            page.route("**/*", lambda r: r.continue_() if r.request.url.startswith("file://") else r.abort())
            page.on("requestfinished", lambda req, files=files: (p := local(req.url)) and files.add(p))
            page.goto(html.as_uri(), wait_until="load", timeout=60_000)
            try:  # the math is typeset (MathJax has fetched its fonts)
                page.wait_for_function("() => !window.MathJax || !MathJax.startup || MathJax.startup.promise")
                page.evaluate("() => window.MathJax && MathJax.startup ? MathJax.startup.promise : null")
                page.evaluate("() => document.fonts.ready")
            except Exception:  # measure what loaded
                pass
            page.wait_for_timeout(200)
            files.add(html)
            loaded[html] = files
            page.close()
        browser.close()
    return loaded


LINKED = re.compile(
    r'<(?:script|img)[^>]+src="([^"]+)"|<link[^>]+href="([^"]+)"[^>]*rel="(?:stylesheet|preload)"'
)
CSS_IMPORT = re.compile(r'@import\s+(?:url\()?["\']?([^"\')]+)')


def without_browser(pages: list[Path]) -> dict[Path, set[Path]]:
    loaded = {}
    for html in pages:
        files = {html}
        for a, b in LINKED.findall(html.read_text(encoding="utf-8")):
            target = (html.parent / urllib.parse.unquote((a or b).split("?")[0].split("#")[0])).resolve()
            if target.is_file():
                files.add(target)
                if target.suffix == ".css":
                    for imported in CSS_IMPORT.findall(target.read_text(encoding="utf-8", errors="replace")):
                        extra = (target.parent / imported).resolve()
                        if extra.is_file():
                            files.add(extra)
        loaded[html] = files
    return loaded


def main() -> None:
    if not SITE.is_dir():
        print(f"{SITE.relative_to(ROOT)} not found: build the book first (make book)")
        return
    pages = sorted(SITE.rglob("*.html"))
    method = "headless Chromium, every file requested"
    try:
        loaded = with_browser(pages)
    except Exception as exc:  # no browser here: a rougher measure, said so
        print(
            f"(Chromium not usable: {type(exc).__name__}: {exc}; counting linked files only)", file=sys.stderr
        )
        method = "linked files only (no browser: MathJax's fonts and other late fetches not counted)"
        loaded = without_browser(pages)
    rows = []
    for html, files in loaded.items():
        raw = sum(f.stat().st_size for f in files) / 1024
        gz = sum(gzipped(f) for f in files) / 1024
        heaviest = max(files, key=gzipped)
        rows.append(
            (html.relative_to(SITE).as_posix(), len(files), raw, gz, heaviest.relative_to(SITE).as_posix())
        )
    rows.sort(key=lambda r: -r[3])
    width = max(len(r[0]) for r in rows)
    print(f"first-visit transfer per page ({method}); budget {BUDGET_KB:.0f} KB gzipped")
    print(f"{'page':{width}s}  {'files':>5s}  {'raw KB':>8s}  {'gzip KB':>8s}  {'budget':>6s}  heaviest file")
    print(f"{'-' * width}  {'-' * 5}  {'-' * 8}  {'-' * 8}  {'-' * 6}  {'-' * 13}")
    for name, n, raw, gz, heaviest in rows:
        within = "ok" if gz <= BUDGET_KB else "OVER"
        print(f"{name:{width}s}  {n:5d}  {raw:8.0f}  {gz:8.0f}  {within:>6s}  {heaviest}")
    maps = list(SITE.rglob("*.map"))
    total = sum(f.stat().st_size for f in SITE.rglob("*") if f.is_file()) / 1024
    print(f"site: {total:.0f} KB on disk, {len(maps)} source maps")


if __name__ == "__main__":
    try:
        main()
    except Exception as exc:  # a measurement never fails the build
        print(f"page_weight: could not measure ({type(exc).__name__}: {exc})")
