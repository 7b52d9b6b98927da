"""The search page and the header's suggestions: each organization's own results, grouped
and highlighted with escaped snippets, #1234 straight to the ticket, "did you mean",
opened results in the search log, and a fixed number of queries."""

from __future__ import annotations

import pytest
from django.db import connection

from deskbase.search import plan
from deskbase.tickets import canned, services
from tests.tickets.factories import open_ticket
from tests.web.helpers import assert_staff_only, queries_of, signed_in

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_estimates():
    """Per-lexeme estimates are cached per process: each test starts without them."""
    plan.forget()
    yield
    plan.forget()


def _log(world) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT query, result_count, opened_type, opened_id FROM search_searchlog"
            " WHERE organization_id = %s ORDER BY id",
            [world.org.id],
        )
        return cursor.fetchall()


def test_results_are_grouped_highlighted_and_of_my_organization(tenant_a, tenant_b):
    """Given a matching ticket, reply and canned response in each organization, when an
    agent searches, then their own show in groups with <mark>ed words, the others not."""
    ticket = open_ticket(tenant_a, subject="Router reboots nightly",
                         description="The router reboots at midnight.")  # fmt: skip
    services.comment_add(organization=tenant_a.org, actor=tenant_a.agent, ticket=ticket,
                         body="Router firmware updated.", kind="internal")  # fmt: skip
    canned.canned_response_create(organization=tenant_a.org, actor=tenant_a.admin,
                                  name="Router reset", body="Unplug the router.")  # fmt: skip
    open_ticket(tenant_b, subject="Router of Globex")

    response = signed_in(tenant_a.agent).get("/desk/search/?q=router")

    assert response.status_code == 200
    content = response.content.decode()
    kinds = [g["kind"] for g in response.context["groups"]]
    assert kinds[:1] == ["tickets"]
    assert {"comments", "canned_responses"} <= set(kinds)
    assert "<mark>Router</mark> reboots nightly" in content
    assert "Globex" not in content
    assert 'id="results-tickets"' in content
    # The link goes to the ticket; the page's script reports it opened with a POST.
    item = response.context["groups"][0]["items"][0]
    assert item["link"] == f"/desk/tickets/{ticket.number}/"
    assert f'data-opened-url="{item["opened"]["url"]}"' in content


def test_snippets_and_subjects_are_escaped(tenant_a, tenant_b):
    open_ticket(tenant_a, subject="<script>alert(1)</script> printer",
                description='<img src=x onerror="alert(2)"> printer jam')  # fmt: skip
    response = signed_in(tenant_a.agent).get("/desk/search/?q=printer")
    content = response.content.decode()
    assert "<script>alert(1)" not in content
    assert "&lt;script&gt;alert(1)&lt;/script&gt; <mark>printer</mark>" in content
    assert "<img src=x" not in content


def test_a_ticket_number_goes_straight_to_the_ticket(tenant_a, tenant_b):
    ticket = open_ticket(tenant_a)
    theirs = open_ticket(tenant_b)
    client = signed_in(tenant_a.agent)
    response = client.get(f"/desk/search/?q=%23{ticket.number}")
    assert response.status_code == 302
    assert response["Location"] == f"/desk/tickets/{ticket.number}/"
    assert _log(tenant_a)[-1][2:] == ("ticket", ticket.id)
    # Another organization's number is not a jump (nor a leak): a normal search.
    other = max(ticket.number, theirs.number) + 1000
    assert client.get(f"/desk/search/?q=%23{other}").status_code == 200


def test_did_you_mean(tenant_a, tenant_b):
    open_ticket(tenant_a, subject="Keyboard missing keys")
    response = signed_in(tenant_a.agent).get("/desk/search/?q=keybaord")
    assert response.context["groups"] == []
    assert response.context["did_you_mean"] == "keyboard"
    assert b'id="did-you-mean"' in response.content


def test_searches_are_logged_and_an_opened_result_is_reported(tenant_a, tenant_b):
    ticket = open_ticket(tenant_a, subject="Scanner jams")
    client = signed_in(tenant_a.agent)
    response = client.get("/desk/search/?q=scanner")
    opened = response.context["groups"][0]["items"][0]["opened"]
    assert _log(tenant_a) == [("scanner", 1, None, None)]
    form = {"type": opened["type"], "id": opened["id"]}

    # A GET writes nothing (it is not even answered) ...
    assert client.get(opened["url"], form).status_code == 405
    assert _log(tenant_a) == [("scanner", 1, None, None)]
    # ... nor a POST without the CSRF token ...
    csrf_client = signed_in(tenant_a.agent)
    csrf_client.handler.enforce_csrf_checks = True
    assert csrf_client.post(opened["url"], form).status_code == 403
    assert _log(tenant_a) == [("scanner", 1, None, None)]
    # ... the page's POST with it does.
    page = csrf_client.get("/desk/search/?q=scanner")
    token = csrf_client.cookies["csrftoken"].value
    opened = page.context["groups"][0]["items"][0]["opened"]
    reported = csrf_client.post(opened["url"], form, headers={"X-CSRFToken": token})
    assert reported.status_code == 204
    assert _log(tenant_a)[-1] == ("scanner", 1, "ticket", ticket.id)
    # Someone else's search is not marked.
    first = _log(tenant_a)[0]
    signed_in(tenant_a.manager).post(response.context["groups"][0]["items"][0]["opened"]["url"],
                                     form)  # fmt: skip
    assert _log(tenant_a)[0] == first


