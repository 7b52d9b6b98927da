"""Single sign-on end to end against a real OpenID provider on 127.0.0.1."""

from __future__ import annotations

import http.client
import time
import urllib.parse
from collections.abc import Iterator

import pytest
from django.test import Client

from deskbase.accounts import oidc
from deskbase.accounts.models import AuditLog, User
from deskbase.core.errors import PermissionDenied, ValidationFailed
from deskbase.core.tenancy import tenant
from tests.accounts.oidc_provider import Provider
from tests.accounts.test_two_factor import forget_tenant, get

pytestmark = pytest.mark.django_db


@pytest.fixture
def idp() -> Iterator[Provider]:
    with Provider() as provider:
        yield provider


@pytest.fixture
def other_idp() -> Iterator[Provider]:
    with Provider(client_id="deskbase-globex") as provider:
        yield provider


def configure(world, provider: Provider, domains: tuple[str, ...] = ("acme.test",)) -> None:
    oidc.provider_save(
        organization=world.org, actor=world.admin, issuer=provider.issuer,
        client_id=provider.client_id, client_secret=provider.client_secret,
        allowed_domains=list(domains), role_claim="roles",
        role_map={"support": "agent", "leads": "manager"},
    )  # fmt: skip
    forget_tenant()


def at_provider(location: str) -> str:
    """What a browser does at the provider: follow its redirect back (path and query)."""
    url = urllib.parse.urlsplit(location)
    connection = http.client.HTTPConnection(url.hostname or "", url.port, timeout=10)
    connection.request("GET", f"{url.path}?{url.query}")
    back = connection.getresponse().getheader("Location") or ""
    connection.close()
    parsed = urllib.parse.urlsplit(back)
    return f"{parsed.path}?{parsed.query}"


def single_sign_on(client: Client, organization: str = "acme") -> tuple[int, str]:
    """Begin at deskbase, sign in at the provider, come back: the callback's status and
    address (to replay it)."""
    start = get(client, f"/login/sso/?organization={organization}")
    assert start.status_code == 302, start.content[:300]
    callback = at_provider(start["Location"])
    return get(client, callback).status_code, callback


def signed_in(client: Client) -> bool:
    return get(client, "/account/security/").status_code == 200


def refusals(world) -> list[str]:
    with tenant(world.org):
        return [e.detail["reason"] for e in AuditLog.objects.filter(action="sso_refused")]


def test_a_new_person_is_created_with_the_mapped_role_and_signed_in(
    tenant_a, tenant_b, app_role, idp
):
    configure(tenant_a, idp)
    idp.person["roles"] = ["support", "unknown-group"]
    client = Client()
    status, _ = single_sign_on(client)
    assert status == 302
    assert get(client, "/desk/").status_code == 200
    with tenant(tenant_a.org):
        pat = User.objects.get(email="pat@acme.test")
        assert AuditLog.objects.filter(action="sso_user_created", subject_id=pat.id).exists()
    assert (pat.role, pat.full_name, pat.has_usable_password()) == ("agent", "Pat SSO", False)
    with tenant(tenant_b.org):
        assert not User.objects.filter(email="pat@acme.test").exists()


def test_an_existing_person_signs_in_as_themselves(tenant_a, app_role, idp):
    configure(tenant_a, idp)
    idp.person.update(email="customer@acme.test", roles=["leads"])
    client = Client()
    assert single_sign_on(client)[0] == 302
    with tenant(tenant_a.org):
        assert User.objects.filter(email="customer@acme.test").count() == 1
        assert User.objects.get(email="customer@acme.test").role == "customer"  # unchanged
    assert get(client, "/portal/").status_code == 200


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"aud": "someone-else"}, "aud"),
        ({"exp": int(time.time()) - 3600}, "expired"),
        ({"nonce": "not-the-one-sent"}, "nonce"),
        ({"email": "pat@evil.test"}, "domain"),
        ({"email_verified": False}, "vouch"),
    ],
    ids=["wrong-audience", "expired", "wrong-nonce", "disallowed-domain", "unverified-email"],
)
def test_a_bad_id_token_is_refused(tenant_a, app_role, idp, overrides, reason):
    configure(tenant_a, idp)
    idp.overrides = overrides
    client = Client()
    status, _ = single_sign_on(client)
    assert status == 403
    assert not signed_in(client)
    assert reason in refusals(tenant_a)[0]
    with tenant(tenant_a.org):
        assert not User.objects.filter(email__startswith="pat@").exists()


def test_a_replayed_state_is_refused(tenant_a, app_role, idp):
    configure(tenant_a, idp)
    client = Client()
    status, callback = single_sign_on(client)
    assert status == 302
    get(client, "/logout/")
    # the same answer again, in the same browser and in another one
    assert get(client, callback).status_code == 403
    thief = Client()
    assert get(thief, callback).status_code == 403
    assert not signed_in(thief)


def test_another_organizations_issuer_never_signs_in_here(
    tenant_a, tenant_b, app_role, idp, other_idp
):
    configure(tenant_a, idp)
    configure(tenant_b, other_idp, domains=("acme.test", "globex.test"))
    idp.signer = other_idp  # a token of the other issuer, with its key, for our flow
    client = Client()
    assert single_sign_on(client)[0] == 403
    assert not signed_in(client)
    assert refusals(tenant_a)
    assert refusals(tenant_b) == []
    # globex's own sign-in puts the person in globex only
    elsewhere = Client()
    assert single_sign_on(elsewhere, "globex")[0] == 302
    with tenant(tenant_a.org):
        assert not User.objects.filter(email="pat@acme.test").exists()
    with tenant(tenant_b.org):
        assert User.objects.filter(email="pat@acme.test").exists()


def test_an_organization_without_single_sign_on_says_so(tenant_a, app_role):
    response = get(Client(), "/login/sso/?organization=acme")
    assert response.status_code == 403
    assert b"does not use single sign-on" in response.content


def test_only_admins_configure_it_and_bad_settings_name_the_field(tenant_a, app_role, idp):
    with pytest.raises(PermissionDenied):
        oidc.provider_save(
            organization=tenant_a.org, actor=tenant_a.manager, issuer=idp.issuer,
            client_id="x", client_secret="y", allowed_domains=["acme.test"],
        )  # fmt: skip
    for field, changes in (
        ("issuer", {"issuer": "ftp://idp.example"}),
        ("allowed_domains", {"allowed_domains": ["not a domain"]}),
        ("allowed_domains", {"allowed_domains": []}),
        ("role_map", {"role_map": {"support": "emperor"}}),
    ):
        settings = {"issuer": idp.issuer, "client_id": "x", "client_secret": "y",
                    "allowed_domains": ["acme.test"], **changes}  # fmt: skip
        with pytest.raises(ValidationFailed) as refused:
            oidc.provider_save(organization=tenant_a.org, actor=tenant_a.admin, **settings)
        assert field in refused.value.errors
