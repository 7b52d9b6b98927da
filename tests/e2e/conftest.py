"""Browser tests: Playwright driving Debian's Chromium against pytest-django's live server.

The live server runs in a thread of the test process, on the test database. Its
requests run as the application role, like `deskbase up`: every signed-in request
switches role with SET LOCAL inside the request's transaction (right after the
tenant is set), so row-level security applies to what the browser sees, and the
role ends with the transaction instead of leaking into pooled connections.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connection, connections
from psycopg.conninfo import conninfo_to_dict

from deskbase.core import tenant_middleware
from tests.conftest import TenantWorld, make_tenant

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PASSWORD = "pw-for-tests-1"


@pytest.fixture
def browser(transactional_db, monkeypatch: pytest.MonkeyPatch) -> Iterator:
    """Chromium for one test. Playwright's sync API runs an event loop in this thread,
    which Django takes for an async context: the ORM calls of the test itself are
    allowed while it runs, and the browser stops before the database is flushed."""
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: .ci/run installs the Debian package chromium")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()
        # While Playwright's loop runs, Django keeps this thread's connections apart
        # (per context, like in async code): close them here, or the one opened during
        # the test stays open and the test database cannot be dropped at the end.
        connections.close_all()


@pytest.fixture
def app_role_server(monkeypatch: pytest.MonkeyPatch) -> None:
    """Requests served by the live server's thread run as the application role."""
    app_url = os.environ.get("DATABASE_APP_URL")
    if not app_url:
        pytest.skip("the suite runs with one database role")
    role = connection.ops.quote_name(conninfo_to_dict(app_url)["user"])
    original = tenant_middleware.set_tenant

    def set_tenant_as_app(*args, **kwargs):
        original(*args, **kwargs)
        if threading.current_thread() is not threading.main_thread():
            with connection.cursor() as cursor:
                cursor.execute(f"SET LOCAL ROLE {role}")

    monkeypatch.setattr(tenant_middleware, "set_tenant", set_tenant_as_app)


@pytest.fixture
def plain_static(settings) -> None:
    """Unhashed static names: the live server serves /static/ from the finders, which
    know no manifest names (production serves the hashed copies with whitenoise)."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture
def world(transactional_db, live_server, app_role_server, plain_static) -> TenantWorld:
    world = make_tenant("acme")
    make_tenant("globex")  # a second tenant in every browser test
    return world


@pytest.fixture
def new_page(browser, live_server) -> Iterator:
    """Pages in fresh browser contexts (each its own cookies), closed after the test."""
    contexts = []

    def make(width: int = 1280, height: int = 860):
        context = browser.new_context(
            base_url=live_server.url, viewport={"width": width, "height": height}
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def sign_in(page, email: str, organization: str = "acme") -> None:
    page.goto("/login/")
    page.get_by_label("Organization").fill(organization)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/")


def signed_in_page(new_page, email: str, organization: str = "acme"):
    """A new browser page, signed in as `email`."""
    page = new_page()
    sign_in(page, email, organization)
    return page


def screenshot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
