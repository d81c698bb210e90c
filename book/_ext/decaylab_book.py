"""Sphinx extension of the book: pages generated from the notebooks, and a lighter, working site.

Directives (each reads the notebooks at build time and registers them as dependencies of the
page, so the page is rebuilt whenever a chapter changes):

``claims-ledger`` (``:part: seed``, ``anchors`` or ``book``)
    The claims ledger. ``seed`` lists every claim of the four source posts
    (``decaylab.ledger.SEED_CLAIMS``) with the verdict and evidence of the record that checks
    it; ``anchors`` the claims of the anchors (d2l, the AdamW paper, the framework
    documentation: ``decaylab.claims.ANCHORS``); ``book`` the book's own claims. A compact
    table with the evidence behind a disclosure, one card per claim on a phone, filterable by
    post (or source) and verdict (``_static/decaylab.js``, no network). Every
    consistency check is ``decaylab.ledger.check_ledger``'s; a problem stops the build.
``claims-checklist`` (``:notebook: NAME``)
    One notebook's claims as a checklist a reader can run down: statement, verdict and a link
    to the verdict box (``#claim-<id>``).
``nbval-ignored-cells``
    Every cell tagged ``nbval-ignore-output``, with the reason stored in its metadata under
    ``nbval-ignore-output-reason``. A tagged cell without a reason stops the build.
``claim-box`` (argument: a claim id)
    That claim's verdict box as its chapter stored it, with a link to it (the landing page's
    example).
``post-key``
    The key of the four source posts (title, author, site, address), read from the
    ``post000`` ... ``post003`` entries of ``book/references.bib``: one place for these facts.

Site fixes:

* Phone navigation: pydata-sphinx-theme 0.17 renders a second ``.primary-toggle`` button in its
  top bar when any ``navbar_*`` slot is filled; its script binds only the first button, so the
  visible sphinx-book-theme button opened nothing on a phone (pydata-sphinx-theme issue 2451).
  Jupyter Book fills ``navbar_persistent`` with the search button; we empty it, so the top bar
  is not rendered and the one toggle left works (the search field stays in the sidebar).
  The same fix as upstream's (sphinx-book-theme pull request 1000 drops the top bar's
  duplicate toggles); remove this once a released sphinx-book-theme carries it.
* Font Awesome: the theme loads a 1.5 MB script for about fifteen icons. At the end of the
  build the script is removed and the icons the pages use are written as a small CSS file
  (``_static/decaylab-icons.css``, SVG masks taken from that script; Font Awesome Free icons,
  CC BY 4.0).
* The theme's CSS draws a few icons with Font Awesome's web fonts (400 KB): they are
  subset to those icons (``_static/fonts/fa-*-subset.woff``).
* Figures are served as 256-colour PNGs (a third of the bytes; the notebooks keep the
  full images).
* No source maps are shipped (``*.map`` are deleted at build-finished).
* Figures in cell outputs link to their full-size image (Sphinx's scaled-image link).
* Duplicate inline scripts are dropped from each page: sphinx-thebe registers its
  configuration script (``const THEBE_JS_URL = ...``) on every ``env-before-read-docs``
  event, which fires more than once per build here; the second copy re-declares a
  ``const`` and raises a JavaScript error in the reader's browser.
* Bibliography entries are list items (docutils' ``doc-biblioentry`` role inside a list is an
  accessibility error).
* Citation labels: the bibliography style ``decaylab`` labels the source posts "post 000" ...
  "post 003" (the numbers the chapters and the ledger use) and every other entry by its
  ``shorthand`` field.
"""

from __future__ import annotations

import html
import re
import urllib.parse
from pathlib import Path
from typing import ClassVar

from docutils import nodes
from docutils.parsers.rst import Directive, directives
from sphinx.errors import ExtensionError

from decaylab import i18n
from decaylab.claims import ANCHORS, POSTS, VERDICT_SLUGS, VERDICTS, ClaimRecord
from decaylab.ledger import (
    IGNORE_REASON,
    IGNORE_TAG,
    SEED_CLAIMS,
    TOLERANCE_REASON,
    book_notebooks,
    check_ledger,
    collect_records,
    evidence_summary,
    ignored_cells,
    toleranced_cells,
    untranslated_claims,
)

SITE_JS = "decaylab.js"
ZH_CSS = "decaylab-zh.css"
ICONS_CSS = "decaylab-icons.css"
esc = html.escape


# ----------------------------------------------------------------------------- helpers


def _book_dir(env) -> Path:
    return Path(env.app.srcdir) / "book"


def _notebooks(env) -> list[Path]:
    """The book's notebooks (the one list, ``decaylab.ledger.book_notebooks``), each noted as
    a dependency of the current page."""
    paths = book_notebooks(_book_dir(env))
    for nb in paths:
        env.note_dependency(str(nb))
    return paths


def _records(env) -> list[ClaimRecord]:
    _notebooks(env)
    records = collect_records(_book_dir(env))
    problems = check_ledger(records)
    if env.app.builder.name != "gettext":  # extracting the messages is how translation starts
        problems += untranslated_claims(records)
    if problems:
        raise ExtensionError("claims ledger: " + "; ".join(problems))
    return records


