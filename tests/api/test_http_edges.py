"""The API at the edges of HTTP: media types, sizes, Django's own errors, cookies set from
other sites, anonymous writes, wrong tokens, and answers that must not tell things apart."""

from __future__ import annotations

import json
import re

import pytest
from django.test import Client

from deskbase.accounts import throttle
from deskbase.search import services as search_services
from tests.api.helpers import ApiClient
from tests.tickets.factories import open_ticket

pytestmark = pytest.mark.django_db
PASSWORD = "pw-for-tests-1"
PROBLEM = "application/problem+json"


def is_problem(response, status: int) -> dict:
    assert response.status_code == status, (response.status_code, response.content[:300])
    assert response["Content-Type"] == PROBLEM, response["Content-Type"]
    body = response.json()
    assert body["status"] == status
    return body


def sign_in_body(world) -> str:
    return json.dumps({"organization": world.org.slug, "email": world.agent.email,
                       "password": PASSWORD})  # fmt: skip


# ------------------------------------------------------------------ sign-in CSRF
@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
def test_sign_in_refuses_a_body_a_cross_site_form_can_send(tenant_a, app_role, content_type):
    client = Client()
    response = client.post("/api/v1/auth/login", sign_in_body(tenant_a), content_type=content_type,
                           headers={"Origin": "https://evil.test"})  # fmt: skip
    assert response.status_code in (403, 415)
    is_problem(response, response.status_code)
    assert "sessionid" not in response.cookies


def test_sign_in_refuses_a_foreign_origin(tenant_a, app_role):
    client = Client()
    response = client.post("/api/v1/auth/login", sign_in_body(tenant_a),
                           content_type="application/json",
                           headers={"Origin": "https://evil.test"})  # fmt: skip
    assert is_problem(response, 403)["errors"][0]["field"] == "Origin"
    assert "sessionid" not in response.cookies


def test_sign_in_from_this_site_or_a_non_browser_client(tenant_a, app_role):
    for headers in ({"Origin": "http://testserver"}, {}):
        client = Client()
        response = client.post("/api/v1/auth/login", sign_in_body(tenant_a),
                               content_type="application/json", headers=headers)  # fmt: skip
        assert response.status_code == 200, response.content
        assert "sessionid" in response.cookies


# ------------------------------------------------------------------ media types
@pytest.mark.parametrize("content_type", ["text/plain", "application/octet-stream", ""])
def test_json_in_another_media_type_is_a_415(tenant_a, app_role, content_type):
    api = ApiClient(tenant_a.agent)
    body = json.dumps({"subject": "x", "customer_id": tenant_a.customer.id})
    response = api.client.generic("POST", "/api/v1/tickets", body, content_type=content_type,
                                  headers=api._headers(None))  # fmt: skip
    problem = is_problem(response, 415)
    assert problem["errors"][0]["field"] == "Content-Type"
    assert not api.get("/tickets").json()["items"]


def test_a_json_media_type_with_a_charset_is_json(tenant_a, app_role):
    api = ApiClient(tenant_a.agent)
    body = json.dumps({"subject": "x", "customer_id": tenant_a.customer.id})
    response = api.client.post("/api/v1/tickets", body,
                               content_type="application/json; charset=utf-8",
                               headers=api._headers(None))  # fmt: skip
    assert response.status_code == 201, response.content


def test_a_body_over_the_limit_is_a_413_problem(tenant_a, app_role, settings):
    api = ApiClient(tenant_a.agent)
    body = json.dumps({"subject": "x", "description": "y" * (20 * 1024 * 1024)})
    response = api.client.post("/api/v1/tickets", body, content_type="application/json",
                               headers=api._headers(None))  # fmt: skip
    assert is_problem(response, 413)["errors"][0]["field"] == "body"


# ------------------------------------------------------------------ Django's own errors
def test_an_unknown_api_path_is_a_404_problem(tenant_a, app_role):
    api = ApiClient(tenant_a.agent)
    is_problem(api.client.get("/api/v1/nothing-here", headers=api._headers(None)), 404)
    is_problem(api.client.get("/api/nothing", headers=api._headers(None)), 404)


def test_a_method_an_endpoint_lacks_is_a_405_problem(tenant_a, app_role):
    api = ApiClient(tenant_a.agent)
    response = api.client.put("/api/v1/tickets", "{}", content_type="application/json",
                              headers=api._headers(None))  # fmt: skip
    is_problem(response, 405)
    assert "GET" in response["Allow"]


def test_a_foreign_host_is_a_400_problem(tenant_a, app_role):
    api = ApiClient(tenant_a.agent)
    response = api.client.get("/api/v1/me", headers=api._headers(None), HTTP_HOST="evil.test")
    is_problem(response, 400)


def test_pages_outside_the_api_keep_their_html(tenant_a):
    response = Client().get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


