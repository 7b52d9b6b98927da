"""`deskbase generate`: a small load checked against the schema's rules and the services.

Loads are a few hundred tickets; each test loads its own inside its transaction.
"""

from __future__ import annotations

import io
import random
import sys
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction

from deskbase.accounts.models import User
from deskbase.core.tenancy import tenant
from deskbase.datagen import load, loader, plan, worker
from deskbase.datagen.copytext import Clock, escape, interval
from deskbase.datagen.fastcal import FastCalendar
from deskbase.datagen.progress import Progress
from deskbase.datagen.regions import ZONES, business_hours, holidays_between
from deskbase.datagen.tenants import ticket_shares
from deskbase.organizations.models import Organization
from deskbase.sla import services as sla
from deskbase.sla.calendar import BusinessCalendar, calendar_for
from deskbase.sla.models import SlaEvent
from deskbase.tickets.models import TRANSITIONS, Ticket, TicketComment, TicketHistory

pytestmark = pytest.mark.django_db
UNTIL = "2026-06-01"
LOADED = (*loader.ID_TABLES, "tickets_ticketcounter")


def generate(*args: str, tickets: int = 300, orgs: int = 5, seed: int = 7) -> None:
    call_command(
        "generate", f"--tickets={tickets}", f"--orgs={orgs}", f"--seed={seed}",
        f"--until={UNTIL}", *args, verbosity=0,
    )  # fmt: skip


def rows(query: str, params: list | None = None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(query, params or [])
        return cursor.fetchall()


def scalar(query: str, params: list | None = None):
    return rows(query, params)[0][0]


def schema_state() -> dict[str, list]:
    """What the load sets aside and must put back: keys, indexes, triggers, FORCE RLS."""
    tables = list(LOADED)
    return {
        "constraints": rows(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid), convalidated"
            " FROM pg_constraint WHERE conrelid = ANY(%s::regclass[]) ORDER BY 1, 2",
            [tables],
        ),
        # Re-created from pg_get_indexdef(), a predicate may come back deparsed with other
        # (equivalent) casts: compare what the index is made of, not its text.
        "indexes": rows(
            "SELECT indexrelid::regclass::text, indrelid::regclass::text, indisunique,"
            " indkey::text, indclass::text, pg_get_expr(indexprs, indrelid) IS NULL,"
            " indpred IS NULL, (SELECT amname FROM pg_am a JOIN pg_class c ON c.relam = a.oid"
            " WHERE c.oid = indexrelid) FROM pg_index WHERE indrelid = ANY(%s::regclass[])"
            " ORDER BY 1",
            [tables],
        ),
        "triggers": rows(
            # Foreign keys' own triggers are named by oid: compare them by what they do.
            "SELECT tgrelid::regclass::text, CASE WHEN tgisinternal THEN tgfoid::regproc::text"
            " ELSE tgname END, tgenabled, count(*) FROM pg_trigger"
            " WHERE tgrelid = ANY(%s::regclass[]) GROUP BY 1, 2, 3 ORDER BY 1, 2",
            [tables],
        ),
        "rls": rows(
            "SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class"
            " WHERE oid = ANY(%s::regclass[]) ORDER BY 1",
            [tables],
        ),
    }


def digest() -> list[tuple[str, str]]:
    """md5 of every loaded table's rows in id order: equal digests, identical data."""
    found = []
    for table in LOADED:
        order = "organization_id" if table == "tickets_ticketcounter" else "id"
        found.append(
            (table, scalar(f"SELECT md5(string_agg(t::text, '|' ORDER BY {order})) FROM {table} t"))  # noqa: S608
        )
    return found


# ------------------------------------------------------------------ the rules hold
def test_a_load_keeps_every_rule_and_puts_the_schema_back():
    # Given the schema as migrations made it
    before = schema_state()
    # When a small helpdesk is generated
    generate()
    # Then keys, indexes, triggers and forced RLS are back, every constraint validated
    assert schema_state() == before
    assert scalar("SELECT bool_and(convalidated) FROM pg_constraint"
                  " WHERE conrelid = ANY(%s::regclass[])", [list(LOADED)])  # fmt: skip
    assert Organization.objects.count() == 5
    assert Ticket.all_objects.count() == 300


