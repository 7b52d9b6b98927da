"""An admin adds a mailbox and reads a refused login in the server's words; an agent
sees suspended mail with its cause."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e.conftest import screenshot, signed_in_page
from tests.mail import admin_factories
from tests.mail.admin_servers import IMAP_REFUSAL, refusing_imap

SECRET = "browser-imap-secret-1"


def test_an_admin_adds_a_mailbox_and_sees_the_failed_connection_test(world, new_page, settings):
    settings.MAIL_ALLOW_PRIVATE_HOSTS = True  # the test server is on 127.0.0.1
    page = signed_in_page(new_page, world.admin.email)
    page.get_by_role("link", name="Administration").click()
    page.get_by_role("link", name="Mailboxes").click()
    page.get_by_role("link", name="Add a mailbox").click()
    with refusing_imap() as port:
        page.get_by_label("Name", exact=True).fill("Support")
        page.get_by_label("Support address").fill("support@acme.test")
        page.get_by_label("How mail arrives").select_option("imap")
        page.get_by_label("IMAP server").fill("127.0.0.1")
        page.get_by_label("IMAP port").fill(str(port))
        page.get_by_label("IMAP security").select_option("none")
        page.get_by_label("IMAP user name").fill("support")
        page.get_by_label("IMAP password").fill(SECRET)
        page.get_by_role("button", name="Add mailbox").click()
        expect(page.get_by_text("Mailbox support@acme.test added.")).to_be_visible()
        page.get_by_role("button", name="Test connection").click()
        # The server's refusal, as a message and as the mailbox's status
        expect(page.locator("td .mail-error")).to_contain_text(IMAP_REFUSAL)
    assert SECRET not in page.content()
    screenshot(page, "manage-mailboxes")
    page.get_by_role("link", name="Support").first.click()
    expect(page.get_by_label("IMAP password")).to_have_attribute(
        "placeholder", "Stored — leave blank to keep"
    )
    assert SECRET not in page.content()


def test_an_agent_sees_suspended_mail_with_its_cause(world, new_page, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    box = admin_factories.mailbox(world)
    admin_factories.inbound(world, box, sender="sam@partner.example", subject="Me too",
                            review_cause="not_participant",
                            decision="Held: the sender does not take part in #1.")  # fmt: skip
    page = signed_in_page(new_page, world.agent.email)
    page.get_by_role("link", name="Suspended mail").click()
    expect(page.get_by_role("cell", name="sam@partner.example", exact=True)).to_be_visible()
    expect(page.locator("tbody strong")).to_have_text("Sender is not a participant of the ticket")
    screenshot(page, "desk-suspended-mail")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Discard").click()
    expect(page.get_by_text("Message discarded.")).to_be_visible()
    expect(page.get_by_text("Nothing waits for review.")).to_be_visible()