#: The pages' fixed words in the Chinese edition (the English is the key).
_ZH_WORDS = {
    **i18n.WORDS_ZH,
    "Post": "帖子",
    "Claim (paraphrased)": "论断（转述）",
    "Verdict": "结论",
    "Source": "来源",
    "Claim": "论断",
    "The book's own claim": "本书的论断",
    "Chapter": "章节",
    "all": "全部",
    "Checked as:": "按此检查：",
    "Checked in": "检查于",
    "Evidence": "证据",
    "see the check": "查看检查",
    "seeds": "个种子",
    "by its rule": "（按判定规则）",
}


class _Words:
    """The words of one edition: English, or Chinese from the catalogue and :data:`_ZH_WORDS`."""

    def __init__(self, env):
        self.zh = _zh(env)

    def __call__(self, english: str, chinese: str | None = None) -> str:
        """A fixed word of the page (``chinese`` overrides :data:`_ZH_WORDS`)."""
        if not self.zh:
            return english
        return chinese if chinese is not None else _ZH_WORDS.get(english, english)

    def text(self, english: str | None, chinese: str | None) -> str | None:
        """A text of the claims: its translation in the Chinese edition (the English if it has none)."""
        return chinese if self.zh and chinese else english

    def verdict(self, verdict: str) -> str:
        return i18n.VERDICTS_ZH[verdict] if self.zh else verdict

    def source(self, name: str) -> str:
        return (i18n.zh(name) or name) if self.zh else name

    def decision(self, rec: ClaimRecord) -> tuple[str, str]:
        d = rec.decision
        if self.zh:
            return d.shown_zh(), d.rule_zh() or d.rule
        return d.shown(), d.rule

    def count(self, n: int, what: str) -> str:
        if self.zh:
            return f"{what}：{n} 项检查"
        return f"{what}: {n} check{'s' if n != 1 else ''}"


def _title(notebook: str) -> str:
    """A placeholder for a chapter's title, replaced once every page is read (the title of the
    edition: translated in the Chinese one); see :func:`_fill_titles`."""
    return f"\u27e6doc-title:{notebook}\u27e7"


_TITLE_TOKEN = re.compile("\u27e6doc-title:([^\u27e7]+)\u27e7")


def _fill_titles(app, doctree, docname):
    """Put the chapters' titles (from Sphinx's environment) where the directives left placeholders."""
    titles = app.env.titles
    for node in list(doctree.findall(nodes.raw)):
        text = node.astext()
        if "\u27e6doc-title:" not in text:
            continue

        def title(m):
            name = "book/" + m.group(1)
            return esc(titles[name].astext()) if name in titles else esc(m.group(1))

        node.replace(node.children[0], nodes.Text(_TITLE_TOKEN.sub(title, text)))


def _notebook_names(env) -> list[str]:
    book = _book_dir(env)
    return [p.relative_to(book).with_suffix("").as_posix() for p in _notebooks(env)]


def _uri(env, notebook: str, anchor: str = "") -> str:
    uri = env.app.builder.get_relative_uri(env.docname, "book/" + notebook)
    return uri + (f"#{anchor}" if anchor else "")


def _verdict_badge(verdict: str, words: _Words) -> str:
    return (
        f'<span class="ledger-verdict ledger-{VERDICT_SLUGS[verdict]}">{esc(words.verdict(verdict))}</span>'
    )


def _raw(text: str) -> nodes.raw:
    return nodes.raw("", text, format="html")


def _evidence_details(rec: ClaimRecord, words: _Words, checked_as: bool = False) -> str:
    """The evidence behind a disclosure: the checks, the rule and result, caveat and note."""
    items = "".join(
        f"<li>{esc(words.text(e.label, e.label_zh))}"
        + (f": <code>{esc(words.text(e.shown, e.shown_zh))}</code>" if e.shown else "")
        + "</li>"
        for e in rec.evidence
    )
    parts = []
    if checked_as:
        statement = words.text(rec.statement, rec.statement_zh)
        parts.append(f'<p class="ledger-checked-as"><b>{words("Checked as:")}</b> {esc(statement)}</p>')
    if rec.decision:
        rule = words.decision(rec)[1]
        parts.append(
            f'<p class="ledger-rule"><b>{words("Rule (declared before the run):")}</b> {esc(rule)}</p>'
        )
    if items:
        parts.append(f'<ul class="ledger-checks">{items}</ul>')
    if rec.note:
        parts.append(
            f'<p class="ledger-note"><b>{words("Note:")}</b> {esc(words.text(rec.note, rec.note_zh))}</p>'
        )
    n = len(rec.evidence) + (rec.decision is not None)
    summary = words.count(n, words("Evidence"))
    return f'<details class="ledger-evidence"><summary>{summary}</summary>{"".join(parts)}</details>'


