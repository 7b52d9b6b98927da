"""Untrusted HTML is reduced to a small allowlist; plain text becomes HTML safely."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deskbase.core.sanitize import (
    ALLOWED_TAGS,
    LINK_REL,
    LINK_SCHEMES,
    clean_html,
    html_to_text,
    text_to_html,
)

XSS_PAYLOADS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<img src=x onerror=alert(1)>",
    "<p onclick=alert(1) onmouseover='alert(2)'>hi</p>",
    '<a href="javascript:alert(1)">x</a>',
    '<a href="JaVaScRiPt:alert(1)">x</a>',
    '<a href="java&#x09;script:alert(1)">x</a>',
    '<a href="  javascript:alert(1)">x</a>',
    '<a href="&#106;avascript:alert(1)">x</a>',
    '<a href="vbscript:msgbox(1)">x</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>',
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    '<svg><a xlink:href="javascript:alert(1)"><text x="20" y="20">X</text></a></svg>',
    "<svg><animate onbegin=alert(1) attributeName=x dur=1s>",
    '<svg><use href="data:image/svg+xml,&lt;svg id=x onload=alert(1)&gt;#x"/></svg>',
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
    '<p style="background:url(javascript:alert(1))">styled</p>',
    "<style>body{background:url(javascript:alert(1))}</style>",
    '<iframe src="javascript:alert(1)"></iframe>',
    "<body onload=alert(1)>",
    "<details open ontoggle=alert(1)>",
    '<form action="javascript:alert(1)"><button>go</button></form>',
    "<!--<img src=x onerror=alert(1)>-->",
    '<object data="javascript:alert(1)"></object><embed src="javascript:alert(1)">',
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    '<base href="javascript:alert(1)//">',
    '<a href="https://ok.example" onfocus=alert(1) autofocus>ok</a>',
]


class _Inventory(HTMLParser):
    """Every tag and attribute of a fragment, as a browser's tokenizer would see them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.comments: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_comment(self, data: str) -> None:
        self.comments.append(data)


def inventory(html: str) -> _Inventory:
    parser = _Inventory()
    parser.feed(html)
    parser.close()
    return parser


def assert_only_allowlisted(html: str) -> None:
    found = inventory(html)
    assert not found.comments
    for tag, attrs in found.tags:
        assert tag in ALLOWED_TAGS, html
        if tag == "a":
            assert set(attrs) <= {"href", "title", "rel"}, html
            assert attrs["rel"] == LINK_REL
            if "href" in attrs:
                assert urlsplit(attrs["href"] or "").scheme.lower() in LINK_SCHEMES, html
        else:
            assert not attrs, html


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_xss_payloads_are_disarmed(payload):
    # Given a hostile fragment, when it is cleaned
    cleaned = clean_html(payload)
    # Then only allowlisted tags and attributes remain, and nothing executable
    assert_only_allowlisted(cleaned)
    lowered = cleaned.lower()
    for marker in ("<script", "<img", "<svg", "<iframe", "<style", "javascript:", "data:"):
        assert marker not in lowered
    assert not re.search(r"\son\w+\s*=", lowered)
    assert "style=" not in lowered


def test_script_and_style_content_is_dropped_not_shown_as_text():
    assert clean_html("<p>a</p><script>alert(1)</script><style>p{}</style>") == "<p>a</p>"


def test_allowed_markup_survives_and_links_get_rel():
    # Given ordinary rich text from an editor
    source = (
        '<h2>Steps</h2><p>Hi <strong>there</strong>, see <a href="https://example.com/a?b=1" '
        'title="Docs" target="_blank">the docs</a>.</p><ol><li>one</li></ol>'
        "<pre><code>x = 1</code></pre><blockquote>quoted</blockquote>"
        "<table><thead><tr><th>A</th></tr></thead><tbody><tr><td>1</td></tr></tbody></table>"
    )
    # When it is cleaned, then the structure stays, the link gets rel, target is dropped
    assert clean_html(source) == (
        '<h2>Steps</h2><p>Hi <strong>there</strong>, see <a href="https://example.com/a?b=1" '
        'title="Docs" rel="noopener noreferrer nofollow">the docs</a>.</p><ol><li>one</li></ol>'
        "<pre><code>x = 1</code></pre><blockquote>quoted</blockquote>"
        "<table><thead><tr><th>A</th></tr></thead><tbody><tr><td>1</td></tr></tbody></table>"
    )


