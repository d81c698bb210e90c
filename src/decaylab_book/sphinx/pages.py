"""The pages generated from the notebooks: the claims ledger, the checklist, a verdict box on
the landing page, and the reproducibility page's tables (tolerances, the rule's error rates,
cells not compared). Each directive reads the notebooks at build time and registers them as
dependencies of its page."""

from __future__ import annotations

import re
from typing import ClassVar

from docutils import nodes
from docutils.parsers.rst import Directive, directives
from sphinx.errors import ExtensionError

from decaylab import verdicts
from decaylab.claims import ANCHORS, POSTS, VERDICTS, ClaimRecord

from .. import boxes
from ..files import IGNORE_REASON, IGNORE_TAG, TOLERANCE_REASON, ignored_cells, toleranced_cells
from ..ledger import SEED_CLAIMS, evidence_summary
from .common import (
    _SLUGS,
    Words,
    _notebook_names,
    _notebooks,
    _raw,
    _records,
    _root,
    _scroll_box,
    _title,
    _uri,
    _verdict_badge,
    esc,
)


def _evidence_details(rec: ClaimRecord, words: Words, checked_as: bool = False) -> str:
    """The evidence behind a disclosure: the checks, the rule and result, caveat and note."""
    items = "".join(
        f"<li>{esc(words.text(e.label))}"
        + (f"{words.edition.colon}<code>{esc(words.edition.shown(e.shown))}</code>" if e.shown else "")
        + "</li>"
        for e in rec.evidence
    )
    parts = []
    if checked_as:
        statement = words.text(rec.statement)
        parts.append(f'<p class="ledger-checked-as"><b>{words("Checked as:")}</b> {esc(statement)}</p>')
    if rec.decision:
        rule = words.decision(rec)[1]
        parts.append(
            f'<p class="ledger-rule"><b>{words("Rule (declared before the run):")}</b> {esc(rule)}</p>'
        )
    if items:
        parts.append(f'<ul class="ledger-checks">{items}</ul>')
    if rec.note:
        parts.append(f'<p class="ledger-note"><b>{words("Note:")}</b> {esc(words.text(rec.note))}</p>')
    n = len(rec.evidence) + (rec.decision is not None)
    summary = words.count(n, words("Evidence"))
    return f'<details class="ledger-evidence"><summary>{summary}</summary>{"".join(parts)}</details>'


def _claim_cell(text: str, rec: ClaimRecord, link: str, words: Words, checked_as: bool = False) -> str:
    out = f'<p class="ledger-claim">{esc(text)}</p>'
    if rec.decision:
        d = rec.decision
        shown = words.decision(rec)[0]
        out += (
            f'<p class="ledger-decision"><b>{d.n} {words("seeds")}:</b> <code>{esc(shown)}</code> '
            f"→ {esc(words.concluded(d))}</p>"
        )
    if rec.caveat:
        caveat = words.text(rec.caveat)
        out += f'<p class="ledger-caveat"><b>{words("Caveat:")}</b> {esc(caveat)}</p>'
    out += f'<p class="ledger-where">{words("Checked in")} {link}</p>'
    return out + _evidence_details(rec, words, checked_as=checked_as)


