"""One organization language: `Organization.language`, edited on /manage/organization/
(or the API), the default of its people without their own, and the customers' mail
language; the API itself always answers in English (docs/i18n.md)."""

from __future__ import annotations

import importlib

import pytest
from django.db import connection

from deskbase.accounts.services import user_update
from deskbase.core.errors import ValidationFailed
from deskbase.mail import notices
from deskbase.mail.template_services import mail_language_set
from deskbase.organizations.models import Organization
from deskbase.organizations.settings_services import organization_settings_update
from tests.api.helpers import ApiClient
from tests.tickets.factories import open_ticket
from tests.web.helpers import signed_in

pytestmark = pytest.mark.django_db

MOVE = importlib.import_module("deskbase.organizations.migrations.0006_language_from_settings")


def _language(world) -> str:
    return Organization.objects.get(pk=world.org.pk).language


def test_the_admin_sets_german_and_people_without_their_own_read_german(tenant_a, tenant_b):
    # Given organization A's agent who chose English, and its manager who chose nothing
    user_update(organization=tenant_a.org, actor=tenant_a.agent, user=tenant_a.agent,
                language="en")  # fmt: skip
    # When A's admin sets German on the organization page
    response = signed_in(tenant_a.admin).post("/manage/organization/", {
        "name": "Acme", "timezone": "UTC", "language": "de", "hours_mon": "09:00-17:00",
    })  # fmt: skip
    assert response.status_code == 302
    assert _language(tenant_a) == "de"
    # Then the manager (no language of their own) gets German pages
    page = signed_in(tenant_a.manager).get("/desk/queues/mine/")
    assert page["Content-Language"] == "de"
    assert "Meine offenen Tickets" in page.content.decode()
    # the agent who chose English keeps English
    own = signed_in(tenant_a.agent).get("/desk/queues/mine/")
    assert own["Content-Language"] == "en"
    assert "My open tickets" in own.content.decode()
    # and organization B is untouched
    assert _language(tenant_b) == ""
    assert signed_in(tenant_b.manager).get("/desk/")["Content-Language"] == "en"
    # The customers' mail is written in the same language
    assert notices.language_of(Organization.objects.get(pk=tenant_a.org.pk)) == "de"


def test_the_api_stays_english_for_a_german_organization(tenant_a):
    Organization.objects.filter(pk=tenant_a.org.pk).update(language="de")
    api = ApiClient(tenant_a.manager)
    ticket = open_ticket(tenant_a)
    refused = api.patch(f"/tickets/{ticket.number}", {"subject": ""})
    assert refused.status_code == 422
    assert refused.get("Content-Language", "en") == "en"
    assert refused.json()["title"] == "Invalid input"
    assert refused.json()["errors"][0]["field"] == "subject"
    body = api.get("/organization").json()
    assert body["language"] == "de"
    bad = ApiClient(tenant_a.admin).patch("/organization", {"language": "xx"})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "language"
    assert "Choose one of en, de" in bad.content.decode()


def test_a_bad_language_names_the_field_and_changes_nothing(tenant_a):
    # On the page: the message names the language, nothing is saved
    client = signed_in(tenant_a.admin)
    response = client.post("/manage/organization/", {
        "name": "Renamed", "timezone": "UTC", "language": "xx", "hours_mon": "09:00-17:00",
    }, follow=True)  # fmt: skip
    assert "language: Choose one of en, de, or none." in response.content.decode()
    org = Organization.objects.get(pk=tenant_a.org.pk)
    assert (org.name, org.language) == ("Acme", "")
    # Through the services: the field, or a language hidden in the settings, is refused
    for changes, field in (({"language": "fr"}, "language"),
                           ({"settings": {"language": "de"}}, "settings.language")):  # fmt: skip
        with pytest.raises(ValidationFailed) as refused:
            organization_settings_update(organization=tenant_a.org, actor=tenant_a.admin,
                                         **changes)  # fmt: skip
        assert field in refused.value.errors
    assert _language(tenant_a) == ""


def test_the_mail_language_is_the_organizations_language(tenant_a):
    mail_language_set(organization=tenant_a.org, actor=tenant_a.admin, language="de")
    org = Organization.objects.get(pk=tenant_a.org.pk)
    assert org.language == "de"
    assert "language" not in (org.settings or {})
    assert signed_in(tenant_a.manager).get("/desk/")["Content-Language"] == "de"


def test_the_migration_moves_a_language_left_in_the_settings(tenant_a, tenant_b):
    # Given A with German only in its settings, B with English there but German chosen
    Organization.objects.filter(pk=tenant_a.org.pk).update(
        settings={"language": "de", "sla_at_risk_percent": 80}
    )
    Organization.objects.filter(pk=tenant_b.org.pk).update(
        language="de", settings={"language": "en"}
    )
    # When the data migration runs
    with connection.cursor() as cursor:
        cursor.execute(MOVE.FORWARD)
    # Then A's language is German, B keeps its chosen one, and no settings keep the key
    a = Organization.objects.get(pk=tenant_a.org.pk)
    b = Organization.objects.get(pk=tenant_b.org.pk)
    assert (a.language, a.settings) == ("de", {"sla_at_risk_percent": 80})
    assert (b.language, b.settings) == ("de", {})
