"""The references: the key of the four source posts (from ``book/references.bib``) and the
bibliography style that labels them "post 000" ... "post 003"."""

from __future__ import annotations

import re
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
                f'<dt id="post-{post}">{esc(words("post", "博文"))} {post}</dt>'
                f"<dd><cite>{esc(_plain(f.get('title_zh', f['title']) if words.zh else f['title']))}</cite>{'。' if words.zh else '. '}{text}</dd>"
            )
        return [_raw(f'<dl class="decaylab-post-key">{"".join(items)}</dl>')]


# ----------------------------------------------------------------------------- the Chinese bibliography

#: Where the Chinese edition's bibliography is written (relative to the source directory).
ZH_BIB = "_build/bib/references-zh.bib"
_FIELD = re.compile(r"^(\s*)([a-z]+)_zh(\s*=.*)$")


def zh_bib(text: str) -> str:
    r"""``references.bib`` for the Chinese edition: in each entry, a field ``X_zh`` replaces
    ``X`` (a title, a site, a note, an address, a label), so that the bibliography, its labels
    and the citations' tooltips read in Chinese where the entry gives Chinese; the titles of
    English works stay as they are, like every name.

    >>> print(zh_bib("@misc{a,\n  title = {{A}},\n  title_zh = {{文}},\n  year = {2021}\n}"))
    @misc{a,
      title = {{文}},
      year = {2021}
    }
    """
    out = []
    for entry in re.split(r"(?=^@)", text, flags=re.M):
        lines = entry.split("\n")
        chinese = {m.group(2) for line in lines if (m := _FIELD.match(line))}
        kept = []
        for line in lines:
            m = _FIELD.match(line)
            field = re.match(r"^\s*([a-z]+)\s*=", line)
            if m:
                kept.append(f"{m.group(1)}{m.group(2)}{m.group(3)}")
            elif not (field and field.group(1) in chinese):
                kept.append(line)
        out.append("\n".join(kept))
    return "".join(out)


def write_zh_bib(srcdir: Path) -> str:
    """Write :data:`ZH_BIB` from ``book/references.bib``; return its path for ``bibtex_bibfiles``."""
    target = srcdir / ZH_BIB
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(
        zh_bib((srcdir / "book" / "references.bib").read_text(encoding="utf-8")), encoding="utf-8"
    )
    return ZH_BIB


# ----------------------------------------------------------------------------- bibliography style

#: The pybtex style of the Chinese edition's bibliography (:func:`register_bib_style`).
ZH_STYLE = "decaylab-zh"


def register_bib_style() -> None:
    from pybtex.plugin import register_plugin
    from pybtex.style.formatting import toplevel
    from pybtex.style.formatting.unsrt import Style as Unsrt
    from pybtex.style.formatting.unsrt import pages
    from pybtex.style.labels import BaseLabelStyle
    from pybtex.style.sorting import BaseSortingStyle
    from pybtex.style.template import names, optional, optional_field, sentence, words

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

    class DecaylabZhStyle(DecaylabStyle):
        """The Chinese edition's style: names joined by 、 instead of "and", and a proceedings
        paper's "In" as 载于 (the fields themselves come from :func:`zh_bib`)."""

        def format_names(self, role, as_sentence=True):
            joined = names(role, sep="、", sep2="、", last_sep="、")
            return sentence[joined] if as_sentence else joined

        def get_inproceedings_template(self, e):
            return toplevel[
                sentence[self.format_names("author")],
                self.format_title(e, "title"),
                words[
                    "载于",
                    sentence[
                        optional[self.format_editor(e, as_sentence=False)],
                        self.format_btitle(e, "booktitle", as_sentence=False),
                        self.format_volume_and_series(e, as_sentence=False),
                        optional[pages],
                    ],
                    self.format_address_organization_publisher_date(e),
                ],
                sentence[optional_field("note")],
                self.format_web_refs(e),
            ]

    register_plugin("pybtex.style.formatting", "decaylab", DecaylabStyle, force=True)
    register_plugin("pybtex.style.formatting", ZH_STYLE, DecaylabZhStyle, force=True)