def _claim_cell(text: str, rec: ClaimRecord, link: str, words: _Words, checked_as: bool = False) -> str:
    out = f'<p class="ledger-claim">{esc(text)}</p>'
    if rec.decision:
        d = rec.decision
        shown = words.decision(rec)[0]
        out += (
            f'<p class="ledger-decision"><b>{d.n} {words("seeds")}:</b> <code>{esc(shown)}</code> '
            f"→ {esc(i18n.concluded_zh(d.outcome, d.case) if words.zh else d.concluded())}</p>"
        )
    if rec.caveat:
        caveat = words.text(rec.caveat, rec.caveat_zh)
        out += f'<p class="ledger-caveat"><b>{words("Caveat:")}</b> {esc(caveat)}</p>'
    out += f'<p class="ledger-where">{words("Checked in")} {link}</p>'
    return out + _evidence_details(rec, words, checked_as=checked_as)


def _filter_bar(
    table_id: str, what: str, groups: list[tuple[str, str]], verdicts: list[str], words: _Words
) -> str:
    """Two selects (group, verdict) that filter the rows of the table ``table_id``.

    Hidden until the script runs, so a reader without JavaScript sees the full table."""
    group_options = "".join(f'<option value="{esc(v)}">{label}</option>' for v, label in groups)
    verdict_options = "".join(
        f'<option value="{VERDICT_SLUGS[v]}">{esc(words.verdict(v))}</option>' for v in verdicts
    )
    every = esc(words("all"))
    return (
        f'<form class="decaylab-ledger-filter" data-table="{table_id}" hidden>'
        f'<label>{esc(what)} <select name="group"><option value="">{every}</option>{group_options}</select></label> '
        f'<label>{esc(words("Verdict"))} <select name="verdict"><option value="">{every}</option>{verdict_options}</select></label> '
        f'<output class="ledger-count" aria-live="polite"></output>'
        "</form>"
    )


def _table(table_id: str, headers: list[str], rows: list[tuple[dict, list[str]]], caption: str) -> str:
    head = "".join(f'<th scope="col" class="col-{i}">{esc(h)}</th>' for i, h in enumerate(headers))
    body = []
    for data, cells in rows:
        attrs = " ".join(f'data-{k}="{esc(v)}"' for k, v in data.items())
        tds = "".join(f'<td class="col-{i}">{c}</td>' for i, c in enumerate(cells))
        body.append(f"<tr {attrs}>{tds}</tr>")
    return (
        f'<table id="{table_id}" class="decaylab-ledger">'
        f'<caption class="visually-hidden">{esc(caption)}</caption>'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    )


# ----------------------------------------------------------------------------- directives


class ClaimsLedger(Directive):
    option_spec: ClassVar[dict] = {
        "part": lambda arg: directives.choice(arg, ("seed", "anchors", "book")),
    }

    def run(self):
        env = self.state.document.settings.env
        words = _Words(env)
        records = _records(env)
        by_id = {r.id: r for r in records}
        part = self.options.get("part", "seed")
        table_id = f"ledger-{part}"

        def link(rec: ClaimRecord) -> str:
            href = esc(_uri(env, rec.notebook, "claim-" + rec.id))
            return f'<a class="ledger-link" href="{href}">{_title(rec.notebook)}</a>'

        rows: list[tuple[dict, list[str]]] = []
        if part == "seed":
            for seed in SEED_CLAIMS:
                rec = by_id[seed.checked_by]  # check_ledger made sure it exists
                data = {"group": seed.post, "verdict": rec.slug}
                post = f'<span class="ledger-post">{esc(words("post", "帖子"))}&nbsp;{esc(seed.post)}</span>'
                text = words.text(seed.claim, i18n.zh(seed.claim))
                claim_cell = _claim_cell(text, rec, link(rec), words, checked_as=True)
                rows.append((data, [post, claim_cell, _verdict_badge(rec.verdict, words)]))
            groups = [(p, esc(f"{words('post', '帖子')} {p}")) for p in POSTS]
            headers, what = [words("Post"), words("Claim (paraphrased)"), words("Verdict")], words("Post")
        elif part == "anchors":
            for rec in records:
                if rec.source in ANCHORS:
                    data = {"group": rec.source, "verdict": rec.slug}
                    full = words.source(ANCHORS[rec.source])  # e.g. "Loshchilov & Hutter, Decoupled ..."
                    short = re.split(r"[,，]", full)[0]
                    source = f'<span class="ledger-source" title="{esc(full)}">{esc(short)}</span>'
                    claim_cell = _claim_cell(
                        words.text(rec.statement, rec.statement_zh), rec, link(rec), words
                    )
                    rows.append((data, [source, claim_cell, _verdict_badge(rec.verdict, words)]))
            present = {d["group"] for d, _ in rows}
            groups = [(a, esc(words.source(ANCHORS[a]))) for a in ANCHORS if a in present]
            headers, what = [words("Source"), words("Claim"), words("Verdict")], words("Source")
        else:
            for rec in records:
                if rec.source == "book":
                    data = {"group": rec.notebook, "verdict": rec.slug}
                    claim_cell = _claim_cell(
                        words.text(rec.statement, rec.statement_zh), rec, link(rec), words
                    )
                    rows.append((data, [claim_cell, _verdict_badge(rec.verdict, words)]))
            present = {d["group"] for d, _ in rows}
            groups = [(nb, _title(nb)) for nb in _notebook_names(env) if nb in present]
            headers, what = [words("The book's own claim"), words("Verdict")], words("Chapter")
        if not rows:
            return [nodes.paragraph(text=words(f"No {part} claims are checked yet.", "尚无论断。"))]
        verdicts = [v for v in VERDICTS if any(d["verdict"] == VERDICT_SLUGS[v] for d, _ in rows)]
        tally = [(sum(d["verdict"] == VERDICT_SLUGS[v] for d, _ in rows), words.verdict(v)) for v in verdicts]
        if words.zh:
            summary = f"共 {len(rows)} 条论断：" + "，".join(f"{v} {n} 条" for n, v in tally) + "。"
        else:
            summary = f"{len(rows)} claims: " + ", ".join(f"{n} {v}" for n, v in tally) + "."
        caption = words(
            f"Claims ledger: {what.lower()}, claim, verdict and where it is checked",
            f"论断总表：{what}、论断、结论及检查位置",
        )
        html_text = (
            f'<div class="decaylab-ledger-part ledger-part-{part}"><p class="ledger-summary">{esc(summary)}</p>'
            f"{_filter_bar(table_id, what, groups, verdicts, words)}"
            f"{_table(table_id, headers, rows, caption)}</div>"
        )
        return [_raw(html_text)]


