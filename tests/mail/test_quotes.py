"""The visible part of a reply: our marker first, then client separators, then the library."""

from __future__ import annotations

import pytest

from deskbase.mail.quotes import MAX_SCANNED_CHARS, REPLY_MARKER, split_reply


def test_our_marker_cuts_the_reply_with_the_attribution_line_above_it() -> None:
    text = "\n".join(
        [
            "Yes, please close it.",
            "",
            "On Tue, 3 Dec 2024 at 10:00, Desk <support@desk.example> wrote:",
            f"> {REPLY_MARKER}",
            "> Is your problem solved?",
            "> On Mon, 2 Dec 2024, Customer <c@example.com> wrote:",
        ]
    )

    visible, quoted = split_reply(text)

    assert visible == "Yes, please close it."
    assert quoted.startswith("On Tue, 3 Dec 2024")
    assert REPLY_MARKER in quoted


def test_our_marker_takes_an_attribution_wrapped_over_three_lines() -> None:
    text = "\n".join(
        [
            "My order 12345 is late.",
            "On Tue, Dec 3, 2024 at 10:00 AM Desk",
            "<support@desk.example>",
            "wrote:",
            "",
            f"> {REPLY_MARKER}",
        ]
    )

    visible, quoted = split_reply(text)

    assert visible == "My order 12345 is late."
    assert quoted.startswith("On Tue, Dec 3, 2024 at 10:00 AM Desk\n<support@desk.example>")


def test_our_marker_wins_over_a_client_separator_further_up_in_the_text() -> None:
    # The customer's own text quotes something with "wrote:", then our marker follows.
    text = "\n".join(
        [
            "As my colleague said:",
            "On Friday 1 Dec 2024 at 09:00 Bob wrote:",
            "> restart fixed it",
            "Thanks!",
            "",
            REPLY_MARKER,
            "Your ticket #12 was updated.",
        ]
    )

    visible, quoted = split_reply(text)

    assert visible.endswith("Thanks!")
    assert "restart fixed it" in visible
    assert quoted.startswith(REPLY_MARKER)


def test_our_marker_below_an_outlook_header_block_takes_the_block_too() -> None:
    text = "\n".join(
        [
            "Done, thanks.",
            "",
            "________________________________",
            "From: Desk <support@desk.example>",
            "Sent: Tuesday, December 3, 2024 10:00 AM",
            "To: Customer",
            "Subject: [#12] Printer",
            "",
            REPLY_MARKER,
        ]
    )

    visible, quoted = split_reply(text)

    assert visible == "Done, thanks."
    assert quoted.startswith("________________________________\nFrom: Desk")


@pytest.mark.parametrize(
    "attribution",
    [
        "On Tue, Dec 3, 2024 at 10:00 AM Desk <support@desk.example> wrote:",
        "Am Di., 3. Dez. 2024 um 10:00 Uhr schrieb Desk <support@desk.example>:",
        "Op di 3 dec. 2024 om 10:00 schreef Desk <support@desk.example>:",
        "Den 3 dec. 2024 kl. 10:00 skrev Desk <support@desk.example>:",
        "tis 3 dec. 2024 kl. 10:00 skrev Desk <support@desk.example>:",
        "Dnia 3 grudnia 2024 10:00 Desk <support@desk.example> napisał(a):",
        "2024年12月3日(火) 10:00 Desk <support@desk.example>:",
        "Le mar. 3 déc. 2024 à 10:00, Desk <support@desk.example> a écrit :",
        "El mar, 3 dic 2024 a las 10:00, Desk (<support@desk.example>) escribió:",
    ],
)
def test_attribution_lines_in_several_languages_start_the_quote(attribution: str) -> None:
    text = f"New text here.\n\n{attribution}\n> old text"

    visible, quoted = split_reply(text)

    assert visible == "New text here."
    assert quoted == f"{attribution}\n> old text"


@pytest.mark.parametrize(
    "separator",
    [
        "-----Original Message-----",
        "-----Ursprüngliche Nachricht-----",
        "-----Oorspronkelijk bericht-----",
        "-----Message d'origine-----",
        "-----Mensaje original-----",
    ],
)
def test_outlook_original_message_lines_start_the_quote(separator: str) -> None:
    visible, quoted = split_reply(f"Fine by me.\n\n{separator}\nFrom: x\nold")

    assert visible == "Fine by me."
    assert quoted.startswith(separator)


def test_a_trailing_block_of_quoted_lines_is_quoted_history() -> None:
    visible, quoted = split_reply("Sounds good.\n\n> earlier message\n> more of it\n")

    assert visible == "Sounds good."
    assert quoted == "> earlier message\n> more of it"


def test_quoted_lines_answered_in_between_stay_visible() -> None:
    text = "> question one\nanswer one\n> question two\nanswer two"

    visible, quoted = split_reply(text)

    assert visible == text
    assert quoted == ""


def test_a_sentence_ending_in_a_colon_is_not_an_attribution() -> None:
    text = "One question I had:\n\nwhy does it crash? I wrote:\n\nthe steps below"

    visible, quoted = split_reply(text)

    assert visible == text
    assert quoted == ""


def test_when_everything_looks_quoted_the_whole_text_stays_visible() -> None:
    text = f"{REPLY_MARKER}\nOn Tue, 3 Dec 2024 10:00 Desk <d@desk.example> wrote:\n> all quoted"

    visible, quoted = split_reply(text)

    assert visible == text
    assert quoted == ""


def test_the_html_is_read_when_there_is_no_text() -> None:
    html = (
        "<p>From the HTML.</p>"
        "<p>On Tue, 3 Dec 2024 at 10:00 Desk &lt;d@desk.example&gt; wrote:</p>"
        "<blockquote><p>old</p></blockquote>"
    )

    visible, quoted = split_reply("", html)

    assert visible == "From the HTML."
    assert quoted.startswith("On Tue, 3 Dec 2024")
    assert "> old" in quoted


def test_empty_text_gives_empty_parts() -> None:
    assert split_reply("") == ("", "")
    assert split_reply("  \n ", None) == ("", "")


def test_a_long_reply_full_of_colons_is_split_at_the_real_attribution() -> None:
    attribution = "On 1 Jan 2024 X <x@y.z> wrote:"
    text = ("line of text that keeps going:\n" * 4_000) + f"{attribution}\n> q"

    visible, quoted = split_reply(text)

    assert text.startswith(visible)
    assert visible.endswith("keeps going:")
    assert quoted == f"{attribution}\n> q"


def test_a_reply_longer_than_the_scanned_limit_is_kept_whole_when_the_start_has_no_quote() -> None:
    text = "x" * (MAX_SCANNED_CHARS + 10) + "\nOn 1 Jan 2024 X <x@y.z> wrote:\n> q"

    assert split_reply(text) == (text, "")