def test_suggestions_as_one_types(tenant_a, tenant_b):
    open_ticket(tenant_a, subject="Printer <b>offline</b>")
    open_ticket(tenant_b, subject="Printer of Globex")
    client = signed_in(tenant_a.agent)
    response = client.get("/desk/search/suggest?q=prin")
    content = response.content.decode()
    assert "Printer &lt;b&gt;offline&lt;/b&gt;" in content
    assert "Globex" not in content
    assert "/desk/search/?q=Printer+%3Cb%3Eoffline%3C%2Fb%3E" in content
    assert client.get("/desk/search/suggest?q=p").content.strip() == b""


def test_bad_input_is_a_message(tenant_a, tenant_b):
    client = signed_in(tenant_a.agent)
    response = client.get("/desk/search/?q=" + "x" * 600)
    assert response.status_code == 400
    assert b"limited to 500 characters" in response.content
    assert client.get("/desk/search/?q=printer&type=tickets&cursor=garbage").status_code == 400
    assert client.get("/desk/search/?q=").status_code == 200


@pytest.mark.parametrize("url", ["/desk/search/?q=x", "/desk/search/suggest?q=xx",
                                 "/desk/search/1/opened"])  # fmt: skip
def test_customers_are_kept_out(tenant_a, tenant_b, url):
    assert_staff_only(tenant_a, url)


def test_query_count_is_the_same_for_1_and_50_tickets(tenant_a, tenant_b):
    client = signed_in(tenant_a.agent)
    urls = ("/desk/search/?q=lamp", "/desk/search/suggest?q=lam")

    def add(start: int, n: int) -> None:
        for i in range(start, start + n):
            ticket = open_ticket(tenant_a, subject=f"Lamp {i} flickers")
            services.comment_add(organization=tenant_a.org, actor=tenant_a.agent,
                                 ticket=ticket, body=f"Lamp {i} replaced")  # fmt: skip

    add(0, 1)
    small = {url: queries_of(client, url) for url in urls}
    add(1, 49)
    plan.forget()
    large = {url: queries_of(client, url) for url in urls}
    assert small == large


def test_the_search_page_finds_what_the_suggestions_showed(tenant_a, tenant_b):
    """Given a ticket whose subject the header's box suggests for "webho", when the agent
    presses Enter (the page is asked for "webho"), then the ticket is among the results."""
    ticket = open_ticket(tenant_a, subject="Webhook deliveries failing")
    open_ticket(tenant_b, subject="Webhook of Globex")
    client = signed_in(tenant_a.agent)
    suggestions = client.get("/desk/search/suggest?q=webho").content.decode()
    assert "Webhook deliveries failing" in suggestions

    response = client.get("/desk/search/?q=webho")

    numbers = [item["number"] for g in response.context["groups"] if g["kind"] == "tickets"
               for item in g["items"]]  # fmt: skip
    assert numbers == [ticket.number]
    assert "<mark>Webhook</mark> deliveries failing" in response.content.decode()
    assert "Globex" not in response.content.decode()


def test_staff_find_their_organizations_articles(tenant_a, tenant_b):
    """Given published articles about printers in both organizations (one internal, one
    still a draft), when an agent searches, then the articles group shows their own
    published ones, internal included, with section and a link to manage them, and
    nothing of the other organization."""
    from tests.knowledge.factories import article, section

    mine = article(tenant_a, section(tenant_a, name="Devices"), title="Printer jams",
                   body="Open the **printer** tray.")  # fmt: skip
    internal = article(tenant_a, section(tenant_a, visibility="internal", name="Runbooks"),
                       title="Printer fleet runbook", body="Restart the spooler.")  # fmt: skip
    article(tenant_a, section(tenant_a, name="Drafts"), title="Printer draft", publish=False)
    article(tenant_b, section(tenant_b, name="Globex devices"), title="Globex printer guide")

    response = signed_in(tenant_a.agent).get("/desk/search/?q=printer")

    assert response.status_code == 200
    groups = {g["kind"]: g for g in response.context["groups"]}
    found = {item["id"]: item for item in groups["articles"]["items"]}
    assert set(found) == {mine.article_id, internal.article_id}
    item = found[mine.article_id]
    assert item["section"] == "Devices"
    assert item["link"] == f"/manage/kb/articles/{mine.article_id}/en/"
    assert item["opened"] is None
    content = response.content.decode()
    assert 'id="results-articles"' in content
    assert "Printer jams" in content
    assert "<mark>printer</mark>" in item["snippet"], item["snippet"]
    assert "Runbooks" in content
    assert "Globex" not in content
    assert "Printer draft" not in content


def test_article_results_cost_no_query_more_for_50_articles(tenant_a, tenant_b):
    from tests.knowledge.factories import article, section

    place = section(tenant_a)
    article(tenant_a, place, title="Scanner 0 calibration")
    client = signed_in(tenant_a.agent)
    url = "/desk/search/?q=scanner"
    one = queries_of(client, url)
    for index in range(1, 50):
        article(tenant_a, place, title=f"Scanner {index} calibration")
    plan.forget()
    many = queries_of(client, url)
    assert many == one
    page = client.get(url)
    assert len(page.context["groups"][0]["items"]) == 10
