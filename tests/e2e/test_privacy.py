"""In a browser: an admin exports a customer's data, watches it being built, and erases
the customer after typing their address."""

from __future__ import annotations

from playwright.sync_api import expect

from deskbase.privacy import exports
from tests.e2e.conftest import screenshot, signed_in_page
from tests.tickets.factories import open_ticket


def test_an_admin_exports_then_erases_a_customer(world, new_page, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    open_ticket(world, subject="Router blinks red")
    page = signed_in_page(new_page, world.admin.email)
    page.goto(f"/manage/people/{world.customer.id}/")
    page.get_by_role("button", name="Export everything about").click()
    expect(page.get_by_text("Export queued")).to_be_visible()
    expect(page.locator("#exports .export-state")).to_have_text("Queued")
    # The worker builds it; the page, polling, shows it ready without a reload
    exports.build_pending()
    expect(page.get_by_role("link", name="Download ZIP")).to_be_visible()
    screenshot(page, "manage-personal-data")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download ZIP").click()
    assert download.value.suggested_filename.endswith(".zip")
    # Erasing needs the typed address
    page.get_by_label("to confirm").fill(world.customer.email)
    page.get_by_role("button", name="Erase this customer").click()
    expect(page.get_by_text("Customer erased")).to_be_visible()
    expect(page.get_by_role("heading", name=f"Erased customer {world.customer.id}")).to_be_visible()