@pytest.mark.parametrize(
    ("href", "kept"),
    [
        ("https://example.com", True),
        ("http://example.com", True),
        ("mailto:help@example.com", True),
        ("/admin/", False),  # relative links would point into the app itself
        ("//evil.example/x", False),
        ("ftp://example.com", False),
        ("javascript:alert(1)", False),
    ],
)
def test_only_absolute_http_and_mailto_links_are_kept(href, kept):
    cleaned = clean_html(f'<a href="{href}">x</a>')
    assert ("href=" in cleaned) is kept


def test_unknown_tags_are_unwrapped_keeping_their_text():
    assert clean_html("<div><span>text</span></div><marquee>m</marquee>") == "textm"


def test_empty_input_gives_empty_output():
    assert clean_html("") == ""
    assert text_to_html("") == ""
    assert text_to_html(" \n\n \r\n") == ""
    assert html_to_text("") == ""


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [*XSS_PAYLOADS, "<", ">", "&", '"', "'", "<p>", "</p>", "<a href=", "<svg>", "x", " "]
        )
        | st.text(max_size=12),
        max_size=12,
    ).map("".join)
)
def test_cleaning_any_soup_leaves_only_the_allowlist_and_is_stable(soup):
    cleaned = clean_html(soup)
    assert_only_allowlisted(cleaned)
    # Cleaning again changes nothing: no markup that re-forms when parsed a second time
    assert clean_html(cleaned) == cleaned


def test_text_to_html_escapes_everything_and_keeps_paragraphs_and_lines():
    # Given plain text that looks like markup
    text = "<script>alert('x')</script> & more\r\nline two\n\n\n<b>second</b>"
    # When it becomes HTML
    html = text_to_html(text)
    # Then nothing is interpreted: paragraphs and line breaks only
    assert html == (
        "<p>&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; more<br>line two</p>"
        "<p>&lt;b&gt;second&lt;/b&gt;</p>"
    )


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_text_to_html_is_safe_by_construction_for_any_text(text):
    html = text_to_html(text)
    assert {tag for tag, _ in inventory(html).tags} <= {"p", "br"}
    assert all(not attrs for _, attrs in inventory(html).tags)


def test_html_to_text_reads_like_the_page():
    html = (
        "<h1>Title</h1><p>Hello <b>world</b>,\n   spaced</p><p>line<br>break &amp; &lt;tag&gt;</p>"
        "<ul><li>one</li><li>two<ol><li>a</li><li>b</li></ol></li></ul>"
        "<blockquote><p>quoted</p><p>more</p></blockquote>"
        '<p><a href="https://x.example/a">the docs</a> <a href="https://x.example">'
        'https://x.example</a> <a href="mailto:a@x.example">write us</a></p>'
        "<pre>  indented\n    code</pre>"
        "<table><tr><th>A</th><th>B</th></tr><tr><td>1</td><td>2</td></tr></table>"
    )
    assert html_to_text(html) == (
        "Title\n\nHello world, spaced\n\nline\nbreak & <tag>\n\n"
        "- one\n- two\n  1. a\n  2. b\n\n"
        "> quoted\n>\n> more\n\n"
        "the docs (https://x.example/a) https://x.example write us (a@x.example)\n\n"
        "  indented\n    code\n\n"
        "A | B\n1 | 2"
    )


def test_html_to_text_never_shows_script_or_style_content():
    html = "<p>visible</p><script>var secret = 1;</script><style>.x{}</style><svg>drawn</svg>"
    assert html_to_text(html) == "visible"