def _filter_bar(
    table_id: str, what: str, groups: list[tuple[str, str]], verdicts: list[str], words: Words
) -> str:
    """Two selects (group, verdict) that filter the rows of the table ``table_id``.

    Hidden until the script runs, so a reader without JavaScript sees the full table."""
    group_options = "".join(f'<option value="{esc(v)}">{label}</option>' for v, label in groups)
    verdict_options = "".join(
        f'<option value="{_SLUGS[v]}">{esc(words.verdict(v))}</option>' for v in verdicts
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


class ClaimsLedger(Directive):
    option_spec: ClassVar[dict] = {
        "part": lambda arg: directives.choice(arg, ("seed", "anchors", "book")),
    }

    def run(self):
        env = self.state.document.settings.env
        words = Words(env)
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
                post = f'<span class="ledger-post">{esc(words("post", "博文"))}&nbsp;{esc(seed.post)}</span>'
                text = words.text(seed.claim)
                claim_cell = _claim_cell(text, rec, link(rec), words, checked_as=True)
                rows.append((data, [post, claim_cell, _verdict_badge(rec.verdict, words)]))
            groups = [(p, esc(f"{words('post', '博文')} {p}")) for p in POSTS]
            headers, what = [words("Post"), words("Claim (paraphrased)"), words("Verdict")], words("Post")
        elif part == "anchors":
            for rec in records:
                if rec.source in ANCHORS:
                    data = {"group": rec.source, "verdict": rec.slug}
                    full = words.source(ANCHORS[rec.source])  # e.g. "Loshchilov & Hutter, Decoupled ..."
                    short = re.split(r"[,，]", full)[0]
                    source = f'<span class="ledger-source" title="{esc(full)}">{esc(short)}</span>'
                    claim_cell = _claim_cell(words.text(rec.statement), rec, link(rec), words)
                    rows.append((data, [source, claim_cell, _verdict_badge(rec.verdict, words)]))
            present = {d["group"] for d, _ in rows}
            groups = [(a, esc(words.source(ANCHORS[a]))) for a in ANCHORS if a in present]
            headers, what = [words("Source"), words("Claim"), words("Verdict")], words("Source")
        else:
            for rec in records:
                if rec.source == "book":
                    data = {"group": rec.notebook, "verdict": rec.slug}
                    claim_cell = _claim_cell(words.text(rec.statement), rec, link(rec), words)
                    rows.append((data, [claim_cell, _verdict_badge(rec.verdict, words)]))
            present = {d["group"] for d, _ in rows}
            groups = [(nb, _title(nb)) for nb in _notebook_names(env) if nb in present]
            headers, what = [words("The book's own claim"), words("Verdict")], words("Chapter")
        if not rows:
            return [nodes.paragraph(text=words(f"No {part} claims are checked yet.", "尚无论断。"))]
        verdicts = [v for v in VERDICTS if any(d["verdict"] == _SLUGS[v] for d, _ in rows)]
        tally = [(sum(d["verdict"] == _SLUGS[v] for d, _ in rows), words.verdict(v)) for v in verdicts]
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
        words = Words(env)
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
            caveat = words.text(rec.caveat)
            items.append(
                f'<li class="decaylab-checklist-item checklist-{rec.slug}">'
                f'<input type="checkbox" id="{box}">'
                f'<label for="{box}">{esc(words.text(rec.statement))}</label> '
                f"{_verdict_badge(rec.verdict, words)} "
                f'<a class="ledger-link" href="{esc(_uri(env, name, "claim-" + rec.id))}">{esc(words("see the check"))}</a>'
                + (
                    f'<p class="ledger-caveat"><b>{words("Caveat:")}</b> {esc(caveat)}</p>'
                    if rec.caveat
                    else ""
                )
                + f'<p class="checklist-evidence">{esc(evidence_summary(rec, edition=words.edition))}</p>'
                + "</li>"
            )
        return [_raw(f'<ol class="decaylab-checklist">{"".join(items)}</ol>')]


class ClaimBox(Directive):
    """The verdict box of one claim, as its chapter stored it (for the landing page); with
    ``:folded:``, folded as the chapters show their boxes (a chapter's opening answer, which
    links to the box where the chapter checks it)."""

    required_arguments = 1
    option_spec: ClassVar[dict] = {"folded": directives.flag}

    def run(self):
        env = self.state.document.settings.env
        claim_id = self.arguments[0].strip()
        rec = next((r for r in _records(env) if r.id == claim_id), None)
        if rec is None:
            raise self.error(f"claim-box: no claim record {claim_id!r} in the notebooks")
        words = Words(env)
        link = f'<p class="ledger-where">{words("Checked in")} <a href="{esc(_uri(env, rec.notebook, "claim-" + rec.id))}">{_title(rec.notebook)}</a></p>'
        if "folded" in self.options:
            return [_raw(boxes.render_folded(rec, words.edition, anchor=False) + link)]
        return [_raw(boxes.render(rec, words.edition, anchor=False) + link)]


def _own_rows(lines: dict) -> str:
    """A toleranced cell's rows with a tolerance of their own: ``row: units (measured spread)``."""
    return "; ".join(
        f"<code>{esc(k.strip())}</code>: {v['units']:g} ({v['spread']:.3g})" for k, v in lines.items()
    )


class OutputTolerances(Directive):
    """Every cell whose training summaries are compared within a tolerance, and why."""

    def run(self):
        env = self.state.document.settings.env
        words = Words(env)
        _notebooks(env)
        cells = toleranced_cells(_root(env))
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
                f"<br>{esc(words.text(c.why))}" if c.why and c.why != TOLERANCE_REASON else ""
            )
            rows += (
                f"<tr><td>{chapter}</td><td>{c.code_cell} (<code>{first}</code>)</td>"
                f"<td>{c.units:g}</td><td>{c.spread:.3g}</td><td>{own}</td></tr>"
            )
        lead = words(
            f"Unless a row says otherwise, a tolerance covers {TOLERANCE_REASON}.",
            f"除非某行另有说明，容差针对的都是{words.text(TOLERANCE_REASON)}。",
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

        words = Words(self.state.document.settings.env)
        head = f"<th>{esc(words('True effect / margin', '真实效应 / 最小有意义差异'))}</th>"
        for spread in self.SPREADS:
            label = words(f"spread {spread:g} × margin", f"离散 {spread:g} × 最小有意义差异")
            head += f'<th colspan="4">{esc(label)}</th>'
        outcomes = (verdicts.HOLDS, verdicts.FAILS, verdicts.UNSETTLED)
        sub = "<th></th>" + "".join(
            f"<th>{esc(label)}</th>"
            for _ in self.SPREADS
            for label in [*(words.verdict(o.word) for o in outcomes), words("mean seeds", "平均种子数")]
        )
        rows = ""
        for effect in self.EFFECTS:
            cells = f"<td>{effect:g}</td>"
            for spread in self.SPREADS:
                r = error_rates(effect, spread, 1.0, trials=self.TRIALS, seed=0)
                cells += "".join(f"<td>{100 * r[o.word]:.1f}%</td>" for o in outcomes)
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
        words = Words(env)
        _notebooks(env)
        cells = ignored_cells(_root(env))
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
            f"{esc(words.text(c.reason))}</li>"
            for c in cells
        )
        return [_raw(f'<ul class="decaylab-ignored-cells">{items}</ul>')]


