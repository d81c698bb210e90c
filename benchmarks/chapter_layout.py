"""Print every chapter's layout against the book's budgets: how much of the page is visible
code, how far down the first figure or verdict box starts, and how tall a folded verdict
box is on a phone.

A measurement, not a test: it never fails a build. Build the book first (``make book``).
Each chapter of ``_build/html/book`` is opened in headless Chromium at desktop size
(1280×800; a "screen" is 800 px) and at phone size (390×844). Columns:

* words: the prose (paragraphs, list items, headings, captions), in words;
* code %: the height of the visible code cells (not the folded "Show code" ones) over the
  height of the article (budget :data:`decaylab_book.budgets.CODE_SHARE`);
* wide: visible code blocks that scroll sideways at desktop width (budget 0);
* first: screens down to the first figure or verdict box (budget
  :data:`~decaylab_book.budgets.FIRST_ANSWER_SCREENS`);
* boxes, box max: the verdict boxes, and the tallest folded one on a phone in phone screens
  (budget :data:`~decaylab_book.budgets.FOLDED_BOX_PHONE_SCREENS`).

    .venv/bin/python benchmarks/chapter_layout.py
"""

from __future__ import annotations

import os
import shutil

from decaylab_book import budgets
from decaylab_book.files import ROOT, notebooks

SITE = ROOT / "_build" / "html" / "book"

DESKTOP_JS = """() => {
  const article = document.querySelector('article.bd-article') || document.querySelector('main');
  const top = article.getBoundingClientRect().top + window.scrollY;
  const height = article.getBoundingClientRect().height;
  const visible = el => el.checkVisibility({checkVisibilityCSS: true});
  let code = 0, wide = 0;
  for (const pre of article.querySelectorAll('.cell_input pre')) {
    if (!visible(pre)) continue;
    code += pre.getBoundingClientRect().height;
    if (pre.scrollWidth > pre.clientWidth + 1) wide += 1;
  }
  let words = 0;
  for (const el of article.querySelectorAll('p, li, h1, h2, h3, figcaption')) {
    if (el.closest('.cell_output, .decaylab-claim, pre') || !visible(el)) continue;
    words += (el.textContent.match(/[A-Za-z0-9_'-]+/g) || []).length;
  }
  const first = article.querySelector('figure, .cell_output img, .decaylab-claim');
  const depth = first ? (first.getBoundingClientRect().top + window.scrollY - top) / 800 : null;
  return {code: code / height, wide, words, depth, boxes: article.querySelectorAll('.decaylab-claim').length};
}"""

PHONE_JS = """() => {
  let tallest = 0;
  for (const box of document.querySelectorAll('.decaylab-claim-folded')) {
    tallest = Math.max(tallest, box.getBoundingClientRect().height);
  }
  return tallest / 844;
}"""


def main() -> None:
    chromium = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium or not SITE.exists():
        print("chapter layout: needs Chromium and a built book (make book); skipped")
        return
    from playwright.sync_api import sync_playwright

    rows = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, headless=True)
        desktop = browser.new_page(viewport={"width": 1280, "height": 800})
        phone = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=2)
        for nb in notebooks():
            page = SITE / f"{nb.stem}.html"
            if not page.exists():
                continue
            desktop.goto(page.as_uri(), wait_until="load")
            d = desktop.evaluate(DESKTOP_JS)
            phone.goto(page.as_uri(), wait_until="load")
            rows.append((nb.stem, d, phone.evaluate(PHONE_JS)))
        browser.close()
    print(
        f"budgets: code ≤ {budgets.CODE_SHARE:.0%} of the page, no wide code block, first figure or box "
        f"≤ {budgets.FIRST_ANSWER_SCREENS} screens down, folded box ≤ {budgets.FOLDED_BOX_PHONE_SCREENS} "
        "phone screens (! marks a miss)"
    )
    print(
        f"{'chapter':26s} {'words':>6s} {'code %':>7s} {'wide':>5s} {'first':>6s} {'boxes':>6s} {'box max':>8s}"
    )
    for name, d, box in rows:
        code = f"{d['code']:.0%}" + ("!" if d["code"] > budgets.CODE_SHARE else " ")
        wide = f"{d['wide']}" + ("!" if d["wide"] else " ")
        depth = d["depth"]
        first = (
            "-" if depth is None else f"{depth:.1f}" + ("!" if depth > budgets.FIRST_ANSWER_SCREENS else " ")
        )
        boxed = f"{box:.2f}" + ("!" if box > budgets.FOLDED_BOX_PHONE_SCREENS else " ")
        print(f"{name:26s} {d['words']:6d} {code:>7s} {wide:>5s} {first:>6s} {d['boxes']:6d} {boxed:>8s}")


if __name__ == "__main__":
    main()
