"""The new part of an e-mail reply, separated from the quoted history (docs/mail-parsing.md).

Order: our own marker line first (every message we send starts with it), then the
separators that mail clients write above the quote (attribution lines such as
"On ... wrote:", Outlook's header blocks and "Original Message" lines, a trailing block
of "> " lines), then mail-parser-reply as the last resort. The visible part is never
empty when the message has text: if everything looks quoted, all of it stays visible.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass

from deskbase.core.sanitize import html_to_text

REPLY_MARKER = "##- Please type your reply above this line -##"

MAX_SCANNED_CHARS = 200_000  # past this the text is kept whole: no pathological regex work
MAX_LIBRARY_CHARS = 50_000  # mail-parser-reply's regexes are only run on texts up to this
_WINDOW = 3  # an attribution line may be wrapped over this many lines
_MAX_ATTRIBUTION_CHARS = 400

_QUOTE_PREFIX = r"(?:>[ \t]?)*"
# "wrote:" and its translations; the verb may come before the name ("Am ... schrieb X <x@y>:").
_VERBS = (
    r"wrote|writes|schrieb|schreef|skrev|skriver|a\s+écrit|écrit|escribió|escribio|"
    r"napisał\(a\)|napisała|napisał|napisal|scrisse|ha\s+scritto|escreveu|kirjoitti|"
    r"napsal|написал|написала|書きました|のメッセージ"
)
_VERB = re.compile(_VERBS, re.IGNORECASE)
_DATE_HINT = re.compile(r"\d{4}|\d{1,2}[:.]\d{2}|@")
# Japanese clients: "2022年1月1日(金) 9:00 田中太郎 <taro@example.com>:"
_JA_ATTRIBUTION = re.compile(
    rf"^{_QUOTE_PREFIX}\s*\d{{4}}年\d{{1,2}}月\d{{1,2}}日.*<[^>]+@[^>]+>.*[:\uff1a]\s*$"
)
_ORIGINAL_MESSAGE = re.compile(
    rf"^{_QUOTE_PREFIX}\s*[-_=]{{2,}}\s*(?:original\s+message|oprindelig\s+meddelelse|"
    r"ursprüngliche\s+nachricht|originalnachricht|oorspronkelijk\s+bericht|"
    r"ursprungligt\s+meddelande|message\s+d'origine|mensaje\s+original|"
    r"wiadomość\s+oryginalna|oryginalna\s+wiadomość|元のメッセージ|原始邮件)\s*[-_=]{2,}\s*$",
    re.IGNORECASE,
)
_HEADER_KEY = (
    r"from|von|van|fra|från|od|de|da|差出人|送信者|"
    r"sent|date|gesendet|datum|verzonden|verstuurd|sendt|skickat|wysłano|data|envoyé|enviado|"
    r"送信日時|日付|"
    r"to|an|aan|til|till|do|à|a|para|宛先|"
    r"cc|kopie|kopi|dw|"
    r"subject|betreff|onderwerp|emne|ämne|temat|objet|asunto|oggetto|件名"
)
_HEADER_LINE = re.compile(rf"^{_QUOTE_PREFIX}\s*\*?(?:{_HEADER_KEY})\*?\s*[:\uff1a]", re.IGNORECASE)
_FROM_LINE = re.compile(
    rf"^{_QUOTE_PREFIX}\s*\*?(?:from|von|van|fra|från|od|de|差出人|送信者)\*?\s*[:\uff1a]\s*\S",
    re.IGNORECASE,
)
_RULE = re.compile(r"^\s*(?:[-_]\s*){5,}$")
_QUOTED = re.compile(r"^\s*>")

_REPLY_LANGUAGES = ["en", "de", "nl", "sv", "da", "pl", "ja", "fr", "es"]


@dataclass
class _Cut:
    start: int  # first line of the quote (or of the separator above it)
    end: int  # line after the separator


def split_reply(text: str, html: str | None = None) -> tuple[str, str]:
    """(visible, quoted) for a reply's text; `html` is read only when there is no text."""
    if not (text or "").strip() and html:
        text = html_to_text(html)
    text = (text or "").replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        return "", ""
    if len(text) > MAX_SCANNED_CHARS:
        head, tail = text[:MAX_SCANNED_CHARS], text[MAX_SCANNED_CHARS:]
        visible, quoted = split_reply(head)
        return (visible, quoted + tail) if quoted else (text.strip("\n").rstrip(), "")
    lines = text.split("\n")
    line = _marker_line(lines)
    if line is not None:  # everything below our marker is ours: nothing else is looked at
        start = _attribution_above(lines, line)
        if _has_content(lines[:start]):
            return _split(lines, start)
        return text.strip("\n").rstrip(), ""
    scanned = 0  # lines before this are separators skipped for having no text above them
    for cut in _client_separators(lines):
        if _has_content(lines[scanned : cut.start]):
            return _split(lines, cut.start)
        scanned = max(scanned, cut.end)
    library = _library_cut(text, lines)
    if library is not None and _has_content(lines[:library]):
        return _split(lines, library)
    return text.strip("\n").rstrip(), ""


def _split(lines: list[str], start: int) -> tuple[str, str]:
    visible = "\n".join(lines[:start]).strip("\n").rstrip()
    quoted = "\n".join(lines[start:]).strip("\n").rstrip()
    return visible, quoted


def _has_content(lines: list[str]) -> bool:
    return any(line.strip(" \t>") for line in lines)


def _marker_line(lines: list[str]) -> int | None:
    for index, line in enumerate(lines):
        if REPLY_MARKER in line:
            return index
    return None