#: The packages the version tables name, with their labels in both editions; the versions
#: come from requirements.txt (and Python's from pyproject.toml), never typed in a page.
PINNED = {
    "torch": ("PyTorch (CPU build)", "PyTorch（CPU 版）"),
    "paddlepaddle": ("PaddlePaddle (CPU)", "PaddlePaddle（CPU）"),
    "keras": ("Keras (PyTorch backend)", "Keras（PyTorch 后端）"),
    "numpy": ("NumPy", "NumPy"),
    "scikit-learn": ("scikit-learn (digits data)", "scikit-learn（digits 数据）"),
    "scipy": ("SciPy (decision rules)", "SciPy（判定规则）"),
    "mnist1d": ("mnist1d (data generated locally)", "mnist1d（数据在本地生成）"),
    "jupyter-book": ("Jupyter Book", "Jupyter Book"),
    "sphinx-book-theme": ("sphinx-book-theme", "sphinx-book-theme"),
    "pydata-sphinx-theme": ("pydata-sphinx-theme", "pydata-sphinx-theme"),
    "playwright": (
        "Playwright (browser test, with Debian's Chromium)",
        "Playwright（浏览器测试，使用 Debian 的 Chromium）",
    ),
    "axe-playwright-python": (
        "axe-playwright-python (accessibility checks)",
        "axe-playwright-python（无障碍检查）",
    ),
    "sphinx-intl": ("sphinx-intl (the Chinese edition's catalogues)", "sphinx-intl（中文版的消息目录）"),
}


def pins(root) -> dict[str, str]:
    """``{package: version}`` of every ``name==version`` line of ``requirements.txt``, and
    ``python`` from ``requires-python`` in ``pyproject.toml``."""
    import tomllib

    found = {}
    for line in (root / "requirements.txt").read_text(encoding="utf-8").splitlines():
        m = re.match(r"^([A-Za-z0-9_.-]+)==(\S+)", line.strip())
        if m:
            found[m.group(1).lower()] = m.group(2)
    project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    found["python"] = project["requires-python"].removeprefix(">=")
    return found


class PinnedVersions(Directive):
    """The versions the results hold for, read from ``requirements.txt`` (``:packages:`` a
    space-separated subset of :data:`PINNED`; all by default)."""

    option_spec: ClassVar[dict] = {"packages": directives.unchanged}

    def run(self):
        env = self.state.document.settings.env
        words = Words(env)
        root = _root(env)
        env.note_dependency(str(root / "requirements.txt"))
        env.note_dependency(str(root / "pyproject.toml"))
        found = pins(root)
        wanted = self.options.get("packages", "").split() or list(PINNED)
        unknown = [p for p in wanted if p not in PINNED]
        if unknown:
            raise self.error(f"pinned-versions: unknown packages {unknown} (known: {', '.join(PINNED)})")
        missing = [p for p in wanted if p not in found]
        if missing:
            raise self.error(f"pinned-versions: requirements.txt pins no {missing}")
        rows = f"<tr><td>Python</td><td>{esc(found['python'])}</td></tr>" + "".join(
            f"<tr><td>{esc(words(*PINNED[p]))}</td><td>{esc(found[p])}</td></tr>" for p in wanted
        )
        head = f'<th scope="col">{esc(words("Package", "软件包"))}</th><th scope="col">{esc(words("Version", "版本"))}</th>'
        return [
            _raw(
                f'<table class="decaylab-versions"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>'
            )
        ]