# ------------------------------------------------------------------ anonymous writes
@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/api/v1/tickets"), ("PATCH", "/api/v1/tickets/1"),
     ("DELETE", "/api/v1/tickets/1"), ("POST", "/api/v1/tokens")],
)  # fmt: skip
def test_anonymous_writes_are_a_401_not_a_csrf_403(tenant_a, method, path):
    client = Client(enforce_csrf_checks=True)
    response = client.generic(method, path, "{}", content_type="application/json")
    is_problem(response, 401)


def test_a_signed_in_session_still_needs_its_csrf_token(tenant_a, app_role):
    client = Client(enforce_csrf_checks=True)
    signed_in = client.post("/api/v1/auth/login", sign_in_body(tenant_a),
                            content_type="application/json")  # fmt: skip
    assert signed_in.status_code == 200
    response = client.post("/api/v1/tokens", {"name": "x"}, content_type="application/json")
    is_problem(response, 403)


# ------------------------------------------------------------------ wrong tokens
def test_wrong_tokens_are_throttled_per_address(tenant_a, tenant_b, app_role):
    good = ApiClient(tenant_a.agent)
    client = Client(REMOTE_ADDR="203.0.113.9")
    wrong = f"dsk_{tenant_a.org.id}_{'x' * 43}"
    for _ in range(throttle.TOKEN_ADDRESS_LIMIT):
        response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {wrong}"})
        is_problem(response, 401)
    response = client.get("/api/v1/me", headers={"Authorization": "Bearer not-even-a-token"})
    is_problem(response, 429)
    assert int(response["Retry-After"]) > 0
    # From that address even a right token waits (guessing learns nothing) ...
    right = client.get("/api/v1/me", headers={"Authorization": f"Bearer {good.token}"})
    is_problem(right, 429)
    # ... and from any other address it works.
    assert good.get("/me").status_code == 200


# ------------------------------------------------------------------ answers alike
def numberless(content: bytes) -> str:
    return re.sub(r"#\d+", "#N", content.decode())


def page_alike(content: bytes) -> str:
    """A page without what differs on every answer (the CSP nonce, the CSRF token)."""
    text = re.sub(r'nonce="[^"]*"', 'nonce=""', content.decode())
    text = re.sub(r'"X-CSRFToken": "[^"]*"', '"X-CSRFToken": ""', text)
    return re.sub(r'(csrfmiddlewaretoken" value=)"[^"]*"', r'\1""', text)


def test_another_customers_ticket_reads_like_a_missing_one(tenant_a, tenant_b, app_role):
    from deskbase.accounts import services as people

    other = people.user_create(organization=tenant_a.org, actor=None, role="customer",
                               email="other@acme.test")  # fmt: skip
    theirs = open_ticket(tenant_a, customer=other)
    missing = theirs.number + 100
    customer = ApiClient(tenant_a.customer)
    for suffix in ("", "/comments", "/attachments"):
        a = customer.get(f"/tickets/{theirs.number}{suffix}")
        b = customer.get(f"/tickets/{missing}{suffix}")
        assert a.status_code == b.status_code == 404
        assert numberless(a.content) == numberless(b.content)
    # The portal too.
    portal = Client()
    portal.force_login(tenant_a.customer)
    a = portal.get(f"/portal/tickets/{theirs.number}/")
    b = portal.get(f"/portal/tickets/{missing}/")
    assert a.status_code == b.status_code == 404
    assert page_alike(a.content) == page_alike(b.content)


# ------------------------------------------------------------------ opened results
def test_an_opened_result_of_another_tenant_is_a_422(tenant_a, tenant_b, app_role):
    mine = open_ticket(tenant_a)
    theirs = open_ticket(tenant_b)
    search_id = search_services.search_log(
        user=tenant_a.agent, text="printer", types=["tickets"], result_count=1, latency_ms=1.0
    )
    api = ApiClient(tenant_a.agent)
    refused = api.post(f"/search/{search_id}/opened", {"type": "ticket", "id": theirs.id})
    assert is_problem(refused, 422)["errors"][0]["field"] == "id"
    nowhere = api.post(f"/search/{search_id}/opened", {"type": "ticket", "id": 10**9})
    assert is_problem(nowhere, 422)["errors"][0]["field"] == "id"
    assert api.post(f"/search/{search_id}/opened", {"type": "ticket", "id": mine.id}
                    ).status_code == 204  # fmt: skip


# ------------------------------------------------------------------ uploads
def test_a_very_long_file_name_is_a_422_naming_the_file(tenant_a, app_role):
    ticket = open_ticket(tenant_a)
    api = ApiClient(tenant_a.agent)
    # Built by hand: Django's test client would cut the name to 255 characters first.
    body = (
        "--b0undary\r\n"
        f'Content-Disposition: form-data; name="file"; filename="{"n" * 1000}.txt"\r\n'
        "Content-Type: text/plain\r\n\r\nhello\r\n--b0undary--\r\n"
    ).encode()
    response = api.client.generic(
        "POST", f"/api/v1/tickets/{ticket.number}/attachments", body,
        content_type="multipart/form-data; boundary=b0undary", headers=api._headers(None),
    )  # fmt: skip
    assert is_problem(response, 422)["errors"][0]["field"] == "file"
