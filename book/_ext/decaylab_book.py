"""Sphinx extension of the book: the claims ledger, and one fix to the page scripts.

1. The ``claims-ledger`` directive, built from the notebooks' claim records.

    ```{claims-ledger}
    :part: seed
    ```

``:part: seed`` lists every claim of the four source posts (``decaylab.ledger.SEED_CLAIMS``)
with the verdict and evidence of the record that checks it; ``:part: book`` lists the
book's own claims. The records are read from the stored notebook outputs at build time,
and every notebook is registered as a dependency of the ledger page, so the page is
rebuilt whenever a chapter's outputs change. A seed claim without a record, or a record
without a check, stops the build with an error.

2. Duplicate inline scripts are dropped from each page. sphinx-thebe registers its
   configuration script (``const THEBE_JS_URL = ...``) on every ``env-before-read-docs``
   event, which fires more than once per build here; the second copy re-declares a
   ``const`` and raises a JavaScript error in the reader's browser.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from docutils import nodes
from docutils.parsers.rst import Directive, directives
from sphinx.errors import ExtensionError

from decaylab.ledger import SEED_CLAIMS, check_ledger, collect_records, evidence_summary

VERDICT_CLASS = {"holds": "holds", "holds with a caveat": "caveat", "does not hold": "fails"}


def _cell(content) -> nodes.entry:
    entry = nodes.entry()
    if isinstance(content, nodes.Node):
        entry += content
    else:
        entry += nodes.paragraph(text=str(content))
    return entry


def _table(headers: list[str], rows: list[list], widths: list[int]) -> nodes.table:
    table = nodes.table(classes=["decaylab-ledger", "colwidths-given"])
    group = nodes.tgroup(cols=len(headers))
    table += group
    for w in widths:
        group += nodes.colspec(colwidth=w)
    head = nodes.thead()
    row = nodes.row()
    for h in headers:
        row += _cell(h)
    head += row
    group += head
    body = nodes.tbody()
    for values in rows:
        row = nodes.row()
        for v in values:
            row += _cell(v)
        body += row
    group += body
    return table


class ClaimsLedger(Directive):
    option_spec: ClassVar[dict] = {"part": lambda arg: directives.choice(arg, ("seed", "book"))}

    def run(self):
        env = self.state.document.settings.env
        app = env.app
        book_dir = Path(app.srcdir) / "book"
        for nb in sorted(book_dir.rglob("*.ipynb")):
            env.note_dependency(str(nb))
        records = collect_records(book_dir)
        problems = check_ledger(records)
        if problems:
            raise ExtensionError("claims ledger: " + "; ".join(problems))
        by_id = {r["id"]: r for r in records}

        def link(rec) -> nodes.paragraph:
            target = "book/" + rec["notebook"]
            uri = app.builder.get_relative_uri(env.docname, target) + f"#claim-{rec['id']}"
            para = nodes.paragraph()
            para += nodes.reference("", rec["notebook"].replace("_", " "), refuri=uri, internal=True)
            return para

        def verdict(rec) -> nodes.paragraph:
            para = nodes.paragraph()
            para += nodes.inline(
                text=rec["verdict"], classes=["ledger-verdict", f"ledger-{VERDICT_CLASS[rec['verdict']]}"]
            )
            return para

        def evidence(rec) -> str:
            text = evidence_summary(rec)
            return f"{text}. Caveat: {rec['caveat']}" if rec.get("caveat") else text

        part = self.options.get("part", "seed")
        if part == "seed":
            rows = []
            for seed in SEED_CLAIMS:
                rec = by_id[seed.checked_by]
                rows.append([seed.claim, seed.post, verdict(rec), evidence(rec), link(rec)])
            return [
                _table(
                    ["Claim (paraphrased)", "Post", "Verdict", "Measured evidence", "Checked in"],
                    rows,
                    [34, 6, 10, 38, 12],
                )
            ]
        rows = [
            [rec["statement"], verdict(rec), evidence(rec), link(rec)]
            for rec in records
            if rec["source"] == "book"
        ]
        return [
            _table(
                ["The book's own claim", "Verdict", "Measured evidence", "Checked in"], rows, [38, 10, 40, 12]
            )
        ]


def _drop_duplicate_scripts(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
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


def setup(app):
    app.add_directive("claims-ledger", ClaimsLedger)
    # Early (priority 1): html-page-context stops at the first listener that returns a template.
    app.connect("html-page-context", _drop_duplicate_scripts, priority=1)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
