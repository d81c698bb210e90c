"""The references: the key of the four source posts (from ``book/references.bib``) and the
bibliography style that labels them "post 000" ... "post 003"."""

from __future__ import annotations

import urllib.parse
from pathlib import Path

from docutils.parsers.rst import Directive

from decaylab.claims import POSTS

from .common import Words, _raw, esc


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
        words = Words(env)
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
                f"<dd><cite>{esc(_plain(f.get('title_zh', f['title']) if words.zh else f['title']))}</cite>{'。' if words.zh else '. '}{text}</dd>"
            )
        return [_raw(f'<dl class="decaylab-post-key">{"".join(items)}</dl>')]


# ----------------------------------------------------------------------------- bibliography style


def register_bib_style() -> None:
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
