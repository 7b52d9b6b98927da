"""Error pages in the product's look, with DEBUG off (the test client's default):
a way back, the right status, and a 500 page that needs neither the database nor
the context processors."""

from __future__ import annotations

from django.template.loader import get_template
from django.test import Client

from deskbase.tickets import services
from tests.tickets.factories import open_ticket
from tests.web.helpers import signed_in


def assert_styled(response, status: int, heading: str) -> str:
    assert response.status_code == status
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert "/static/web/app." in page  # the product's stylesheet, not Django's bare page
    assert heading in page
    assert 'href="/">Back to the start page</a>' in page  # a way back
    return page


def test_a_trashed_ticket_is_a_styled_404_with_a_way_back(settings, tenant_a, tenant_b):
    assert settings.DEBUG is False
    ticket = open_ticket(tenant_a)
    services.ticket_soft_delete(organization=tenant_a.org, actor=tenant_a.agent, ticket=ticket)
    client = signed_in(tenant_a.agent)
    page = assert_styled(client.get(f"/desk/tickets/{ticket.number}/"), 404, "Not found")
    assert "Printer on fire" not in page
    assert tenant_a.agent.full_name in page  # the signed-in header, like every page


def test_a_missing_and_another_tenants_ticket_answer_the_same_404(tenant_a, tenant_b):
    theirs = open_ticket(tenant_b, subject="Globex secret")
    client = signed_in(tenant_a.agent)
    missing = client.get("/desk/tickets/999999/")
    other = client.get(f"/desk/tickets/{theirs.number}/")
    assert_styled(missing, 404, "Not found")
    page = assert_styled(other, 404, "Not found")
    assert "Globex secret" not in page


def test_an_unknown_address_is_a_styled_404_signed_out_too(db):
    response = Client().get("/no/such/page/")
    assert_styled(response, 404, "Not found")


def test_a_forbidden_page_is_a_styled_403(tenant_a):
    client = signed_in(tenant_a.customer)
    assert_styled(client.get("/desk/"), 403, "Not allowed")


def test_a_refused_form_token_is_a_styled_403(tenant_a):
    client = Client(enforce_csrf_checks=True)
    client.force_login(tenant_a.agent)
    response = client.post("/desk/availability", {"availability": "away"})
    assert_styled(response, 403, "Not allowed")


def test_a_bad_request_is_a_styled_400(tenant_a):
    response = Client().get("/login/", headers={"host": "evil.example"})
    assert_styled(response, 400, "Bad request")


def test_the_500_page_renders_without_database_or_request():
    """Django renders 500.html with an empty context: no request, no user, no nonce.
    (No database fixture: a query here would fail the test.)"""
    page = get_template("500.html").render()
    assert "Something went wrong" in page
    assert 'href="/">Back to the start page</a>' in page
    assert "web/app.css" in page
    # nothing in it reaches for the database or a context processor
    source = get_template("500.html").template.source
    for needs_context in ("{% extends", "{% url", "user.", "csrf", "{% include"):
        assert needs_context not in source


def test_a_crashing_page_answers_the_styled_500(tenant_a, monkeypatch):
    from deskbase.web.views import desk

    def boom(*args, **kwargs):
        raise RuntimeError("kaput")

    monkeypatch.setattr(desk, "page_context", boom)
    client = signed_in(tenant_a.agent)
    client.raise_request_exception = False
    response = client.get("/desk/tickets/1/")
    assert response.status_code == 500
    page = response.content.decode()
    assert "Something went wrong" in page
    assert "kaput" not in page
    assert 'href="/">Back to the start page</a>' in page


def test_favicon_is_served_without_the_database_and_linked_from_every_page(
    tenant_a, django_assert_num_queries
):
    # whitenoise answers before the session and tenant middleware
    with django_assert_num_queries(0):
        response = Client().get("/favicon.ico")
    assert response.status_code == 200
    assert response["Content-Type"] in ("image/x-icon", "image/vnd.microsoft.icon")
    body = b"".join(response.streaming_content)
    assert body[:4] == b"\x00\x00\x01\x00"  # an ICO header
    for client, url in ((Client(), "/login/"), (signed_in(tenant_a.agent), "/desk/")):
        page = client.get(url).content.decode()
        assert '<link rel="icon" href="/static/web/favicon.' in page, url
