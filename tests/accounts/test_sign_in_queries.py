"""What one sign-in costs the database: the statements it needs, and no more.

Web form and API alike: the throttle check, the organization's id, the tenant, the
user, whether a second factor is due (docs/identity.md), last_login, the audit row,
the browser-session row and the Django session row.
(SAVEPOINT/RELEASE are left out: in a test every request is nested in the test's
transaction, and a server's request opens a transaction instead.)
"""

from __future__ import annotations

import pytest
from django.contrib.auth.hashers import get_hasher, identify_hasher, make_password
from django.db import connection
from django.test.utils import CaptureQueriesContext

from deskbase.accounts import throttle
from deskbase.accounts.models import AuditLog, User, UserSession

pytestmark = pytest.mark.django_db

SIGN_IN_QUERIES = 9
PASSWORD = "pw-for-tests-1"


def statements(captured: CaptureQueriesContext) -> list[str]:
    return [
        q["sql"] for q in captured.captured_queries
        if not q["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))
    ]  # fmt: skip


def forget_tenant() -> None:
    """A server's next request is a new transaction; here they share the test's."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('deskbase.org_id', '', true)")


def test_a_web_sign_in_runs_a_fixed_short_list_of_statements(client, tenant_a, tenant_b, app_role):
    client.get("/login/")
    form = {"organization": "acme", "username": "agent@acme.test", "password": PASSWORD}
    with CaptureQueriesContext(connection) as captured:
        response = client.post("/login/", form)
    assert response.status_code == 302
    sql = statements(captured)
    assert len(sql) == SIGN_IN_QUERIES, "\n".join(sql)
    assert not [s for s in sql if "django_session" in s and s.startswith("SELECT")]
    # and it did all it must: signed in, audited, a browser session, a session row
    forget_tenant()
    assert client.get("/desk/").status_code == 200
    assert AuditLog.objects.filter(actor_id=tenant_a.agent.id, action="signed_in").count() == 1
    assert UserSession.objects.filter(user_id=tenant_a.agent.id).count() == 1
    assert User.objects.get(pk=tenant_a.agent.pk).last_login is not None


def test_an_api_sign_in_runs_the_same_statements(client, tenant_a, tenant_b, app_role):
    payload = {"organization": "acme", "email": "agent@acme.test", "password": PASSWORD}
    with CaptureQueriesContext(connection) as captured:
        response = client.post("/api/v1/auth/login", payload, content_type="application/json")
    assert response.status_code == 200, response.content
    sql = statements(captured)
    assert len(sql) == SIGN_IN_QUERIES, "\n".join(sql)
    forget_tenant()
    assert client.get("/api/v1/me").json()["email"] == "agent@acme.test"


def test_a_sign_in_after_a_failure_clears_the_account_count(client, tenant_a, app_role):
    form = {"organization": "acme", "username": "agent@acme.test", "password": "wrong"}
    assert client.post("/login/", form).status_code == 200
    forget_tenant()
    account_key = next(iter(throttle._keys("acme", "agent@acme.test", "")))

    def account_failures() -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM accounts_signinthrottle WHERE key = %s",
                           [account_key])  # fmt: skip
            return cursor.fetchone()[0]

    assert account_failures() == 1
    assert client.post("/login/", {**form, "password": PASSWORD}).status_code == 302
    assert account_failures() == 0


def test_passwords_use_owasp_argon2id_parameters_and_old_hashes_still_verify(tenant_a):
    hasher = get_hasher()
    encoded = make_password(PASSWORD)
    params = hasher.decode(encoded)
    assert (params["algorithm"], params["memory_cost"], params["time_cost"], params["parallelism"]
            ) == ("argon2", 19 * 1024, 2, 1)  # fmt: skip
    # A hash made with Django's heavier defaults still verifies, and is flagged for rehash.
    from django.contrib.auth.hashers import Argon2PasswordHasher

    old = Argon2PasswordHasher().encode(PASSWORD, Argon2PasswordHasher().salt())
    assert identify_hasher(old).verify(PASSWORD, old)
    assert identify_hasher(old).must_update(old)


def test_the_session_store_keeps_djangos_contract():
    from django.contrib.sessions.backends.base import UpdateError

    from deskbase.accounts.sessions import SessionStore

    created = SessionStore()
    created["a"] = 1
    created.create()  # saved at once, as Django documents
    assert SessionStore(created.session_key).load() == {"a": 1}
    old_key = created.session_key
    created.cycle_key()
    assert not SessionStore().exists(old_key)
    created["b"] = 2
    created.save()  # the new key's row, written by this save
    assert SessionStore(created.session_key).load() == {"a": 1, "b": 2}
    # a session ended meanwhile (signed out elsewhere) is never written back
    SessionStore(created.session_key).delete()
    created["c"] = 3
    with pytest.raises(UpdateError):
        created.save()
    assert not SessionStore().exists(created.session_key)
