"""Real-world and malformed messages from public test suites, read from ../shared/email-corpus.

The corpus is not part of the project (see its README for sources and licences): the
tests read it where it lies beside the checkout and skip, saying why, when it is absent.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from deskbase.mail.parse import parse
from deskbase.mail.quotes import split_reply
from tests.mail.corpus import CORPUS, hang_guard

MESSAGES = sorted((CORPUS / "mail-parser").rglob("*.eml"))
REPLIES = CORPUS / "replies"

pytestmark = pytest.mark.skipif(
    not CORPUS.is_dir(),
    reason=f"the e-mail corpus is not at {CORPUS} (it lives beside the checkout)",
)


def corpus_id(path: Path) -> str:
    return str(path.relative_to(CORPUS / "mail-parser"))


@pytest.mark.parametrize("path", MESSAGES, ids=corpus_id)
def test_every_corpus_message_parses_into_something_usable_or_says_why_not(path: Path) -> None:
    raw = path.read_bytes()

    with hang_guard():
        message = parse(raw)

    # The parser's last-resort guard (an internal exception) never fired.
    assert not any(d.startswith("the message could not be parsed") for d in message.defects)
    assert message.message_id
    assert message.size == len(raw)
    usable = bool(
        message.from_ and message.from_.email and (message.subject or message.text or message.parts)
    )
    assert usable or message.defects, "no sender, subject and body, and no defect saying why"
    for text in (message.text, message.subject, message.visible_text, message.quoted_text):
        assert "\x00" not in text
        text.encode("utf-8")  # no lone surrogates: the text can be stored as it is
    for part in message.parts:
        assert part.filename
        assert "/" not in part.filename
        assert "\\" not in part.filename
        assert part.size == len(part.payload)
        assert part.content_type == part.content_type.lower()
    if message.text.strip():
        assert message.visible_text.strip(), "a message with text keeps a visible part"


def test_the_corpus_has_messages_of_every_family() -> None:
    families = {path.relative_to(CORPUS / "mail-parser").parts[0] for path in MESSAGES}

    assert families >= {"rfc", "legacy", "malformed", "thirdparty"}


# --- quote stripping on replies/ -----------------------------------------------------------

# Files where nothing is quoted: the whole text stays visible (signatures, disclaimers,
# mailing-list footers and header blocks at the very top are not quoted history).
WHOLE = {
    "caution.txt",
    "caution2.txt",
    "correct_sig.txt",
    "email_1_1.txt",
    "email_1_5.txt",
    "email_danish_5.txt",
    "email_ja_1_1.txt",
    "email_nl_1_1.txt",
    "email_sent_from_BlackBerry.txt",
    "email_sent_from_iPhone.txt",
    "email_sent_from_multi_word_mobile_device.txt",
    "email_sent_from_not_signature.txt",
    "email_sig_delimiter_in_middle_of_line.txt",
    "forward.txt",
    "outlook.txt",
    "email_pl_1_1.txt",  # starts with a header block: there is nothing above it
    "email_pl_1_3.txt",
}

# Replies above an attribution line ("On ... wrote:" and its translations):
# (the visible part's last line, how the quoted part starts).
ATTRIBUTION = {
    "begins_with_signature.txt": ("Christopher Edwards", "On Mon, Jun 3, 2024 at 12:53"),
    "email_1_3.txt": ("-Abhishek Kona", "On 01/03/11 7:07 PM, Russell Brown wrote:"),
    "email_1_4.txt": ("Awesome! I haven't had another problem with it.", "On Aug 22, 2011"),
    "email_1_6.txt": ("Sent from a magnificent torch of pixels", "On Dec 16, 2011"),
    "email_1_7.txt": (":+1:", "On Tue, Sep 25, 2012 at 8:59 AM"),
    "email_3_1.txt": ("This is fairly common; nothing too hard here!", "Am So., 1. Jan. 2023"),
    "email_bullets.txt": ("- and another", "On Fri, Feb 24, 2012"),
    "email_danish_1.txt": ("Anders Andersen", "Den 24. nov. 2025 kl. 10.00 skrev"),
    "email_danish_3.txt": ("Svar.", "Den 24. nov. 2025 kl. 10.00 skrev"),
    "email_gmail.txt": ("This is a test for inbox replying to a github message.", "On Wed, May 18"),
    "email_ja_1_2.txt": ("以上、よろしくお願いいたします", "2022年1月1日(金) 9:00 田中太郎"),
    "email_one_is_not_on.txt": ("Locally (on development), when I run...", "On Oct 1, 2012"),
    "email_partial_quote_header.txt": ("fails, the tunnel is not working.", "On 9 Jan 2014"),
    "greedy_on.txt": ("fails, the tunnel is not working.", "On 9 Jan 2014"),
    "email_pl_1_2.txt": ("Jan", "Dnia 28 lutego 2023 14:00 Anna Nowak"),
    "email_sv_anon_1.txt": ("070-0000000", "ons 4 dec. 2024 kl. 20:42 skrev"),
    "email_swedish_1.txt": ("Person B", "> 4 dec. 2024 kl. 18:36 skrev Person A"),
    "email_swedish_2.txt": ("/John", "Den fre 28 feb. 2025"),
    "multi_header.txt": (
        "No problem. I\u2019ll just start a new order.",
        "On May 30, 2020, at 4:24 PM",
    ),
    "pathological.txt": ("get back to a computer.", 'On Dec 8, 2013 2:10 PM, "John Sullivan"'),
    "multiline_on_de.txt": ("Am heutigen Tage", "Am So., 1. Jan. 2023 um 17:22 Uhr schrieb"),
}

# Replies above an Outlook-style block ("-----Original Message-----", "From: ... Sent: ...").
OUTLOOK = {
    "email_2_1.txt": ("Outlook with a reply", "*From:* Google Apps Sync Team"),
    "email_2_2.txt": ("Outlook with a reply directly above line", "From: CRM Comments"),
    "email_2_3.txt": ("Outlook with a reply above headers using unusual format", "*From:* Kim"),
    "email_danish_2.txt": ("Søren", "Fra: Hanne Hansen"),
    "email_danish_4.txt": ("Svar.", "-----Oprindelig meddelelse-----"),
    "email_headers_no_delimiter.txt": ("And another reply!", "From: Dan Watson"),
    "email_nl_1_2.txt": ("Outlook met een antwoord", "*Van:* Google Apps Sync Team"),
}

# Replies written between the quoted lines: what was typed stays visible.
INTERLEAVED = {
    "email_1_8.txt": (["I will reply under this one", "and under this."], "> On Tue, April 29"),
    "multiline_on.txt": (["asd"], "On So., 1. Jan. 2023 um 17:22 Uhr John Doe"),
}


def reply(name: str) -> str:
    return (REPLIES / name).read_text(encoding="utf-8").replace("\r\n", "\n")


def split(name: str) -> tuple[str, str, str]:
    text = reply(name)
    with hang_guard():
        visible, quoted = split_reply(text)
    assert visible.strip(), "the visible part is never empty when the message has text"
    assert text.lstrip("\n").startswith(visible), "the visible part is the start of the reply"
    return text, visible, quoted


def test_every_reply_in_the_corpus_has_an_expectation() -> None:
    files = {path.name for path in REPLIES.glob("*.txt") if path.stat().st_size}
    listed = WHOLE | set(ATTRIBUTION) | set(OUTLOOK) | set(INTERLEAVED)

    assert files - listed == set(), "a new corpus file needs an expectation here"
    assert listed - files == set()


@pytest.mark.parametrize("name", sorted(WHOLE))
def test_a_reply_without_quoted_history_stays_whole(name: str) -> None:
    text, visible, quoted = split(name)

    assert visible == text.strip("\n").rstrip()
    assert quoted == ""


@pytest.mark.parametrize("name", sorted(ATTRIBUTION))
def test_a_reply_above_an_attribution_line_keeps_only_the_new_text(name: str) -> None:
    last_line, quote_start = ATTRIBUTION[name]

    _, visible, quoted = split(name)

    assert visible.splitlines()[-1].strip() == last_line
    assert quoted.startswith(quote_start)
    assert quote_start not in visible
    assert not any(line.startswith(">") for line in visible.splitlines())


@pytest.mark.parametrize("name", sorted(OUTLOOK))
def test_a_reply_above_an_outlook_header_block_keeps_only_the_new_text(name: str) -> None:
    last_line, header = OUTLOOK[name]

    _, visible, quoted = split(name)

    assert visible.splitlines()[-1].strip() == last_line
    assert header in quoted
    assert header not in visible
    assert not any(
        line.lstrip("*").lower().startswith(("from:", "van:", "fra:"))
        for line in visible.splitlines()
    )


@pytest.mark.parametrize("name", sorted(INTERLEAVED))
def test_a_reply_written_between_quoted_lines_keeps_what_was_typed(name: str) -> None:
    typed, quote_start = INTERLEAVED[name]

    _, visible, quoted = split(name)

    assert all(line in visible for line in typed)
    assert quoted.startswith(quote_start)
    assert quote_start not in visible