def test_a_load_fills_the_tag_and_field_value_tables_as_the_triggers_would():
    # Given the triggers that keep them, disabled while the load copies tickets
    # When a small helpdesk is generated
    generate()
    # Then tickets_tickettag holds every live ticket's tags, and nothing else
    tags = rows(
        "SELECT DISTINCT t.organization_id, tag, t.id FROM tickets_ticket t, unnest(t.tags) tag"
        " WHERE t.deleted_at IS NULL ORDER BY 1, 2, 3"
    )
    assert tags
    loaded = rows("SELECT organization_id, tag, ticket_id FROM tickets_tickettag ORDER BY 1, 2, 3")
    assert loaded == tags
    # And tickets_ticketfieldvalue every live ticket's scalar custom field values
    values = rows(
        "SELECT t.organization_id, k.field, k.value, t.id FROM tickets_ticket t,"
        " tickets_field_value_keys(t.custom_fields) k WHERE t.deleted_at IS NULL"
        " ORDER BY 1, 2, 3, 4"
    )
    loaded = rows(
        "SELECT organization_id, field, value, ticket_id FROM tickets_ticketfieldvalue"
        " ORDER BY 1, 2, 3, 4"
    )
    assert loaded == values
    # And the triggers are on again
    enabled = scalar(
        "SELECT count(*) FROM pg_trigger WHERE (tgname LIKE 'tickets_ticket_tags_%%'"
        " OR tgname LIKE 'tickets_ticket_field_values_%%') AND tgenabled = 'O'"
    )
    assert enabled == 6


def test_numbers_counters_and_sequences_follow_the_loaded_rows():
    generate()
    # Numbers run 1..n per organization in creation order, and the counter knows n
    per_org = rows(
        "SELECT organization_id, count(*), min(number), max(number),"
        " bool_and(number = rank) FROM (SELECT organization_id, number, rank() OVER"
        " (PARTITION BY organization_id ORDER BY created_at, id) AS rank FROM tickets_ticket) t"
        " GROUP BY 1"
    )
    counters = dict(rows("SELECT organization_id, last_number FROM tickets_ticketcounter"))
    for org_id, count, low, high, in_order in per_org:
        assert (low, high, counters[org_id], in_order) == (1, count, count, True)
    # Every identity sequence hands out ids past the loaded ones
    for table in loader.ID_TABLES:
        ahead = scalar(
            f"SELECT (SELECT last_value FROM {scalar('SELECT pg_get_serial_sequence(%s, %s)', [table, 'id'])})"  # noqa: S608, E501
            f" >= (SELECT coalesce(max(id), 0) FROM {table})"
        )
        assert ahead, table
    # A ticket made through the services afterwards gets the next number
    org = Organization.objects.order_by("id").first()
    from deskbase.tickets import services

    agent = User.objects.filter(organization=org, role="agent").order_by("id").first()
    customer = User.objects.filter(organization=org, role="customer").order_by("id").first()
    ticket = services.ticket_create(organization=org, actor=agent, customer=customer,
                                    subject="After the load")  # fmt: skip
    assert ticket.number == counters[org.id] + 1


