"""Files are always sent as downloads, under a name every browser reads safely."""

from __future__ import annotations

import io

import pytest

from deskbase.core.downloads import content_disposition, download_response


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("report.pdf", "attachment; filename=\"report.pdf\"; filename*=UTF-8''report.pdf"),
        ("résumé 2025.html", "attachment; filename=\"resume 2025.html\"; "
                             "filename*=UTF-8''r%C3%A9sum%C3%A9%202025.html"),
        # Quotes, backslashes and semicolons cannot end the header's value early.
        ('a"b\\c;d.txt', "attachment; filename=\"abcd.txt\"; "
                         "filename*=UTF-8''a%22b%5Cc%3Bd.txt"),
        # Nothing ASCII left: a neutral fallback, the exact name beside it.
        ("日本語", "attachment; filename=\"download\"; "
                  "filename*=UTF-8''%E6%97%A5%E6%9C%AC%E8%AA%9E"),
        ("a\r\nSet-Cookie: x", "attachment; filename=\"aSet-Cookie: x\"; "
                               "filename*=UTF-8''a%0D%0ASet-Cookie%3A%20x"),
        ("../../etc/passwd", "attachment; filename=\"../../etc/passwd\"; "
                             "filename*=UTF-8''..%2F..%2Fetc%2Fpasswd"),
    ],
)  # fmt: skip
def test_the_name_is_quoted_with_an_ascii_fallback(name, expected):
    assert content_disposition(name) == expected


def test_a_download_is_never_rendered_nor_cached():
    response = download_response(io.BytesIO(b"<p>hi</p>"), content_type="text/plain",
                                 file_name="page.html")  # fmt: skip
    assert b"".join(response.streaming_content) == b"<p>hi</p>"
    assert response["Content-Type"] == "text/plain"
    assert response["Content-Disposition"] == content_disposition("page.html")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert response["Cache-Control"] == "private, no-store"