class ClaimsChecklist(Directive):
    """One notebook's claims as a checklist (for the checklist page)."""

    option_spec: ClassVar[dict] = {"notebook": directives.unchanged_required}

    def run(self):
        env = self.state.document.settings.env
        words = _Words(env)
        name = self.options.get("notebook", "").strip().removesuffix(".ipynb")
        records = _records(env)
        names = set(_notebook_names(env))
        if name not in names:
            raise self.error(
                f"claims-checklist: no notebook book/{name}.ipynb (known: {', '.join(sorted(names))})"
            )
        mine = [r for r in records if r.notebook == name]
        if not mine:
            raise self.error(
                f"claims-checklist: book/{name}.ipynb stores no claim records (execute it first)"
            )
        items = []
        for i, rec in enumerate(mine, 1):
            box = f"check-{name}-{i}"
            caveat = words.text(rec.caveat, rec.caveat_zh)
            items.append(
                f'<li class="decaylab-checklist-item checklist-{rec.slug}">'
                f'<input type="checkbox" id="{box}">'
                f'<label for="{box}">{esc(words.text(rec.statement, rec.statement_zh))}</label> '
                f"{_verdict_badge(rec.verdict, words)} "
                f'<a class="ledger-link" href="{esc(_uri(env, name, "claim-" + rec.id))}">{esc(words("see the check"))}</a>'
                + (
                    f'<p class="ledger-caveat"><b>{words("Caveat:")}</b> {esc(caveat)}</p>'
                    if rec.caveat
                    else ""
                )
                + f'<p class="checklist-evidence">{esc(evidence_summary(rec, zh=words.zh))}</p>'
                + "</li>"
            )
        return [_raw(f'<ol class="decaylab-checklist">{"".join(items)}</ol>')]


class ClaimBox(Directive):
    """The verdict box of one claim, as its chapter stored it (for the landing page)."""

    required_arguments = 1

    def run(self):
        env = self.state.document.settings.env
        claim_id = self.arguments[0].strip()
        rec = next((r for r in _records(env) if r.id == claim_id), None)
        if rec is None:
            raise self.error(f"claim-box: no claim record {claim_id!r} in the notebooks")
        link = f'<p class="ledger-where">{_Words(env)("Checked in")} <a href="{esc(_uri(env, rec.notebook, "claim-" + rec.id))}">{_title(rec.notebook)}</a></p>'
        return [_raw(rec.to_html().replace(f'id="claim-{rec.id}" ', "", 1) + link)]


def _scroll_box(table: str, label: str) -> str:
    """A table in a box that scrolls sideways when the page is narrower; focusable, so that a
    keyboard can scroll it too (axe: scrollable-region-focusable)."""
    return f'<div class="decaylab-wide" tabindex="0" role="region" aria-label="{esc(label)}">{table}</div>'


def _own_rows(lines: dict) -> str:
    """A toleranced cell's rows with a tolerance of their own: ``row: units (measured spread)``."""
    return "; ".join(
        f"<code>{esc(k.strip())}</code>: {v['units']:g} ({v['spread']:.3g})" for k, v in lines.items()
    )