def test_history_tells_each_tickets_story_to_its_final_state():
    generate()
    history: dict[int, list[TicketHistory]] = {}
    for row in TicketHistory.objects.order_by("created_at", "id"):
        history.setdefault(row.ticket_id, []).append(row)
    for ticket in Ticket.all_objects.all():
        rows_of = history[ticket.id]
        assert rows_of[0].field == "created"
        assert rows_of[0].new_value == "new"
        assert rows_of[0].created_at == ticket.created_at
        status = "new"
        for row in rows_of:
            if row.field == "status":
                assert row.old_value == status
                assert row.new_value in TRANSITIONS[status], (ticket.id, status, row.new_value)
                status = row.new_value
        assert status == ticket.status
        assert ticket.updated_at >= max(row.created_at for row in rows_of)
        satisfied = [row for row in rows_of if row.field == "satisfaction"]
        assert [r.new_value for r in satisfied] == ([str(ticket.satisfaction)]
                                                   if ticket.satisfaction else [])  # fmt: skip
        assert ticket.sla_breach == any(row.field == "sla_breach" for row in rows_of)


def test_times_agree_with_the_conversation_and_the_status():
    generate()
    first_staff = dict(rows(
        "SELECT c.ticket_id, min(c.created_at) FROM tickets_ticketcomment c"
        " JOIN accounts_user u ON u.id = c.author_id"
        " WHERE c.kind = 'public' AND u.role <> 'customer' GROUP BY 1"
    ))  # fmt: skip
    for ticket in Ticket.all_objects.all():
        assert first_staff.get(ticket.id) == ticket.first_response_at
        if ticket.first_response_at:
            assert ticket.time_to_first_response == ticket.first_response_at - ticket.created_at
        assert (ticket.resolved_at is not None) == (ticket.status in ("resolved", "closed"))
        assert (ticket.closed_at is not None) == (ticket.status == "closed")
        assert (ticket.sla_paused_at is not None) == (ticket.status == "pending")
        comments = TicketComment.all_objects.filter(ticket=ticket)
        assert all(ticket.created_at <= c.created_at <= ticket.updated_at for c in comments)
        if ticket.satisfaction:
            assert ticket.csat.rating == ticket.satisfaction


def test_sla_events_and_due_times_are_what_the_services_compute():
    generate()
    calendars = {}
    for ticket in Ticket.all_objects.select_related("sla_policy", "organization"):
        policy = ticket.sla_policy
        assert policy is not None
        assert sla.policy_for(organization=ticket.organization_id, priority=ticket.priority,
                              customer_tier=ticket.customer.customer_tier,
                              at=ticket.created_at) == policy  # fmt: skip
        calendar = None
        if policy.business_hours:
            org = ticket.organization
            calendar = calendars.setdefault(org.id, calendar_for(org))
        first = sla.due_at(policy, start=ticket.created_at,
                           minutes=policy.first_response_minutes, calendar=calendar)  # fmt: skip
        resolution = sla._due_after_pauses(policy, calendar, ticket.created_at,
                                           policy.resolution_minutes,
                                           sla._completed_pauses(ticket))  # fmt: skip
        assert (ticket.first_response_due_at, ticket.resolution_due_at) == (first, resolution)
    events = Counter(SlaEvent.objects.values_list("kind", flat=True))
    assert events["started"] == 600
    assert events["met"] > events["breached"] > 0
    # One breached event per (ticket, target), and exactly the flagged tickets have one
    per_target = Counter(SlaEvent.objects.filter(kind="breached")
                         .values_list("ticket_id", "target"))  # fmt: skip
    assert set(per_target.values()) == {1}
    flagged = set(Ticket.all_objects.filter(sla_breach=True).values_list("id", flat=True))
    assert flagged == {ticket_id for ticket_id, _ in per_target}


def test_attachments_have_a_digest_and_a_size():
    generate()
    found = rows("SELECT sha256, size, file_name FROM tickets_ticketattachment")
    assert found
    assert all(len(sha) == 64 and size > 0 and "/" not in name for sha, size, name in found)
    assert len({sha for sha, _, _ in found}) == len(found)


# ------------------------------------------------------------------ the shape of the data
def test_a_larger_load_looks_like_a_working_desk():
    # One load of 2,000 tickets in 20 organizations for every distribution check
    generate(tickets=2000, orgs=20)
    statuses = check_tenant_sizes_statuses_and_conversations()
    check_people_and_settings()
    check_creation_rhythm()
    check_zipf_words()
    done = statuses["resolved"] + statuses["closed"]
    assert 0.22 <= Ticket.all_objects.filter(satisfaction__isnull=False).count() / done <= 0.38
    assert 0.05 <= Ticket.all_objects.filter(sla_breach=True).count() / 2000 <= 0.35


