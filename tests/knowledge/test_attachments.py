"""Files of knowledge base articles: images and downloads through the attachment store,
read only by those who may read a published article showing them."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from deskbase.core.errors import NotFound, PermissionDenied, ValidationFailed
from deskbase.core.tenancy import tenant
from deskbase.dbtools.maintenance import orphaned_files
from deskbase.knowledge import selectors, services
from deskbase.knowledge.models import ArticleAttachment, Revision
from tests.api.helpers import ApiClient
from tests.helpers import PNG
from tests.knowledge.factories import article, section
from tests.web.helpers import signed_in

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def upload(world, translation, data: bytes = PNG, name: str = "panel.png"):
    return services.article_attachment_add(
        organization=world.org, actor=world.agent, article_id=translation.article_id,
        stream=io.BytesIO(data), file_name=name,
    )  # fmt: skip


def save(world, translation, body: str):
    return services.translation_save(
        organization=world.org, actor=world.agent, article_id=translation.article_id,
        language=translation.language, body=body,
    )  # fmt: skip


def publish(world, translation):
    return services.translation_publish(
        organization=world.org, actor=world.manager, article_id=translation.article_id,
        language=translation.language,
    )  # fmt: skip


def illustrated(world, visibility: str = "public", name: str = "Printing"):
    """A published article whose text shows an uploaded image."""
    draft = article(world, section(world, visibility=visibility, name=name), publish=False)
    image = upload(world, draft)
    save(world, draft, f"Press the button.\n\n![The control panel](attachment:{image.pk})")
    return publish(world, draft), image


def test_an_image_in_the_markdown_shows_in_the_published_article(tenant_a):
    # Given an article with an uploaded image
    draft = article(tenant_a, section(tenant_a), publish=False)
    image = upload(tenant_a, draft, name="../Control panel.png")
    # When the draft refers to it and is published
    save(tenant_a, draft, f"Press it:\n\n![The control panel](attachment:{image.pk})")
    publish(tenant_a, draft)
    # Then the file is stored as a sniffed PNG under a clean name
    assert (image.file_name, image.content_type, image.size) == (
        "Control panel.png", "image/png", len(PNG),
    )  # fmt: skip
    # And the revision shows it from the help center and keeps which file it refers to
    read = selectors.readable_article(selectors.Reader(tenant_a.org.pk), draft.article_id)
    url = f"/help/{tenant_a.org.slug}/files/{image.pk}/Control%20panel.png"
    assert f'<img src="{url}" alt="The control panel">' in read.revision.body_html
    assert read.revision.attachment_ids == [image.pk]
    # And the help center page shows it, and the address serves the bytes
    page = Client().get(f"/help/{tenant_a.org.slug}/articles/{draft.article_id}-{draft.slug}")
    assert url.encode() in page.content
    served = Client().get(url)
    assert served.status_code == 200
    assert b"".join(served.streaming_content) == PNG
    assert served["Content-Type"] == "image/png"
    assert served["X-Content-Type-Options"] == "nosniff"


def test_a_link_to_a_file_and_a_revision_without_it(tenant_a):
    draft = article(tenant_a, section(tenant_a), publish=False)
    manual = upload(tenant_a, draft, data=b"%PDF-1.4 manual", name="manual.pdf")
    with_link = save(tenant_a, draft, f"Read [the manual](attachment:{manual.pk}).")
    save(tenant_a, with_link, "No files any more.")
    revisions = list(Revision.objects.filter(translation=draft).order_by("number"))
    assert [r.attachment_ids for r in revisions] == [[], [manual.pk], []]
    assert f'href="/help/{tenant_a.org.slug}/files/{manual.pk}/manual.pdf"' in (
        revisions[1].body_html
    )


def test_a_reference_to_a_file_the_article_does_not_have_changes_nothing(tenant_a, tenant_b):
    draft = article(tenant_a, section(tenant_a), publish=False, body="Before")
    other = article(tenant_a, section(tenant_a, name="Other"), publish=False)
    theirs = upload(tenant_a, other)
    foreign = upload(tenant_b, article(tenant_b, section(tenant_b), publish=False))
    text = upload(tenant_a, draft, data=b"plain words", name="notes.txt")
    for body, says in [
        (f"![x](attachment:{theirs.pk})", "not a file of this article"),
        (f"[x](attachment:{foreign.pk})", "not a file of this article"),
        ("![x](attachment:999999)", "not a file of this article"),
        (f"![x](attachment:{text.pk})", "is not an image"),
    ]:
        with pytest.raises(ValidationFailed) as refused:
            save(tenant_a, draft, body)
        assert "body" in refused.value.errors
        assert says in str(refused.value.errors["body"])
    with tenant(tenant_a.org):
        assert Revision.objects.filter(translation=draft).count() == 1
        assert Revision.objects.get(translation=draft).body == "Before"


def test_only_staff_add_files_and_only_to_their_own_articles(tenant_a, tenant_b):
    draft = article(tenant_a, section(tenant_a), publish=False)
    with pytest.raises(PermissionDenied):
        services.article_attachment_add(
            organization=tenant_a.org, actor=tenant_a.customer, article_id=draft.article_id,
            stream=io.BytesIO(PNG), file_name="x.png",
        )  # fmt: skip
    with pytest.raises(NotFound):
        services.article_attachment_add(
            organization=tenant_b.org, actor=tenant_b.agent, article_id=draft.article_id,
            stream=io.BytesIO(PNG), file_name="x.png",
        )  # fmt: skip
    with pytest.raises(ValidationFailed) as empty:
        upload(tenant_a, draft, data=b"")
    assert "file" in empty.value.errors


def test_a_file_larger_than_the_limit_is_refused(tenant_a, settings):
    settings.MAX_ATTACHMENT_BYTES = 100
    draft = article(tenant_a, section(tenant_a), publish=False)
    with pytest.raises(ValidationFailed) as refused:
        upload(tenant_a, draft, data=b"x" * 101, name="big.txt")
    assert "larger than 100 bytes" in str(refused.value.errors["file"])
    with tenant(tenant_a.org):
        assert not ArticleAttachment.objects.exists()


@pytest.mark.parametrize(
    ("visibility", "anonymous", "customer", "staff"),
    [("public", 200, 200, 200), ("customers", 404, 200, 200), ("internal", 404, 404, 200)],
)
def test_who_downloads_a_file_follows_the_article(tenant_a, tenant_b, visibility, anonymous,
                                                   customer, staff):  # fmt: skip
    _, image = illustrated(tenant_a, visibility)
    url = f"/help/{tenant_a.org.slug}/files/{image.pk}/panel.png"
    assert Client().get(url).status_code == anonymous
    assert signed_in(tenant_a.customer).get(url).status_code == customer
    assert signed_in(tenant_a.agent).get(url).status_code == staff
    # Another tenant's people are strangers here, and the file is not under their address
    assert signed_in(tenant_b.agent).get(url).status_code == anonymous
    theirs = f"/help/{tenant_b.org.slug}/files/{image.pk}/panel.png"
    assert signed_in(tenant_b.agent).get(theirs).status_code == 404
    assert Client().get(theirs).status_code == 404


def test_a_file_no_published_text_shows_is_for_staff_only(tenant_a):
    published, shown = illustrated(tenant_a)
    # An image only the draft refers to (not yet published)
    unpublished = upload(tenant_a, published, name="next.png")
    save(tenant_a, published, f"![Soon](attachment:{unpublished.pk})")
    url = f"/help/{tenant_a.org.slug}/files/{unpublished.pk}/next.png"
    assert Client().get(url).status_code == 404
    assert signed_in(tenant_a.customer).get(url).status_code == 404
    assert signed_in(tenant_a.agent).get(url).status_code == 200
    # And a deleted article's files are gone for everyone
    services.article_delete(
        organization=tenant_a.org, actor=tenant_a.agent, article_id=published.article_id
    )
    shown_url = f"/help/{tenant_a.org.slug}/files/{shown.pk}/panel.png"
    assert Client().get(shown_url).status_code == 404
    assert signed_in(tenant_a.agent).get(shown_url).status_code == 404


def test_the_api_uploads_lists_and_downloads_files(tenant_a, tenant_b):
    draft = article(tenant_a, section(tenant_a), publish=False)
    agent = ApiClient(tenant_a.agent)
    made = agent.client.post(
        f"/api/v1/kb/articles/{draft.article_id}/attachments",
        {"file": SimpleUploadedFile("shot.png", PNG, content_type="text/html")},
        headers=agent._headers(None),
    )
    assert made.status_code == 201, made.content
    body = made.json()
    assert body["content_type"] == "image/png"
    assert body["markdown"] == f"![shot.png](attachment:{body['id']})"
    assert [f["id"] for f in agent.get(f"/kb/articles/{draft.article_id}/attachments").json()] == [
        body["id"]
    ]
    # Not shown by any published text yet: the customer gets a 404, staff the file
    path = f"/kb/attachments/{body['id']}/download"
    assert ApiClient(tenant_a.customer).get(path).status_code == 404
    assert agent.get(path).status_code == 200
    # Another tenant: the article and the file do not exist
    other = ApiClient(tenant_b.agent)
    assert other.get(f"/kb/articles/{draft.article_id}/attachments").status_code == 404
    assert other.get(path).status_code == 404
    refused = other.client.post(
        f"/api/v1/kb/articles/{draft.article_id}/attachments",
        {"file": SimpleUploadedFile("shot.png", PNG)}, headers=other._headers(None),
    )  # fmt: skip
    assert refused.status_code == 404
    assert refused["Content-Type"] == "application/problem+json"
    # A bad reference in a draft is a 422 naming the body
    bad = agent.patch(f"/kb/articles/{draft.article_id}/translations/en",
                      {"body": "![x](attachment:424242)"})  # fmt: skip
    assert bad.status_code == 422
    assert "body" in bad.content.decode()


def test_staff_upload_from_the_article_page(tenant_a):
    draft = article(tenant_a, section(tenant_a), publish=False)
    agent = signed_in(tenant_a.agent)
    page = f"/manage/kb/articles/{draft.article_id}/en/"
    sent = agent.post(
        f"/manage/kb/articles/{draft.article_id}/en/files",
        {"files": [SimpleUploadedFile("panel.png", PNG)]},
    )
    assert sent.status_code == 302
    with tenant(tenant_a.org):
        made = ArticleAttachment.objects.get(article_id=draft.article_id)
    shown = agent.get(page).content.decode()
    assert f"![panel.png](attachment:{made.pk})" in shown
    assert signed_in(tenant_a.customer).post(
        f"/manage/kb/articles/{draft.article_id}/en/files",
        {"files": [SimpleUploadedFile("x.png", PNG)]},
    ).status_code in (302, 403)
    with tenant(tenant_a.org):
        assert ArticleAttachment.objects.count() == 1


def test_maintenance_keeps_the_files_of_articles(tenant_a, media):
    draft = article(tenant_a, section(tenant_a), publish=False)
    made = upload(tenant_a, draft)
    stored = media / "attachments" / made.sha256[:2] / made.sha256[2:4] / made.sha256

    os.utime(stored, (0, 0))  # old enough to be judged
    assert stored not in orphaned_files()


def test_a_refused_draft_keeps_what_was_typed_on_the_page(tenant_a):
    draft = article(tenant_a, section(tenant_a), publish=False, body="Saved text")
    page = signed_in(tenant_a.agent).post(
        f"/manage/kb/articles/{draft.article_id}/en/",
        {"title": "New title", "body": "Typed text ![x](attachment:424242)", "slug": ""},
    )
    assert page.status_code == 422
    shown = page.content.decode()
    assert "not a file of this article" in shown
    assert "Typed text ![x](attachment:424242)" in shown
    assert 'value="New title"' in shown
