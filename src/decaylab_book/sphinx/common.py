"""What the book's directives share: the notebooks and records of this build, the words of its
edition, links and placeholders for chapter titles."""

from __future__ import annotations

import html
import re
from pathlib import Path

from docutils import nodes
from sphinx.errors import ExtensionError

from decaylab import verdicts
from decaylab.claims import ClaimRecord

from .. import editions, files
from ..ledger import SEED_CLAIMS, check_ledger

esc = html.escape
_SLUGS = {v.word: v.slug for v in verdicts.ALL}


def is_zh(app_or_env) -> bool:
    """Whether this build is the Chinese edition."""
    return (app_or_env.config.language or "en") == editions.LANGUAGE


def edition(app_or_env) -> editions.Edition:
    return editions.CHINESE if is_zh(app_or_env) else editions.ENGLISH


class Words:
    """The words of this build's edition (:mod:`decaylab_book.editions`) for the directives:
    ``words("Verdict")`` a fixed word, ``words("English", "中文")`` a word given in both."""

    def __init__(self, env):
        self.edition = edition(env)
        self.zh = self.edition.zh

    def __call__(self, english: str, chinese: str | None = None) -> str:
        if not self.zh:
            return english
        return chinese if chinese is not None else self.edition.word(english)

    def text(self, english: str | None) -> str | None:
        """A claim text (statement, label, note, a post's claim, a reason) in this edition."""
        return self.edition.text(english)

    def verdict(self, verdict: str) -> str:
        return self.edition.verdict(verdict)

    def source(self, name: str) -> str:
        return self.edition.source(name)

    def decision(self, rec: ClaimRecord) -> tuple[str, str]:
        """A record's decision: (result line, rule)."""
        return self.edition.decision_shown(rec.decision), self.edition.rule(rec.decision)

    def concluded(self, decision) -> str:
        return self.edition.concluded(decision)

    def count(self, n: int, what: str) -> str:
        return self.edition.count(n, what)


def _root(env) -> Path:
    return Path(env.app.srcdir)


def _book_dir(env) -> Path:
    return _root(env) / "book"


def _notebooks(env) -> list[Path]:
    """The book's notebooks (the one list, :func:`decaylab_book.files.notebooks`), each noted as
    a dependency of the current page."""
    paths = files.notebooks(_root(env))
    for nb in paths:
        env.note_dependency(str(nb))
    return paths


def _records(env) -> list[ClaimRecord]:
    _notebooks(env)
    records = files.collect_records(_root(env))
    problems = check_ledger(records)
    if env.app.builder.name != "gettext":  # extracting the messages is how translation starts
        problems += editions.untranslated(records, ledger_texts())
    if problems:
        raise ExtensionError("claims ledger: " + "; ".join(problems))
    return records


def ledger_texts() -> list[str]:
    """The ledger's own texts that the claims catalogue translates: the posts' claims as the
    ledger paraphrases them and the sources' names."""
    from decaylab.claims import SOURCES

    return [seed.claim for seed in SEED_CLAIMS] + list(SOURCES.values())


def _title(notebook: str) -> str:
    """A placeholder for a chapter's title, replaced once every page is read (the title of the
    edition: translated in the Chinese one); see :func:`_fill_titles`."""
    return f"\u27e6doc-title:{notebook}\u27e7"


_TITLE_TOKEN = re.compile("\u27e6doc-title:([^\u27e7]+)\u27e7")


def fill_titles(app, doctree, docname):
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


def _verdict_badge(verdict: str, words: Words) -> str:
    return f'<span class="ledger-verdict ledger-{_SLUGS[verdict]}">{esc(words.verdict(verdict))}</span>'


def _raw(text: str) -> nodes.raw:
    return nodes.raw("", text, format="html")


def _scroll_box(table: str, label: str) -> str:
    """A table in a box that scrolls sideways when the page is narrower; focusable, so that a
    keyboard can scroll it too (axe: scrollable-region-focusable)."""
    return f'<div class="decaylab-wide" tabindex="0" role="region" aria-label="{esc(label)}">{table}</div>'