class OutputTolerances(Directive):
    """Every cell whose training summaries are compared within a tolerance, and why."""

    def run(self):
        env = self.state.document.settings.env
        words = _Words(env)
        _notebooks(env)
        cells = toleranced_cells(_book_dir(env))
        head = "".join(
            f"<th>{esc(words(en, zh))}</th>"
            for en, zh in (
                ("Chapter", "章节"),
                ("Code cell", "代码单元"),
                ("Tolerance (units of the last digit)", "容差（末位数字的单位数）"),
                ("Measured spread", "实测离散"),
                ("Rows with their own, and why", "单独设定的行及原因"),
            )
        )
        rows, previous = "", None
        for c in cells:
            chapter = (
                ""
                if c.notebook == previous
                else f'<a href="{esc(_uri(env, c.notebook))}">{_title(c.notebook)}</a>'
            )
            previous = c.notebook
            first = esc(c.first_line[:40] + ("…" if len(c.first_line) > 40 else ""))
            own = _own_rows(c.lines) + (
                f"<br>{esc(words.text(c.why, i18n.zh(c.why)))}" if c.why and c.why != TOLERANCE_REASON else ""
            )
            rows += (
                f"<tr><td>{chapter}</td><td>{c.code_cell} (<code>{first}</code>)</td>"
                f"<td>{c.units:g}</td><td>{c.spread:.3g}</td><td>{own}</td></tr>"
            )
        lead = words(
            f"Unless a row says otherwise, a tolerance covers {TOLERANCE_REASON}.",
            f"除非某行另有说明，容差针对的都是{i18n.zh(TOLERANCE_REASON) or TOLERANCE_REASON}。",
        )
        table = (
            f'<table class="decaylab-tolerances"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>'
        )
        return [_raw(f"<p>{esc(lead)}</p>{_scroll_box(table, words('Tolerances', '容差'))}")]


class RuleErrorRates(Directive):
    """How often the book's seed schedule reaches each outcome, simulated (decaylab.stats.error_rates)."""

    #: True effects (in margins) and per-seed spreads (in margins) of the table, and its trials.
    EFFECTS = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0)
    SPREADS = (2.0, 4.0)
    TRIALS = 4000

    def run(self):
        from decaylab.stats import error_rates

        words = _Words(self.state.document.settings.env)
        head = f"<th>{esc(words('True effect / margin', '真实效应 / 最小有意义差异'))}</th>"
        for spread in self.SPREADS:
            label = words(f"spread {spread:g} × margin", f"离散 {spread:g} × 最小有意义差异")
            head += f'<th colspan="4">{esc(label)}</th>'
        sub = "<th></th>" + "".join(
            f"<th>{esc(words(en, zh))}</th>"
            for _ in self.SPREADS
            for en, zh in (
                ("holds", "成立"),
                ("does not hold", "不成立"),
                ("not settled", "无定论"),
                ("mean seeds", "平均种子数"),
            )
        )
        rows = ""
        for effect in self.EFFECTS:
            cells = f"<td>{effect:g}</td>"
            for spread in self.SPREADS:
                r = error_rates(effect, spread, 1.0, trials=self.TRIALS, seed=0)
                cells += "".join(
                    f"<td>{100 * r[o]:.1f}%</td>"
                    for o in ("holds", "does not hold", "not settled at this scale")
                )
                cells += f"<td>{r['seeds']:.0f}</td>"
            rows += f"<tr>{cells}</tr>"
        note = words(
            f"{self.TRIALS} simulated claims per row; per-seed effects drawn from a normal distribution; "
            "the schedule 20, 40, 80 seeds with a final 95% interval.",
            f"每行模拟 {self.TRIALS} 个论断；每个种子的效应取自正态分布；种子计划为 20、40、80 个，最终区间为 95%。",
        )
        table = f'<table class="decaylab-error-rates"><thead><tr>{head}</tr><tr>{sub}</tr></thead><tbody>{rows}</tbody></table>'
        return [
            _raw(
                f"{_scroll_box(table, words('Error rates of the seed schedule', '种子计划的错误率'))}<p>{esc(note)}</p>"
            )
        ]


class NbvalIgnoredCells(Directive):
    """Every cell whose printed output is not compared (tag ``nbval-ignore-output``), and why."""

    def run(self):
        env = self.state.document.settings.env
        words = _Words(env)
        _notebooks(env)
        cells = ignored_cells(_book_dir(env))
        missing = [f"{c.notebook}.ipynb code cell {c.code_cell}" for c in cells if not c.reason]
        if missing:
            raise ExtensionError(
                f"cells tagged {IGNORE_TAG!r} without a {IGNORE_REASON!r} in their metadata: "
                + "; ".join(missing)
                + ". Say in one line why the output cannot be compared."
            )
        if not cells:
            text = words(
                "No cell is excluded from the comparison: every output is compared by what it means.",
                "没有单元被排除在比较之外：每个输出都按其含义比较。",
            )
            return [nodes.paragraph(text=text)]
        items = "".join(
            f'<li><a href="{esc(_uri(env, c.notebook))}">{_title(c.notebook)}</a>, '
            f"{esc(words('code cell', '代码单元'))} {c.code_cell} "
            f"(<code>{esc(c.first_line[:60] + ('…' if len(c.first_line) > 60 else ''))}</code>): "
            f"{esc(words.text(c.reason, i18n.zh(c.reason)))}</li>"
            for c in cells
        )
        return [_raw(f'<ul class="decaylab-ignored-cells">{items}</ul>')]


def _bib_entries(env) -> dict:
    from pybtex.database import parse_file

    bib = Path(env.app.srcdir) / "book" / "references.bib"
    env.note_dependency(str(bib))
    return parse_file(str(bib), bib_format="bibtex").entries


