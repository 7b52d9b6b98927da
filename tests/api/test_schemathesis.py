"""Property-based checks of the whole API against its own OpenAPI spec (schemathesis).

Every operation of `api.get_openapi_schema()` gets a few generated requests, valid and
invalid, sent in-process to the WSGI application (as `deskbase.wsgi` builds it) with the
token of an agent, a customer, then an admin (who reaches every write), of a tenant with
a little data; row-level security applies, like on the server. Each answer must:

- not be a server error (`not_a_server_error`);
- have a status code the spec documents for the operation (`status_code_conformance`);
- match the documented schema of that status (`response_schema_conformance`).

Bounded and reproducible: a fixed seed, derandomized generation, no example database,
`MAX_EXAMPLES` examples per operation and phase.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from deskbase.accounts.tokens import token_create
from deskbase.api.main import api
from deskbase.sla import policies
from deskbase.tickets import canned, services
from deskbase.tickets.attachments import attachment_add
from tests.api.helpers import module_world
from tests.conftest import make_tenant
from tests.tickets.factories import open_ticket

pytestmark = pytest.mark.django_db

# More for an exploratory run: DESKBASE_FUZZ_EXAMPLES=60 pytest tests/api/test_schemathesis.py
MAX_EXAMPLES = int(os.environ.get("DESKBASE_FUZZ_EXAMPLES", "5"))
ROLES = ("agent", "customer", "admin")
SEED = 20261122
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]

# NUL characters and far UTC offsets are generated too: both are 422s, never 500s.
ALLOW_NUL = True

CONFIG = schemathesis.Config.from_dict({
    "seed": SEED,
    "generation": {"mode": "all", "max-examples": MAX_EXAMPLES, "deterministic": True,
                   "database": "none", "allow-x00": ALLOW_NUL},
    "phases": {"examples": {"enabled": True}, "fuzzing": {"enabled": True},
               "coverage": {"enabled": False}, "stateful": {"enabled": False}},
})  # fmt: skip
schema = schemathesis.openapi.from_dict(api.get_openapi_schema(), config=CONFIG)


@pytest.fixture(scope="module")
def application():
    """The WSGI application (made after the static files are collected): requests are sent
    to it in this process."""
    return get_wsgi_application()


@pytest.fixture(scope="module")
def tokens(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[dict[str, str]]:
    """A tenant with tickets (numbers 1 to 3), a conversation, a file, a canned response and
    an SLA policy, and another tenant; made once, rolled back at the end. Each test (an
    operation, all its examples) runs in a savepoint of it."""
    with module_world(django_db_blocker, tmp_path_factory):
        world, other = make_tenant("acme"), make_tenant("globex")
        org = world.org
        policies.sla_policy_create(
            organization=org, actor=world.manager, name="Urgent basic", priority="urgent",
            customer_tier="basic", first_response_minutes=60, resolution_minutes=240,
        )  # fmt: skip
        first = open_ticket(world, subject="The customer's ticket")
        open_ticket(world, subject="Another", priority="high")
        open_ticket(world, subject="A third")
        open_ticket(other)
        services.comment_add(organization=org, actor=world.agent, ticket=first, body="Hi")
        attachment_add(organization=org, actor=world.agent, ticket=first, file_name="a.txt",
                       stream=io.BytesIO(b"some text"))  # fmt: skip
        canned.canned_response_create(organization=org, actor=world.manager, name="Hello",
                                      body="Hello {{ customer.name }}")  # fmt: skip
        yield {
            role: token_create(organization=org, actor=getattr(world, role), name="fuzz")[1]
            for role in ROLES
        }


@pytest.fixture
def wsgi_requests(tokens, app_role) -> Iterator[None]:
    """Like Django's test client: a request must not close the test's connection (the
    handler's close_old_connections would, inside the test's transaction)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.mark.parametrize("role", ROLES)
@schema.parametrize()
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
def test_the_api_keeps_its_spec(case, role, tokens, application, wsgi_requests):
    headers = {"Authorization": f"Bearer {tokens[role]}"}
    case.call_and_validate(headers=headers, checks=CHECKS, app=application)
