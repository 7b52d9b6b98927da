"""Finds the words of a template that people read and that no translate tag wraps.

The template is tokenized with Django's own lexer; every template tag and variable is
blanked out (same length, so positions stay those of the source), and so is everything
between `{% blocktranslate %}` and its end. What is left is HTML: its text and the
attributes people read (title, placeholder, aria-label, alt, data-confirm) must hold no
letters, except the few words of ALLOWED (the product's name...). What `<code>` and
`<kbd>` hold is literal (a search syntax, a header's name) and stays as it is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.template.base import DebugLexer, TokenType

HUMAN_ATTRIBUTES = ("title", "placeholder", "aria-label", "alt", "data-confirm")
# Words that stay as they are in every language.
ALLOWED = frozenset({"deskbase", "HH:MM", "e.g.", "Markdown", "API", "SSO", "OIDC", "JSON", "CSV"})
BLANK = "\x00"

# Scripts, styles and code (literal: `<code>status:open</code>`) hold no words to translate.
_TAG = re.compile(r"<!--.*?-->|<(script|style|code|kbd)\b.*?</\1\s*>|<[^>]*>", re.S | re.I)
_ATTRIBUTE = re.compile(
    r"""\s({})\s*=\s*("([^"]*)"|'([^']*)')""".format("|".join(map(re.escape, HUMAN_ATTRIBUTES))),
    re.I,
)
_LETTER = re.compile(r"[^\W\d_]")
_ENTITY = re.compile(r"&[#a-zA-Z0-9]+;")


@dataclass(frozen=True)
class Text:
    """Words people read, not translated: where they are (offsets in the source)."""

    start: int
    end: int
    kind: str  # "text" or the attribute's name
    source: str

    @property
    def line(self) -> int:
        return self.source.count("\n", 0, self.start) + 1

    @property
    def words(self) -> str:
        return self.source[self.start : self.end]


def skeleton(source: str) -> str:
    """The source with template tags, variables, comments and translated passages blanked."""
    out = list(source)
    translating = 0
    commented = False
    for token in DebugLexer(source).tokenize():
        start, end = token.position
        contents = token.contents.split()
        name = contents[0] if contents and token.token_type == TokenType.BLOCK else ""
        if name in ("blocktranslate", "blocktrans"):
            translating += 1
        if name == "comment":
            commented = True
        if token.token_type != TokenType.TEXT or translating or commented:
            out[start:end] = BLANK * (end - start)
        if name in ("endblocktranslate", "endblocktrans"):
            translating -= 1
        if name == "endcomment":
            commented = False
    return "".join(out)


def _has_words(text: str) -> bool:
    text = _ENTITY.sub(" ", text).replace(BLANK, " ")
    words = [word for word in text.split() if word not in ALLOWED]
    return any(_LETTER.search(word) for word in words)


def untranslated(source: str) -> list[Text]:
    """Every run of text and every human attribute with letters outside translate tags."""
    bare = skeleton(source)
    found: list[Text] = []
    position = 0
    for match in _TAG.finditer(bare):
        if _has_words(bare[position : match.start()]):
            found.append(Text(position, match.start(), "text", source))
        position = match.end()
        if match.group(1) or match.group(0).startswith("<!--"):
            continue  # script, style, comment
        for attribute in _ATTRIBUTE.finditer(match.group(0)):
            group = 3 if attribute.group(3) is not None else 4
            if _has_words(attribute.group(group)):
                start = match.start() + attribute.start(group)
                end = match.start() + attribute.end(group)
                found.append(Text(start, end, attribute.group(1).lower(), source))
    if _has_words(bare[position:]):
        found.append(Text(position, len(bare), "text", source))
    return found


_LITERAL_DEFAULT = re.compile(
    r"""\|default(?:_if_none)?:(?:"[^"]*[^\W\d_][^"]*"|'[^']*[^\W\d_][^']*')"""
)


def literal_defaults(source: str) -> list[str]:
    """`|default:"none"` shows English words: `|default:_("none")` translates them."""
    return _LITERAL_DEFAULT.findall(source)