def check_tenant_sizes_statuses_and_conversations() -> Counter:
    sizes = sorted((n for _, n in rows("SELECT organization_id, count(*) FROM tickets_ticket"
                                       " GROUP BY 1")), reverse=True)  # fmt: skip
    assert 0.36 <= sizes[0] / 2000 <= 0.44
    assert sizes[-1] < sizes[0] / 20
    statuses = Counter(Ticket.all_objects.values_list("status", flat=True))
    assert 0.68 <= (statuses["resolved"] + statuses["closed"]) / 2000 <= 0.82
    assert all(statuses[s] > 0 for s in ("new", "open", "pending"))
    priorities = Counter(Ticket.all_objects.values_list("priority", flat=True))
    assert priorities["medium"] > priorities["low"] > priorities["high"] > priorities["urgent"]
    assert len(Counter(Ticket.all_objects.values_list("channel", flat=True))) == 6
    assert 2.5 <= TicketComment.all_objects.count() / 2000 <= 3.8
    assert 4.2 <= TicketHistory.objects.count() / 2000 <= 6.5
    kinds = Counter(TicketComment.all_objects.values_list("kind", flat=True))
    assert kinds["public"] > kinds["system"] > 0
    assert kinds["internal"] > 0
    return statuses


def check_people_and_settings() -> None:
    for org_id, tickets in rows("SELECT organization_id, count(*) FROM tickets_ticket GROUP BY 1"):
        people = Counter(User.objects.filter(organization_id=org_id)
                         .values_list("role", flat=True))  # fmt: skip
        assert people["agent"] == max(2, round(tickets / 2000))
        assert people["customer"] == max(1, round(tickets / 10))
        assert people["admin"] == 1
    assert scalar("SELECT count(DISTINCT (organization_id, priority, customer_tier))"
                  " FROM sla_slapolicy") == 20 * 12  # fmt: skip
    assert scalar("SELECT count(*) FROM tickets_category WHERE parent_id IS NOT NULL") > 0
    assert scalar("SELECT count(*) FROM organizations_holiday") > 20 * 5
    assert scalar("SELECT count(*) FROM tickets_cannedresponse") >= 20 * 5
    assert scalar("SELECT count(*) FROM accounts_teammembership") >= 20 * 2


def check_creation_rhythm() -> None:
    """Two years, busier on weekdays and by day (local time), busier lately."""
    from zoneinfo import ZoneInfo

    times = list(Ticket.all_objects.values_list("created_at", "organization__timezone"))
    end = datetime(2026, 6, 1, tzinfo=UTC)
    assert end - timedelta(days=731) <= min(t for t, _ in times) < end - timedelta(days=700)
    assert max(t for t, _ in times) < end
    local = [t.astimezone(ZoneInfo(zone)) for t, zone in times]
    weekdays = Counter(t.weekday() for t in local)
    assert min(weekdays[d] for d in range(5)) > 2 * max(weekdays[5], weekdays[6])
    hours = Counter(t.hour for t in local)
    assert hours[10] > 5 * hours[3]
    halfway = end - timedelta(days=365)
    assert sum(t >= halfway for t, _ in times) > sum(t < halfway for t, _ in times)