def _plain(text: str) -> str:
    """A BibTeX field as plain text (braces and the escapes the book uses removed)."""
    return (
        text.replace("\\&", "&")
        .replace("\\_", "_")
        .replace("{", "")
        .replace("}", "")
        .replace("``", "“")
        .replace("''", "”")
    )


class PostKey(Directive):
    """The four source posts: number, title, author, site and address (from references.bib)."""

    def run(self):
        env = self.state.document.settings.env
        words = _Words(env)
        entries = _bib_entries(env)
        items = []
        for post in POSTS:
            key = f"post{post}"
            if key not in entries:
                raise self.error(f"post-key: references.bib has no entry {key!r}")
            e = entries[key]
            f = e.fields
            authors = " and ".join(_plain(str(p)) for p in e.persons.get("author", []))
            site = _plain(f.get("howpublished_zh" if words.zh else "howpublished", f.get("howpublished", "")))
            facts = [x for x in (authors, site, f.get("year", "")) if x]
            text = ("；" if words.zh else "; ").join(esc(x) for x in facts) + ("。" if words.zh else ".")
            if "url" in f:
                host = urllib.parse.urlsplit(f["url"]).netloc.removeprefix("www.")
                text += f' <a href="{esc(f["url"])}">{esc(host)}</a>'
            missing = [w for w, have in (("author", authors), ("address", "url" in f)) if not have]
            if missing and words.zh:
                gone = "与".join({"author": "作者", "address": "地址"}[w] for w in missing)
                text += f' <span class="post-key-missing">（未记录{gone}）</span>'
            elif missing:
                text += f' <span class="post-key-missing">({" and ".join(missing)} not recorded)</span>'
            items.append(
                f'<dt id="post-{post}">{esc(words("post", "帖子"))} {post}</dt>'
                f"<dd><cite>{esc(_plain(f['title']))}</cite>{'。' if words.zh else '. '}{text}</dd>"
            )
        return [_raw(f'<dl class="decaylab-post-key">{"".join(items)}</dl>')]


# ----------------------------------------------------------------------------- bibliography style


def _register_bib_style() -> None:
    from pybtex.plugin import register_plugin
    from pybtex.style.formatting.unsrt import Style as Unsrt
    from pybtex.style.labels import BaseLabelStyle
    from pybtex.style.sorting import BaseSortingStyle

    class Labels(BaseLabelStyle):
        def format_labels(self, sorted_entries):
            for entry in sorted_entries:
                yield entry.fields.get("shorthand", entry.key)

    class Sorting(BaseSortingStyle):
        def sorting_key(self, entry):
            return (not entry.key.startswith("post"), entry.fields.get("shorthand", entry.key).lower())

    class DecaylabStyle(Unsrt):
        default_label_style = Labels
        default_sorting_style = Sorting

    register_plugin("pybtex.style.formatting", "decaylab", DecaylabStyle, force=True)


# ----------------------------------------------------------------------------- events


# ----------------------------------------------------------------------------- two editions


def _zh(app_or_env) -> bool:
    """Whether this build is the Chinese edition."""
    return (app_or_env.config.language or "").startswith("zh")


#: MyST-NB's labels of a hidden cell's toggle ("Show code cell {type}"), in Chinese. The book
#: hides only code (tag "hide-input"), so {type}, MyST-NB's English "source", is left out.
ZH_CODE_PROMPTS = ("显示代码", "隐藏代码")


def _edition(app, config):
    """The Chinese edition's title, its stylesheet (its own CJK font subset) and the labels of
    the toggles of hidden code cells."""
    if (config.language or "").startswith("zh"):
        config.html_title = config.decaylab_title_zh
        config.nb_code_prompt_show, config.nb_code_prompt_hide = ZH_CODE_PROMPTS
        app.add_css_file(ZH_CSS, priority=900)  # after the book's CSS (html_css_files: 800)


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


def _compile_catalogues(app):
    """Compile the edition's ``.po`` files into ``.mo`` ourselves, before Sphinx would.

    A translated message is parsed again on its own, outside its notebook, where MyST-NB
    cannot find the notebook's glued values ({glue:text}`key` fails). So the compiled
    messages name their notebook: {glue:text}`/book/chapter.ipynb::key`, a reference MyST-NB
    resolves after reading (from the glue cache of that notebook). Translators write the
    same role as the English. A translated heading that starts like "3. " is escaped so that
    it stays a heading (:func:`_numbered_title`). Sphinx then finds the ``.mo`` files up to
    date."""
    if not _zh(app):
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


def _translate_toc_captions(app, doctree):
    """The table of contents' part captions in the edition's language.

    sphinx-external-toc adds the toctrees after Sphinx has translated the page, so their
    captions (extracted into the root page's catalogue) are translated here, from it."""
    if not _zh(app):
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
        href, label, lang, name = f"{up}zh/{pagename}.html", i18n.SWITCH_TO_ZH, "zh-CN", "中文版"
    return (
        f'<nav class="decaylab-lang-switch" aria-label="{"语言" if zh else "Language"}">'
        f'<a href="{esc(href)}" hreflang="{lang}" lang="{lang}" title="{esc(name)}">{esc(label)}</a></nav>'
    )