# -- citing a claim in the prose ------------------------------------------------------------------


def claim_role(name, rawtext, text, lineno, inliner, options=None, content=()):
    """``{claim}`id``` in the prose: the claim's verdict, as its record says, linked to its box.

    A sentence that states a result cites the claim behind it this way, so the prose cannot
    show another verdict than the chapter printed; an id with no record stops the build."""
    env = inliner.document.settings.env
    claim_id = text.strip()
    rec = next((r for r in _records(env) if r.id == claim_id), None)
    if rec is None:
        msg = inliner.reporter.error(f"claim: no claim record {claim_id!r} in the notebooks", line=lineno)
        return [inliner.problematic(rawtext, rawtext, msg)], [msg]
    words = Words(env)
    node = nodes.reference(
        rawtext,
        words.verdict(rec.verdict),
        refuri=_uri(env, rec.notebook, "claim-" + rec.id),
        classes=["claim-ref", "ledger-verdict", f"ledger-{rec.slug}"],
        internal=True,
    )
    node["reftitle"] = rec.id
    return [node], []


class ClaimSummary(Directive):
    """The verdicts of the current chapter, generated from its claim records: each claim's
    statement and verdict, linked to its box (the end of every chapter)."""

    def run(self):
        env = self.state.document.settings.env
        name = env.docname.removeprefix("book/")
        mine = [r for r in _records(env) if r.notebook == name]
        if not mine:
            raise self.error(f"claim-summary: {env.docname} stores no claim records (execute it first)")
        words = Words(env)
        items = "".join(
            f'<li class="claim-summary-item">{_verdict_badge(rec.verdict, words)} '
            f'<a class="ledger-link" href="{esc(_uri(env, name, "claim-" + rec.id))}">{esc(words.text(rec.statement))}</a>'
            + (
                f'<br><span class="ledger-caveat"><b>{words("Caveat:")}</b> {esc(words.text(rec.caveat))}</span>'
                if rec.caveat
                else ""
            )
            + "</li>"
            for rec in mine
        )
        return [_raw(f'<ul class="decaylab-claim-summary">{items}</ul>')]


class DecayExplorer(Directive):
    """The primer's interactive figure: a ``div.decay-explorer`` holding the constants
    :func:`decaylab.explorer.constants` gives at build time (``_static/decay-explorer.js``,
    loaded by ``decaylab.js`` on this page only, draws the figure from them)."""

    def run(self):
        import json

        from decaylab import explorer

        words = Words(self.state.document.settings.env)
        data = json.dumps(explorer.constants(), ensure_ascii=False).replace("</", "<\\/")
        fallback = words(
            "This figure needs JavaScript; the figures above draw the same formulas.",
            "这张图需要 JavaScript；上面的图画的是同样的公式。",
        )
        return [
            _raw(
                '<div class="decay-explorer">'
                f'<script type="application/json" class="decay-explorer-data">{data}</script>'
                f"<noscript><p>{esc(fallback)}</p></noscript></div>"
            )
        ]


class ChineseTerms(Directive):
    """The Chinese edition's terms (:data:`decaylab_book.editions.TERMS`), which the
    translation lint enforces: one concept, one term."""

    def run(self):
        from .. import editions

        words = Words(self.state.document.settings.env)
        head = "".join(
            f"<th>{esc(h)}</th>"
            for h in (
                words("Concept", "概念"),
                words("The Chinese edition writes", "中文版写法"),
                words("Not", "不用"),
                words("Why", "原因"),
            )
        )
        rows = "".join(
            f"<tr><td>{esc(t.concept)}</td><td>{esc(t.preferred)}</td><td>{esc(t.refused)}</td>"
            f"<td>{esc(words(t.why, t.why_zh))}</td></tr>"
            for t in editions.TERMS
        )
        table = f'<table class="table"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>'
        return [_raw(_scroll_box(table, words("The Chinese edition's terms", "中文版的术语")))]