def check_zipf_words() -> None:
    """Very common words and a long tail of rare ones, both."""
    words = Counter()
    for subject, description in Ticket.all_objects.values_list("subject", "description"):
        words.update(w.strip(".,?!:\"'").lower() for w in f"{subject} {description}".split())
    ranked = [count for _, count in words.most_common()]
    assert ranked[0] > 50 * ranked[len(ranked) // 2]
    assert sum(1 for count in ranked if count <= 2) > 100


# ------------------------------------------------------------------ determinism
def test_the_same_seed_gives_the_same_rows_and_another_seed_others():
    generate("--reset")
    first = digest()
    generate("--reset")
    assert digest() == first
    generate("--reset", seed=8)
    assert dict(digest())["tickets_ticket"] != dict(first)["tickets_ticket"]


# ------------------------------------------------------------------ refusals
@pytest.mark.parametrize(
    ("tickets", "orgs", "message"),
    [
        (0, 1, "--tickets must be at least 1"),
        (-5, 1, "--tickets must be at least 1"),
        (50_000_001, 50, "more than this generator loads"),
        (10, 0, "--orgs must be at least 1"),
        (10, 11, "every organization gets at least one ticket"),
    ],
)
def test_impossible_requests_are_refused_and_nothing_is_written(tickets, orgs, message):
    with pytest.raises(CommandError, match=message) as refused:
        generate(tickets=tickets, orgs=orgs)
    assert refused.value.returncode == 1
    assert Organization.all_objects.count() == 0


def test_bad_dates_are_refused():
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("generate", "--tickets=5", "--until=soon", verbosity=0)
    tomorrow = datetime.now(UTC).date() + timedelta(days=2)
    with pytest.raises(CommandError, match="in the future"):
        call_command("generate", "--tickets=5", "--orgs=1", f"--until={tomorrow}", verbosity=0)


def test_a_database_with_organizations_is_refused_with_exit_code_2(tenant_a):
    with pytest.raises(CommandError, match="already holds 1 organization") as refused:
        generate()
    assert refused.value.returncode == 2
    assert "--append" in str(refused.value)
    assert "--reset" in str(refused.value)
    assert list(Organization.all_objects.values_list("slug", flat=True)) == ["acme"]


def test_not_enough_disk_space_is_refused(monkeypatch, tmp_path):
    monkeypatch.setattr(load, "data_directory", lambda: tmp_path)
    monkeypatch.setattr(load, "free_bytes", lambda path: 10 * 2**20)
    with pytest.raises(CommandError, match="not enough disk space for 300 tickets"):
        generate()
    assert Organization.all_objects.count() == 0


def test_tables_in_use_are_refused_with_a_clear_message(monkeypatch):
    import os

    import psycopg

    monkeypatch.setitem(loader.SESSION, "lock_timeout", "200ms")
    dbname = connection.settings_dict["NAME"]
    with psycopg.connect(os.environ["DATABASE_URL"], dbname=dbname) as other:
        other.execute("LOCK TABLE tickets_ticketcomment IN ACCESS SHARE MODE")
        with pytest.raises(CommandError, match="the tables are in use"):
            generate()
    assert Organization.all_objects.count() == 0


# ------------------------------------------------------------------ append, reset, failure
def test_append_adds_organizations_beside_the_existing_ones(tenant_a):
    generate("--append")
    assert Organization.all_objects.count() == 6
    assert Ticket.all_objects.filter(organization=tenant_a.org).count() == 0
    assert User.objects.filter(organization=tenant_a.org).count() == 4
    # Twice, with the same seed: other ids, other slugs, no collision
    generate("--append")
    assert Organization.all_objects.count() == 11
    assert Ticket.all_objects.count() == 600


def test_reset_removes_every_tenant_but_keeps_platform_operators(tenant_a):
    operator = User.objects.create_superuser("ops@platform.test", "pw-for-tests-1")
    generate("--reset")
    assert not Organization.all_objects.filter(slug="acme").exists()
    assert Organization.all_objects.count() == 5
    assert User.objects.filter(organization__isnull=True).get() == operator
    new = User.objects.create_superuser("ops2@platform.test", "pw-for-tests-1")
    assert new.id > max(User.objects.exclude(pk=new.pk).values_list("id", flat=True))


def test_a_failure_midway_leaves_no_tenant_and_the_schema_intact(monkeypatch):
    before = schema_state()
    from deskbase.datagen.tickets import TicketGenerator

    original = TicketGenerator.ticket

    def failing(self, org, created, number):
        if self.tickets == 150:
            raise RuntimeError("disk on fire")
        original(self, org, created, number)

    monkeypatch.setattr(TicketGenerator, "ticket", failing)
    monkeypatch.setattr(plan, "CHUNK_TICKETS", 50)  # some chunks are sent before it fails
    with pytest.raises(RuntimeError, match="disk on fire"):
        generate()
    assert Organization.all_objects.count() == 0
    assert Ticket.all_objects.count() == 0
    assert schema_state() == before


def test_a_worker_process_generates_the_same_rows(monkeypatch):
    # Given the rows of a load generated in this process
    generate("--reset")
    here = digest()
    # When the same load is generated by the worker process (as large loads are)
    monkeypatch.setattr(load, "WORKER_MIN_TICKETS", 0)
    generate("--reset")
    # Then the rows are the same
    assert digest() == here


def test_a_worker_that_dies_leaves_nothing_behind(monkeypatch):
    before = schema_state()
    monkeypatch.setattr(load, "WORKER_MIN_TICKETS", 0)
    monkeypatch.setattr(worker, "COMMAND", [sys.executable, "-c", "import sys; sys.exit(3)"])
    with pytest.raises(CommandError, match=r"generator process stopped \(exit code 3\)"):
        generate()
    assert Organization.all_objects.count() == 0
    assert schema_state() == before


# ------------------------------------------------------------------ isolation
def test_generated_tenants_are_isolated_for_the_application_role(request):
    generate()
    request.getfixturevalue("app_role")  # from here on, the application role: RLS applies
    orgs = list(Organization.all_objects.order_by("id"))
    counts = dict(rows("SELECT organization_id, count(*) FROM tickets_ticket GROUP BY 1"))
    assert counts == {}  # the application role without a tenant sees nothing
    for org in orgs[:2]:
        with tenant(org):
            seen = set(Ticket.all_objects.values_list("organization_id", flat=True))
            assert seen == {org.id}
            assert TicketComment.all_objects.exclude(organization=org).count() == 0
            assert User.objects.exclude(organization=org).count() == 0
            assert Organization.all_objects.count() == 1
    with transaction.atomic():
        assert Ticket.all_objects.count() == 0


# ------------------------------------------------------------------ the parts
def test_fast_calendar_agrees_with_business_calendar():
    rng = random.Random(3)
    first, last = date(2024, 1, 1), date(2026, 12, 31)
    start, end = (
        int(datetime(2024, 1, 5, tzinfo=UTC).timestamp()),
        int(datetime(2026, 11, 1, tzinfo=UTC).timestamp()),
    )
    for zone in ZONES:
        for variant in range(5):
            holidays = frozenset(d for d, _ in holidays_between(zone.region, first, last))
            real = BusinessCalendar(zone.name, business_hours(variant), holidays)
            fast = FastCalendar(real, first, last)
            for _ in range(40):
                moment = rng.randrange(start, end)
                minutes = rng.choice((15, 60, 240, 480, 1440, 2880, 8640))
                expected = real.add(datetime.fromtimestamp(moment, UTC), minutes)
                assert fast.add(moment, minutes * 60) == int(expected.timestamp())
                later = moment + rng.randrange(0, 10 * 86_400)
                gap = real.between(datetime.fromtimestamp(moment, UTC),
                                   datetime.fromtimestamp(later, UTC))  # fmt: skip
                assert fast.between(moment, later) == int(gap.total_seconds())


def test_fast_calendar_is_exact_around_dst_changes_and_at_closing_time():
    real = BusinessCalendar("Europe/Berlin", business_hours(4), frozenset())  # 24x7
    fast = FastCalendar(real, date(2025, 3, 1), date(2025, 4, 30))
    spring = int(datetime(2025, 3, 29, 12, tzinfo=UTC).timestamp())  # clocks go forward 30th
    for hours in (1, 12, 24, 36, 48):
        expected = real.add(datetime.fromtimestamp(spring, UTC), hours * 60)
        assert fast.add(spring, hours * 3600) == int(expected.timestamp())
    office = BusinessCalendar("Europe/Berlin", business_hours(0), frozenset())
    fast = FastCalendar(office, date(2025, 3, 1), date(2025, 3, 31))
    nine = int(datetime(2025, 3, 3, 8, tzinfo=UTC).timestamp())  # Monday 09:00 Berlin
    assert fast.add(nine, 8 * 3600) == nine + 8 * 3600  # due at closing time, not next morning


def test_tenant_sizes_give_the_largest_about_forty_percent():
    shares = ticket_shares(50, 1_000_000)
    assert sum(shares) == 1_000_000
    assert shares[0] == max(shares)
    assert 0.39 <= shares[0] / 1_000_000 <= 0.41
    assert min(shares) >= 1
    assert ticket_shares(3, 3) == [1, 1, 1]
    assert sum(ticket_shares(7, 100)) == 100


def test_copy_text_escaping_round_trips_through_postgresql():
    values = ["tab\there", "line\nbreak", "back\\slash", "cr\rhere", "\\N", "plain é ü 😀"]
    data = "".join(f"{i}\t{escape(v)}\n" for i, v in enumerate(values)).encode()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE datagen_escape (id int, value text) ON COMMIT DROP")
        with cursor.cursor.copy("COPY datagen_escape FROM STDIN") as copy:
            copy.write(data)
        cursor.execute("SELECT value FROM datagen_escape ORDER BY id")
        assert [row[0] for row in cursor.fetchall()] == values
        cursor.execute("SELECT %s::timestamptz, %s::interval", [
            Clock(date(2025, 1, 1), date(2025, 12, 31)).ts(1_740_000_000), interval(90_061),
        ])  # fmt: skip
        moment, span = cursor.fetchone()
    assert moment == datetime.fromtimestamp(1_740_000_000, UTC)
    assert span == timedelta(days=1, hours=1, minutes=1, seconds=1)


def test_progress_shows_percent_rate_and_time_left():
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    screen = Terminal()
    progress = Progress(screen, 1000, interval=0)
    progress.update(250, 5000)
    progress.update(500, 10_000)
    progress.finish()
    line = screen.getvalue().split("\r")[-1]
    assert "50.0%" in line
    assert "500/1,000 tickets" in line
    assert "rows/s" in line
    assert "ETA" in line
    log = io.StringIO()
    progress = Progress(log, 100)
    for done in range(0, 101, 5):
        progress.update(done, done * 10)
    assert len(log.getvalue().splitlines()) == 11  # a line per 10 %, no carriage returns
    assert "\r" not in log.getvalue()


def test_history_is_copied_straight_into_its_monthly_partitions():
    # When two years of history are loaded, ending months before today
    report = load.generate(load.Options(tickets=150, orgs=2, until=date.fromisoformat(UNTIL)))
    # Then the months existed before the COPY: no row went through a default partition
    assert report.moved_from_default == 0
    months = rows(
        "SELECT count(DISTINCT tableoid), count(*) FILTER (WHERE tableoid ="
        " 'tickets_tickethistory_default'::regclass) FROM tickets_tickethistory"
    )[0]
    assert months[0] > 12
    assert months[1] == 0


def test_the_command_prints_a_summary_per_table():
    out, err = io.StringIO(), io.StringIO()
    call_command("generate", "--tickets=120", "--orgs=3", f"--until={UNTIL}", stdout=out,
                 stderr=err)  # fmt: skip
    text = out.getvalue()
    assert "generated 120 tickets in 3 organizations" in text
    assert "rows/s" in text
    for table in ("tickets_ticket", "tickets_ticketcomment", "tickets_tickethistory"):
        assert table in text
    assert "largest organization" in text