def _attribution_above(lines: list[str], marker: int) -> int:
    """The first line of the client's attribution or header block right above our marker."""
    above = marker
    while above > 0 and not lines[above - 1].strip(" \t>"):
        above -= 1
    # "On ... wrote:", possibly wrapped over a few lines: the smallest window that reads as
    # one, then the lines above it that look like its start (a date, no sentence end).
    for size in range(1, _WINDOW + 1):
        first = above - size
        if first < 0:
            break
        if _is_attribution(lines[first:above]):
            while (
                first > 0
                and above - first < _WINDOW
                and _DATE_HINT.search(lines[first - 1])
                and not lines[first - 1].rstrip().endswith((".", "!", "?", ":", ";"))
            ):
                first -= 1
            return first
    # An Outlook header block ("From: ... Sent: ... To: ... Subject: ...").
    block = above
    while block > 0 and _HEADER_LINE.match(lines[block - 1]):
        block -= 1
    if block < above and _FROM_LINE.match(lines[block]):
        return _rule_above(lines, block)
    return marker


def _rule_above(lines: list[str], index: int) -> int:
    """Include a separator rule ("-----", "_____") a blank line or two above `index`."""
    above = index
    while above > 0 and index - above < 3 and not lines[above - 1].strip():
        above -= 1
    if above > 0 and _RULE.match(lines[above - 1]):
        return above - 1
    return index


def _is_attribution(window: list[str]) -> bool:
    if not window or not window[-1].rstrip().endswith((":", "\uff1a")):
        return False
    if any(not line.strip(" \t>") for line in window):
        return False
    joined = " ".join(line.strip() for line in window)
    if len(joined) > _MAX_ATTRIBUTION_CHARS + 200:
        return False
    # Quoted-printable soft breaks left in the text ("w=" + "rote:").
    variants = [joined]
    if any(line.rstrip().endswith("=") for line in window[:-1]):
        variants.append("".join(line.strip().removesuffix("=") for line in window))
    return any(_looks_like_attribution(candidate) for candidate in variants)


def _looks_like_attribution(candidate: str) -> bool:
    """Ends with a colon, has "wrote" (or a translation) and a date or an address."""
    stripped = candidate.rstrip()
    if not stripped.endswith((":", "\uff1a")) or len(stripped) > _MAX_ATTRIBUTION_CHARS + 200:
        return False
    if _JA_ATTRIBUTION.match(stripped):
        return True
    verbs = list(_VERB.finditer(stripped))
    if not verbs or len(stripped) - verbs[-1].end() > 200:  # the verb comes before name and colon
        return False
    return bool(_DATE_HINT.search(stripped))


def _client_separators(lines: list[str]) -> Iterator[_Cut]:
    """Every place where a client's quote seems to start, top to bottom."""
    index = 0
    count = len(lines)
    last_unquoted = max(
        (i for i, line in enumerate(lines) if line.strip() and not _QUOTED.match(line)), default=-1
    )
    while index < count:
        line = lines[index]
        cut = _separator_at(lines, index)
        if cut is not None:
            yield cut
            index = max(cut.end, index + 1)
            continue
        if index > last_unquoted and _QUOTED.match(line):  # only "> " lines from here on
            yield _Cut(index, count)
            return
        index += 1


def _separator_at(lines: list[str], index: int) -> _Cut | None:
    line = lines[index]
    if not line.strip(" \t>"):
        return None
    if _ORIGINAL_MESSAGE.match(line):
        return _Cut(index, index + 1)
    if _FROM_LINE.match(line):
        block_end = index + 1
        while (
            block_end < len(lines)
            and block_end - index < 8
            and _HEADER_LINE.match(lines[block_end])
        ):
            block_end += 1
        if block_end - index >= 2:  # From: plus at least one of Sent/To/Subject
            return _Cut(_rule_above(lines, index), block_end)
    if _RULE.match(line):
        following = index + 1
        while following < len(lines) and following - index < 4 and not lines[following].strip():
            following += 1
        if following < len(lines) and _FROM_LINE.match(lines[following]):
            return None  # the From line below takes the rule with it
    for size in range(1, _WINDOW + 1):
        if index + size > len(lines):
            break
        if _is_attribution(lines[index : index + size]):
            end = index + size
            # "Text. On ... wrote:" over two lines: the attribution starts at the later line.
            # A dropped line with a date or address belongs to the attribution.
            while (
                end - index > 1
                and not _DATE_HINT.search(lines[index])
                and _is_attribution(lines[index + 1 : end])
            ):
                index += 1
            return _Cut(index, end)
    return None


@functools.cache
def _library_separator() -> re.Pattern[str] | None:
    """mail-parser-reply's pattern for reply headers in all our languages, compiled once."""
    try:
        from mailparser_reply import EmailMessage  # type: ignore[import-untyped]  # no type hints

        return EmailMessage(text="", languages=list(_REPLY_LANGUAGES)).HEADER_REGEX
    except Exception:  # a third-party heuristic: without it, the rules above still apply
        return None


def _library_cut(text: str, lines: list[str]) -> int | None:
    """The first line where mail-parser-reply sees a reply header (after the first line)."""
    pattern = _library_separator()
    if pattern is None or len(text) > MAX_LIBRARY_CHARS:
        return None
    # The library matches on stripped lines; stripping keeps the line numbers.
    normalized = "\n".join(line.strip() for line in lines)
    for match in pattern.finditer(normalized):
        index = normalized.count("\n", 0, match.start())
        if index:
            return index
    return None
