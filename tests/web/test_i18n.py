"""English and German: every word of the pages is translatable, the German catalog is
complete, and each person sees their own language and time zone (docs/i18n.md)."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path

import polib
import pytest
from django.core.management import call_command
from django.test import Client, RequestFactory, override_settings

from deskbase.accounts.models import User
from deskbase.accounts.services import user_update
from deskbase.organizations.models import Organization
from deskbase.organizations.settings_services import organization_settings_update
from deskbase.web.middleware import preferences
from tests.tickets.factories import open_ticket
from tests.web.helpers import signed_in
from tests.web.template_text import literal_defaults, untranslated

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "deskbase"
CATALOG = PACKAGE / "locale" / "de" / "LC_MESSAGES" / "django.po"
PENDING: set[str] = set()
# Not HTML: a run of attributes included inside a tag.
FRAGMENTS = {"web/parts/opened_attrs.html"}


def _templates() -> list[tuple[str, Path]]:
    found = []
    for path in sorted(PACKAGE.rglob("templates/**/*.html")):
        name = path.as_posix().split("/templates/", 1)[1]
        if name not in PENDING | FRAGMENTS:
            found.append((name, path))
    return found


def _catalog() -> polib.POFile:
    return polib.pofile(str(CATALOG))


# ------------------------------------------------------------------ the catalog
def test_every_template_word_goes_through_a_translate_tag():
    """Given every template, when its text is read outside translate tags, then no word is left."""
    left = [
        f"{name}:{text.line}: [{text.kind}] {text.words.strip()[:70]!r}"
        for name, path in _templates()
        for text in untranslated(path.read_text())
    ]
    assert not left, "not translatable:\n" + "\n".join(left)


def test_no_template_shows_an_english_default():
    # Values, not words, are allowed: a claim's name the form proposes, a queue's sort.
    values = {"|default:'roles'", "|default:'recent'", "|default:'en'"}
    found = [
        f"{name}: {literal}"
        for name, path in _templates()
        for literal in literal_defaults(path.read_text())
        if literal not in values
    ]
    assert not found, found


def test_the_lint_sees_text_and_attributes_but_not_tags_or_code():
    source = (
        '{% load i18n %}<p title="Hello">{% translate "Fine" %} Plain words</p>'
        "<code>status:open</code>{# a comment #}{% blocktranslate %}Also {{ fine }}"
        '{% endblocktranslate %}<a aria-label="{% translate "Fine" %}">deskbase</a>'
    )
    found = untranslated(source)
    assert [t.kind for t in found] == ["title", "text"]
    assert found[0].words == "Hello"
    assert found[1].words.endswith("Plain words")


def test_extraction_finds_no_string_missing_from_the_german_catalog(tmp_path):
    """Given the sources, when makemessages extracts their strings (xgettext) into a copy,
    then the committed German catalog has every one of them."""
    assert shutil.which("xgettext"), "install gettext (xgettext): .ci/run does"
    copy = tmp_path / "deskbase"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("locale", "static", "__pycache__"))
    with override_settings(LOCALE_PATHS=[tmp_path / "locale"]):
        here = Path.cwd()
        try:
            import os

            os.chdir(copy)
            call_command("makemessages", locale=["de"], verbosity=0, no_location=True)
        finally:
            os.chdir(here)
    extracted = polib.pofile(str(tmp_path / "locale" / "de" / "LC_MESSAGES" / "django.po"))
    committed = {(entry.msgctxt, entry.msgid) for entry in _catalog()}
    missing = sorted(e.msgid for e in extracted if (e.msgctxt, e.msgid) not in committed)
    assert not missing, "run makemessages and translate (docs/i18n.md):\n" + "\n".join(missing)


def test_no_german_string_is_empty_or_fuzzy():
    catalog = _catalog()
    assert len(catalog) > 500
    bad = [
        entry.msgid
        for entry in catalog
        if "fuzzy" in entry.flags
        or entry.obsolete
        or (not entry.msgid_plural and not entry.msgstr)
        or (entry.msgid_plural and not all(entry.msgstr_plural.get(n) for n in (0, 1)))
    ]
    assert not bad, bad


def test_german_strings_keep_their_placeholders():
    for entry in _catalog():
        wanted = sorted(re.findall(r"%\(\w+\)s|\{n\}", entry.msgid))
        for text in [entry.msgstr] if not entry.msgid_plural else entry.msgstr_plural.values():
            assert sorted(re.findall(r"%\(\w+\)s|\{n\}", text)) == wanted, entry.msgid


def test_the_committed_mo_file_is_the_compiled_catalog():
    compiled = _catalog().to_binary()
    assert CATALOG.with_suffix(".mo").read_bytes() == compiled, (
        "the .mo is stale: compile the catalog (docs/i18n.md)"
    )


# ------------------------------------------------------------------ pages in German
def _german(world) -> None:
    organization_settings_update(organization=world.org, actor=world.admin, language="de")


@pytest.mark.parametrize(
    ("url", "german", "english"),
    [
        ("/desk/queues/mine/", "Meine offenen Tickets", "My open tickets"),
        ("/desk/queues/open/", "Priorität", "Priority"),
        ("/desk/dashboard/", "Kundenzufriedenheit", "Customer satisfaction"),
        ("/account/security/", "Sprache und Zeitzone", "Language and time zone"),
    ],
)
def test_staff_pages_in_german(tenant_a, url, german, english):
    """Given an organization whose language is German, when its agent opens a page, then
    it is in German."""
    open_ticket(tenant_a)
    _german(tenant_a)
    response = signed_in(tenant_a.manager).get(url)
    page = response.content.decode()
    assert response.status_code == 200
    assert response["Content-Language"] == "de"
    assert german in page
    assert english not in page
    assert "Abmelden" in page
    assert ">Sign out<" not in page


def test_portal_in_german(tenant_a):
    ticket = open_ticket(tenant_a)
    _german(tenant_a)
    client = signed_in(tenant_a.customer)
    listing = client.get("/portal/").content.decode()
    assert "Meine Tickets" in listing
    assert "My tickets" not in listing
    page = client.get(f"/portal/tickets/{ticket.number}/").content.decode()
    assert "Antwort senden" in page
    assert "Send reply" not in page


# ------------------------------------------------------------------ whose language and zone
def test_the_persons_language_wins_over_the_organizations(tenant_a, tenant_b):
    """Given organization A in German and its agent who chose English, and organization B
    in English whose agent chose German, each sees their own choice."""
    _german(tenant_a)
    user_update(organization=tenant_a.org, actor=tenant_a.agent, user=tenant_a.agent,
                language="en")  # fmt: skip
    user_update(organization=tenant_b.org, actor=tenant_b.agent, user=tenant_b.agent,
                language="de")  # fmt: skip
    a = signed_in(tenant_a.agent).get("/desk/queues/mine/")
    b = signed_in(tenant_b.agent).get("/desk/queues/mine/")
    assert a["Content-Language"] == "en"
    assert "My open tickets" in a.content.decode()
    assert b["Content-Language"] == "de"
    assert "Meine offenen Tickets" in b.content.decode()
    # A's other people follow A's default.
    assert signed_in(tenant_a.manager).get("/desk/")["Content-Language"] == "de"
    assert signed_in(tenant_b.manager).get("/desk/")["Content-Language"] == "en"


def test_without_a_choice_the_browser_decides(tenant_a):
    client = signed_in(tenant_a.agent)
    german = client.get("/desk/queues/mine/", HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9")
    assert german["Content-Language"] == "de"
    english = client.get("/desk/queues/mine/", HTTP_ACCEPT_LANGUAGE="fr-FR")
    assert english["Content-Language"] == "en"


def test_anonymous_visitors_get_their_browsers_language(db):
    response = Client().get("/login/", HTTP_ACCEPT_LANGUAGE="de")
    assert response.status_code == 200
    assert response["Content-Language"] == "de"
    assert "Anmelden" in response.content.decode()
    assert "Accept-Language" in response["Vary"]
    english = Client().get("/login/", HTTP_ACCEPT_LANGUAGE="en-GB")
    assert "Sign in" in english.content.decode()


def test_the_api_stays_english(tenant_a):
    _german(tenant_a)
    response = signed_in(tenant_a.agent).get("/api/v1/me")
    assert response.status_code == 200
    assert "Content-Language" not in response


def _zone_of(user: User | None, session: dict | None = None) -> tuple[str, str | None]:
    request = RequestFactory().get("/desk/")
    request.session = session or {}  # type: ignore[assignment]
    from django.contrib.auth.models import AnonymousUser

    request.user = user or AnonymousUser()  # type: ignore[assignment]
    language, zone = preferences(request)
    return language, zone.key if zone else None


def test_the_persons_zone_wins_over_the_organizations(tenant_a, tenant_b):
    organization_settings_update(organization=tenant_a.org, actor=tenant_a.admin,
                                 timezone="Europe/Berlin")  # fmt: skip
    user_update(organization=tenant_a.org, actor=tenant_a.agent, user=tenant_a.agent,
                timezone="America/New_York")  # fmt: skip
    agent = User.objects.get(pk=tenant_a.agent.pk)
    manager = User.objects.get(pk=tenant_a.manager.pk)
    assert _zone_of(agent)[1] == "America/New_York"
    assert _zone_of(manager)[1] == "Europe/Berlin"
    assert _zone_of(User.objects.get(pk=tenant_b.agent.pk))[1] == "UTC"
    assert _zone_of(None) == ("en", None)


def test_portal_times_are_in_the_customers_zone(tenant_a):
    """Given a ticket opened at 10:00 UTC, its customer in Asia/Tokyo sees 19:00."""
    ticket = open_ticket(tenant_a)
    from deskbase.core.tenancy import tenant
    from deskbase.tickets.models import Ticket

    at = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)
    with tenant(tenant_a.org.id):
        Ticket.objects.filter(pk=ticket.pk).update(created_at=at)
    user_update(organization=tenant_a.org, actor=tenant_a.customer, user=tenant_a.customer,
                timezone="Asia/Tokyo")  # fmt: skip
    page = signed_in(tenant_a.customer).get(f"/portal/tickets/{ticket.number}/")
    assert "2026-03-02 19:00" in page.content.decode()


# ------------------------------------------------------------------ the settings page
def test_a_person_sets_language_and_zone(tenant_a, tenant_b):
    client = signed_in(tenant_a.agent)
    response = client.post("/account/preferences", {"language": "de", "timezone": "Europe/Vienna"})
    assert response.status_code == 302
    agent = User.objects.get(pk=tenant_a.agent.pk)
    assert (agent.language, agent.timezone) == ("de", "Europe/Vienna")
    page = client.get("/account/security/").content.decode()
    assert "Sprache und Zeitzone gespeichert." in page
    # nobody else changed, in either organization
    others = User.objects.exclude(pk=agent.pk).filter(organization__in=[tenant_a.org, tenant_b.org])
    assert set(others.values_list("language", "timezone")) == {("", "")}


def test_a_bad_time_zone_is_a_form_error_and_nothing_is_saved(tenant_a):
    response = signed_in(tenant_a.agent).post(
        "/account/preferences", {"language": "de", "timezone": "Mars/Olympus"}
    )
    assert response.status_code == 422
    assert b"Mars/Olympus" in response.content  # Django's "not one of the choices"
    agent = User.objects.get(pk=tenant_a.agent.pk)
    assert (agent.language, agent.timezone) == ("", "")


def test_the_database_refuses_a_bad_zone_or_language(tenant_a):
    from django.db import IntegrityError, transaction

    for change in ({"timezone": "Mars/Olympus"}, {"language": "xx"}):
        with pytest.raises(IntegrityError), transaction.atomic():
            User.objects.filter(pk=tenant_a.agent.pk).update(**change)
    with pytest.raises(IntegrityError), transaction.atomic():
        Organization.objects.filter(pk=tenant_a.org.pk).update(language="xx")


def test_the_api_sets_ones_own_preferences(tenant_a):
    client = signed_in(tenant_a.agent)
    response = client.patch(
        "/api/v1/me", {"language": "de", "timezone": "Europe/Berlin"},
        content_type="application/json",
    )  # fmt: skip
    assert response.status_code == 200, response.content
    assert response.json()["language"] == "de"
    bad = client.patch("/api/v1/me", {"timezone": "Nowhere/Else"},
                       content_type="application/json")  # fmt: skip
    assert bad.status_code == 422
    assert "timezone" in bad.content.decode()
    assert User.objects.get(pk=tenant_a.agent.pk).timezone == "Europe/Berlin"


# ------------------------------------------------------------------ mail to a person
def test_notification_mail_is_in_the_recipients_language_and_zone(tenant_a):
    """Given an English organization, its agent who chose German and Europe/Berlin gets the
    notice in German with a Berlin time; the manager (no choice) gets it in English."""
    from deskbase.core.tenancy import tenant
    from deskbase.notifications import mail
    from deskbase.notifications.models import Reason
    from deskbase.tickets.models import Ticket

    ticket = open_ticket(tenant_a)
    user_update(organization=tenant_a.org, actor=tenant_a.agent, user=tenant_a.agent,
                language="de", timezone="Europe/Berlin")  # fmt: skip
    with tenant(tenant_a.org.id):
        ticket = Ticket.objects.select_related("customer").get(pk=ticket.pk)
        agent = User.objects.get(pk=tenant_a.agent.pk)
        manager = User.objects.get(pk=tenant_a.manager.pk)
        german = mail.render(tenant_a.org, ticket, Reason.ASSIGNED, None, agent)
        english = mail.render(tenant_a.org, ticket, Reason.ASSIGNED, None, manager)
    assert "Ihnen zugewiesen" in german[1]
    assert "Uhr (CE" in german[1]  # CET or CEST
    assert "Assigned to you" in english[1]


# ------------------------------------------------------------------ messages of the services
def test_a_form_error_is_in_the_readers_language(tenant_a, tenant_b):
    """Given organization A in German and B in English, when each admin sends a webhook URL
    with a password in it, then the form names the error in their own language."""
    _german(tenant_a)
    sent = {"url": "https://user:secret@example.com/hook", "event_types": ["*"]}
    german = signed_in(tenant_a.admin).post("/manage/webhooks/", sent)
    english = signed_in(tenant_b.admin).post("/manage/webhooks/", sent)
    assert german.status_code == english.status_code == 422
    assert (
        "Setzen Sie keinen Benutzernamen und kein Passwort in die URL." in german.content.decode()
    )
    assert "Put no user name or password in the URL." not in german.content.decode()
    assert "Put no user name or password in the URL." in english.content.decode()


def test_an_api_error_stays_english_for_a_german_reader(tenant_a):
    """Given a German organization and an admin who chose German, when the admin's client
    asks the API in German for the same refused URL, then the problem is in English."""
    _german(tenant_a)
    user_update(organization=tenant_a.org, actor=tenant_a.admin, user=tenant_a.admin,
                language="de")  # fmt: skip
    response = signed_in(tenant_a.admin).post(
        "/api/v1/webhooks",
        {"url": "https://user:secret@example.com/hook", "event_types": ["*"]},
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="de",
    )
    assert response.status_code == 422
    assert "Content-Language" not in response
    assert "Put no user name or password in the URL." in response.content.decode()
    assert "Setzen Sie" not in response.content.decode()


def test_a_stale_version_is_told_without_versions_on_a_page():
    """The service names the versions for API clients; a person is told to reload."""
    from deskbase.core.errors import Conflict
    from deskbase.web.views.common import error_text

    stale = Conflict("ticket #7 was changed by someone else: you edited version 1, the "
                     "latest is 2; reload and try again", field="version")  # fmt: skip
    assert "version" not in error_text(stale)
    assert "reload" in error_text(stale)


DOMAIN_ERRORS = {"ValidationFailed", "Conflict", "NotFound", "PermissionDenied", "Vetoed",
                 "DomainError", "BadQuery", "HostRefused"}  # fmt: skip
# The API speaks English (docs/i18n.md); command-line output is for operators.
NOT_FOR_PEOPLE = ("api/", "migrations/", "management/", "cli.py")


def _message_arguments(call):
    """The message nodes of a domain error's construction, or of ValidationFailed.one."""
    import ast

    func = call.func
    if isinstance(func, ast.Attribute) and func.attr == "one":
        if isinstance(func.value, ast.Name) and func.value.id in DOMAIN_ERRORS:
            return call.args[1:2]
        return []
    if not (isinstance(func, ast.Name) and func.id in DOMAIN_ERRORS and call.args):
        return []
    first = call.args[0]
    if isinstance(first, ast.Dict):
        found = []
        for value in first.values:
            found.extend(value.elts if isinstance(value, ast.List | ast.Tuple) else [value])
        return found
    return [first]


def test_no_domain_error_is_raised_with_an_untranslated_text():
    """Every message a service raises for people goes through gettext: a bare string or
    an f-string as the message of a domain error fails here (docs/i18n.md)."""
    import ast

    bare = []
    for path in sorted(PACKAGE.rglob("*.py")):
        name = path.relative_to(PACKAGE).as_posix()
        if any(part in name for part in NOT_FOR_PEOPLE):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            for message in _message_arguments(node):
                literal = isinstance(message, ast.Constant) and isinstance(message.value, str)
                if literal or isinstance(message, ast.JoinedStr):
                    bare.append(f"{name}:{message.lineno}: {ast.unparse(message)[:60]}")
    assert not bare, "wrap in gettext (docs/i18n.md):\n" + "\n".join(bare)