def _fix_navbar(app, config):
    # pydata-sphinx-theme issue 2451 (see the module docstring): no top bar, one toggle.
    options = dict(config.html_theme_options or {})
    options["navbar_persistent"] = []
    options["navbar_start"] = options["navbar_center"] = options["navbar_end"] = []
    config.html_theme_options = options


def _in_cell_output(node) -> bool:
    while node is not None:
        if "cell_output" in node.get("classes", ()):
            return True
        node = node.parent
    return False


def _link_full_size_images(app, doctree, docname):
    """Figures in cell outputs fill the text column and link to the full-size file.

    A width makes Sphinx wrap the image in a link to itself (its scaled-image link)."""
    for node in doctree.findall(nodes.image):
        if _in_cell_output(node) and not any(k in node for k in ("scale", "width", "height")):
            node["width"] = "100%"
            node["classes"].append("decaylab-figure-image")


def _page_context(app, pagename, templatename, context, doctree):
    if "body" in context:
        context["body"] = _language_switch(pagename, _zh(app)) + context["body"]
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


_FA_PACK = re.compile(r'var p=\{(.*?)\};.*?d\("(fab|fas|far)",p\)', re.S)
_FA_ICON = re.compile(r'(?:"([a-z0-9-]+)"|([a-z0-9_$]+)):\[(\d+),(\d+),\[[^\]]*\],"[0-9a-f]+","(M[^"]+)"\]')
_FA_USE = re.compile(r'class="([^"]*\bfa-[^"]*)"')
_FA_PREFIX = {
    "fa-solid": "fas",
    "fas": "fas",
    "fa-brands": "fab",
    "fab": "fab",
    "fa-regular": "far",
    "far": "far",
}
_FA_SCRIPT = re.compile(r'\s*<script defer src="[^"]*_static/scripts/fontawesome\.js[^"]*"></script>')


def _icons_css(fontawesome_js: Path, used: set[tuple[str, str]]) -> str:
    source = fontawesome_js.read_text(encoding="utf-8")
    packs: dict[str, dict[str, tuple[int, int, str]]] = {}
    for body, prefix in _FA_PACK.findall(source):
        for quoted, bare, w, h, path in _FA_ICON.findall(body):
            packs.setdefault(prefix, {})[quoted or bare] = (int(w), int(h), path)
    rules = [
        "/* Font Awesome Free icons (https://fontawesome.com, CC BY 4.0): only those the pages use,",
        "   as CSS masks, generated by book/_ext/decaylab_book.py in place of the 1.5 MB script. */",
        ".fa-solid,.fas,.fa-brands,.fab,.fa-regular,.far{display:inline-block;width:1em;height:1em;"
        "vertical-align:-0.125em;background-color:currentColor;"
        "-webkit-mask:var(--dl-icon) center/contain no-repeat;mask:var(--dl-icon) center/contain no-repeat}",
        ".fa-lg{font-size:1.25em;line-height:0.05em;vertical-align:-0.2em}",
        # the theme's CSS also draws each icon as a glyph of the web font: not any more
        ".fa-solid::before,.fas::before,.fa-brands::before,.fab::before,.fa-regular::before,.far::before"
        "{content:none!important}",
    ]
    missing = []
    for prefix, name in sorted(used):
        icon = packs.get(prefix, {}).get(name)
        if icon is None:
            missing.append(f"{prefix} {name}")
            continue
        w, h, path = icon
        svg = f"<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {w} {h}'><path d='{path}'/></svg>"
        data = urllib.parse.quote(svg, safe=" /:=',")
        selectors = ",".join(f".{p}.fa-{name}" for p, q in _FA_PREFIX.items() if q == prefix)
        rules.append(f'{selectors}{{--dl-icon:url("data:image/svg+xml,{data}");width:{w / h:.4g}em}}')
    if missing:
        raise ExtensionError(
            f"icons used by the pages but not found in {fontawesome_js.name}: {', '.join(missing)}"
        )
    return "\n".join(rules) + "\n"


_FA_FACES = (  # the Font Awesome web fonts the theme's CSS declares: family, weight, file
    ("Font Awesome 6 Free", 900, "fa-solid-900.ttf"),
    ("Font Awesome 6 Free", 400, "fa-regular-400.ttf"),
    ("Font Awesome 6 Brands", 400, "fa-brands-400.ttf"),
)
_CSS_RULE = re.compile(r"([^{}]*)\{([^{}]*)\}")
_PUA = re.compile(r"[\ue000-\uf8ff]|\\(f[0-9a-f]{3}|e[0-9a-f]{3})\b", re.I)


