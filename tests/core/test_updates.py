"""model_update: what an update changes, computed once for every update service."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from deskbase.core.errors import ValidationFailed
from deskbase.core.updates import model_update
from deskbase.organizations.models import Organization

FIELDS = {"name", "timezone", "settings"}


def test_only_the_values_that_differ_are_set_and_reported(tenant_a):
    org = Organization.objects.get(pk=tenant_a.org.pk)
    # When the same name and a new time zone are given
    update = model_update(org, fields=FIELDS, data={"name": org.name, "timezone": "Asia/Tokyo"})
    # Then only the time zone changed, as (old, new), and is set on the instance
    assert update.changes == {"timezone": ("UTC", "Asia/Tokyo")}
    assert update.fields == ["timezone"]
    assert update
    assert org.timezone == "Asia/Tokyo"
    # Nothing is written until the caller saves
    assert Organization.objects.get(pk=org.pk).timezone == "UTC"


def test_save_writes_the_changed_columns_only_and_reloads_updated_at(tenant_a):
    org = Organization.objects.get(pk=tenant_a.org.pk)
    update = model_update(org, fields=FIELDS, data={"timezone": "Asia/Tokyo"})
    # Given another writer renamed the organization meanwhile
    Organization.objects.filter(pk=org.pk).update(name="Renamed elsewhere")
    org.updated_at = datetime(2000, 1, 1, tzinfo=UTC)  # a stale value in memory
    # When the update is saved
    update.save()
    # Then the other writer's column stands, and updated_at is the database's again
    stored = Organization.objects.get(pk=org.pk)
    assert (stored.name, stored.timezone) == ("Renamed elsewhere", "Asia/Tokyo")
    assert org.updated_at == stored.updated_at


def test_nothing_changed_is_falsy_and_saves_nothing(tenant_a, django_assert_num_queries):
    org = Organization.objects.get(pk=tenant_a.org.pk)
    update = model_update(org, fields=FIELDS, data={"name": org.name, "settings": org.settings})
    assert not update
    assert update.changes == {}
    with django_assert_num_queries(0):
        update.save()


def test_a_field_outside_the_allowed_ones_is_refused_and_nothing_is_set(tenant_a):
    org = Organization.objects.get(pk=tenant_a.org.pk)
    with pytest.raises(ValidationFailed) as error:
        model_update(org, fields=FIELDS, data={"timezone": "Asia/Tokyo", "slug": "stolen"})
    assert error.value.field == "slug"
    assert (org.timezone, org.slug) == ("UTC", tenant_a.org.slug)
