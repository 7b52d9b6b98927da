"""Staff illustrate an article with an uploaded image; readers of the help center see it."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

from playwright.sync_api import expect

from deskbase.knowledge import services
from deskbase.knowledge.models import ArticleAttachment
from tests.e2e.conftest import screenshot, signed_in_page


def png(width: int, height: int) -> bytes:
    """A solid blue RGB image of the given size."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\x20\x60\xc0" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )  # fmt: skip


def test_an_uploaded_image_shows_in_the_published_article(world, new_page, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    image = tmp_path / "control-panel.png"
    image.write_bytes(png(48, 24))
    category = services.category_create(organization=world.org, actor=world.admin, name="Printing")
    place = services.section_create(
        organization=world.org, actor=world.admin, category_id=category.pk, name="Setup"
    )
    draft = services.article_create(
        organization=world.org, actor=world.agent, section_id=place.pk,
        title="Reset the printer", body="Hold the button.",
    )  # fmt: skip
    # The manager uploads the image on the article's page and puts its reference in the text
    staff = signed_in_page(new_page, world.manager.email)
    staff.goto(f"/manage/kb/articles/{draft.article_id}/en/")
    staff.get_by_label("Upload files").set_input_files(str(image))
    staff.get_by_role("button", name="Upload", exact=True).click()
    expect(staff.get_by_text("Uploaded control-panel.png")).to_be_visible()
    stored = ArticleAttachment.objects.get(article_id=draft.article_id)
    shown_ref = f"![control-panel.png](attachment:{stored.pk})"
    expect(staff.locator("code", has_text=shown_ref)).to_be_visible()
    reference = shown_ref.replace("control-panel.png", "The control panel")
    staff.get_by_label("Body (Markdown)").fill(f"Hold the button.\n\n{reference}")
    staff.get_by_role("button", name="Save draft").click()
    expect(staff.get_by_text("Draft saved.")).to_be_visible()
    staff.get_by_role("button", name="Publish the latest revision").click()
    expect(staff.get_by_text("Published.", exact=True)).to_be_visible()
    screenshot_path = Path("/tmp") / "kb-manage-article-files.png"
    staff.screenshot(path=str(screenshot_path), full_page=True)

    # An anonymous reader sees the image, loaded at its size
    reader = new_page()
    reader.goto(f"/help/{world.org.slug}/articles/{draft.article_id}-{draft.slug}")
    shown = reader.get_by_role("img", name="The control panel")
    expect(shown).to_be_visible()
    reader.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=shown.element_handle()
    )
    assert shown.evaluate("img => [img.naturalWidth, img.naturalHeight]") == [48, 24]
    screenshot(reader, "help-center-article-image")

    # The file is not in another organization's help center
    foreign = reader.request.get(f"/help/globex/files/{stored.pk}/control-panel.png")
    assert foreign.status == 404