def _icon_font_faces(static: Path) -> str:
    """The theme's CSS draws a few icons with Font Awesome's web fonts (breadcrumbs, external
    links, admonitions): 400 KB of fonts. Subset each font to the icons the CSS names and
    declare the subsets after the theme's own @font-face rules (the last rule wins, so the
    full fonts are never fetched)."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    used = set()
    for css in static.rglob("*.css"):  # the theme's own rules, not Font Awesome's ".fa-*" list
        if "vendor" in css.relative_to(static).parts:
            continue
        for selector, declarations in _CSS_RULE.findall(css.read_text(encoding="utf-8", errors="replace")):
            if ".fa-" in selector or selector.lstrip().startswith(".fa"):
                continue
            for match in _PUA.finditer(declarations):
                used.add(int(match.group(1), 16) if match.group(1) else ord(match.group(0)))
    rules = []
    for family, weight, name in _FA_FACES:
        source = static / "vendor" / "fontawesome" / "webfonts" / name
        if not source.exists():
            continue
        font = TTFont(source)
        codepoints = sorted(used & set(font.getBestCmap()))
        if not codepoints:
            continue
        options = subset.Options()
        options.flavor = "woff"
        options.layout_features = []
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=codepoints)
        subsetter.subset(font)
        target = static / "fonts" / f"{Path(name).stem}-subset.woff"
        target.parent.mkdir(exist_ok=True)
        font.flavor = "woff"
        font.save(target)
        rules.append(
            f'@font-face{{font-family:"{family}";font-style:normal;font-weight:{weight};font-display:block;'
            f'src:url("fonts/{target.name}") format("woff")}}'
        )
    return "\n".join(rules) + "\n"


def _smaller_figures(images: Path) -> None:
    """Figures are served as 256-colour PNGs (Pillow's octree quantizer, no dithering): a
    third of the bytes, no visible change for plots. The notebooks keep the full images."""
    import io

    from PIL import Image

    for path in images.glob("*.png"):
        with Image.open(path) as im:
            im.load()
            mode = "RGBA" if im.mode in ("RGBA", "LA", "P") else "RGB"
            quantized = im.convert(mode).quantize(
                colors=256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE
            )
        buffer = io.BytesIO()
        quantized.save(buffer, "PNG", optimize=True)
        if buffer.tell() < path.stat().st_size:
            path.write_bytes(buffer.getvalue())


def _finish(app, exception):
    """Replace Font Awesome's script by the icons the pages use; ship no source maps."""
    if exception is not None or app.builder.format != "html":
        return
    out = Path(app.outdir)
    static = out / "_static"
    pages = list(out.rglob("*.html"))
    used: set[tuple[str, str]] = set()
    for page in pages:
        for classes in _FA_USE.findall(page.read_text(encoding="utf-8")):
            words = classes.split()
            prefix = next((_FA_PREFIX[w] for w in words if w in _FA_PREFIX), None)
            for w in words:
                if prefix and w.startswith("fa-") and w not in _FA_PREFIX and w not in ("fa-lg", "fa-fw"):
                    used.add((prefix, w[3:]))
    fontawesome = static / "scripts" / "fontawesome.js"
    if fontawesome.exists():
        css = _icons_css(fontawesome, used) + _icon_font_faces(static)
        (static / ICONS_CSS).write_text(css, encoding="utf-8")
        fontawesome.unlink()
        for extra in static.glob("scripts/fontawesome.js.*"):
            extra.unlink()
    for page in pages:
        text = page.read_text(encoding="utf-8")
        new = _FA_SCRIPT.sub("", text)
        # docutils marks bibliography entries role="doc-biblioentry" inside role="list": a
        # list may hold only list items (axe: aria-required-children, critical).
        new = new.replace('role="doc-biblioentry"', 'role="listitem"')
        if new != text:
            page.write_text(new, encoding="utf-8")
    _smaller_figures(out / "_images")
    for source_map in out.rglob("*.map"):
        source_map.unlink()
    for asset in [*static.rglob("*.js"), *static.rglob("*.css")]:
        text = asset.read_text(encoding="utf-8", errors="surrogateescape")
        new = re.sub(r"\n?/[/*][#@] sourceMappingURL=[^\n]*?(\*/)?$", "", text, flags=re.M)
        if new != text:
            asset.write_text(new, encoding="utf-8", errors="surrogateescape")


def setup(app):
    _register_bib_style()
    app.add_directive("claims-ledger", ClaimsLedger)
    app.add_directive("claims-checklist", ClaimsChecklist)
    app.add_directive("claim-box", ClaimBox)
    app.add_directive("nbval-ignored-cells", NbvalIgnoredCells)
    app.add_directive("output-tolerances", OutputTolerances)
    app.add_directive("rule-error-rates", RuleErrorRates)
    app.add_directive("post-key", PostKey)
    app.add_css_file(ICONS_CSS)
    app.add_js_file(SITE_JS, loading_method="defer")
    app.add_config_value("decaylab_title_zh", "", "html")
    app.connect("config-inited", _fix_navbar)
    app.connect("config-inited", _edition)
    app.connect("builder-inited", _compile_catalogues)
    app.connect("doctree-resolved", _link_full_size_images)
    app.connect("doctree-resolved", _fill_titles)
    app.connect("doctree-read", _translate_toc_captions)
    # Early (priority 1): html-page-context stops at the first listener that returns a template.
    app.connect("html-page-context", _page_context, priority=1)
    app.connect("build-finished", _finish)
    return {"version": "2.0", "parallel_read_safe": True, "parallel_write_safe": True}
