"""Tickets and what follows them: comments, history, SLA events, CSAT and attachments.

Each ticket is generated as a timeline of steps (assign, first reply, pending and
resume, resolve, reopen, close, cancel, rating, deletion), the way the services
would have produced it, then walked once in time order to write its rows:

- status history follows the state machine (docs/tickets.md) from `new` to the
  final status, with the actor the services would record;
- the SLA clock follows deskbase.sla.services: `started` at creation with the due
  times of the policy valid at `created_at`; `paused`/`resumed` around a pending
  spell, the running due time moved by the business time paused; `met` or
  `breached` when the first reply or resolution comes; and for a target still
  running past its due time, the `breached` event the periodic sweep
  (mark_breaches) writes, with `sla_breach` set;
- first_response_at, resolved_at, closed_at are the times of those steps.

All times are integer epoch seconds (UTC). A step that would come after "now" is
pulled in by scaling the whole timeline into [created_at, now).
"""

from __future__ import annotations

import hashlib
import math
import random
from collections import Counter
from datetime import timedelta
from itertools import accumulate
from typing import Any

from deskbase.datagen import text, vocab
from deskbase.datagen.copytext import NULL, Clock, interval, jsonb, text_array
from deskbase.datagen.ids import Ids
from deskbase.datagen.tenants import PRIORITIES, Org, Policy
from deskbase.tickets.models import Channel

DAY, HOUR = 86_400, 3600
SWEEP = 900  # mark_breaches runs at least this often: a breach is flagged within 15 minutes
CHANNELS = tuple(Channel.values)
PRIORITY_TABLE = (0,) * 30 + (1,) * 45 + (2,) * 18 + (3,) * 7  # low 30 %, ..., urgent 7 %
CHANNEL_TABLE = (0,) * 38 + (1,) * 20 + (2,) * 15 + (3,) * 12 + (4,) * 9 + (5,) * 6
TAG_CUM = list(accumulate(1.0 / (k**1.1) for k in range(1, len(vocab.TAGS) + 1)))
CUSTOM_FIELDS = (
    ["{}"] * 12
    + [jsonb({"plan": p, "region": r}) for p in ("free", "pro", "enterprise") for r in ("eu", "us")]
    + [jsonb({"browser": b, "os": o}) for b in ("chrome", "safari") for o in ("mac", "windows")]
)

# Step kinds, in the order they sort at the same second.
ASSIGN, FIRST_REPLY, COMMENT, PENDING, RESUME, RESOLVE, REOPEN, CLOSE, CANCEL = range(9)
CSAT, DELETE = 9, 10
AUTO, BY_CUSTOMER, DIRECT, MERGED = range(4)  # how a ticket was closed
# (time, kind, what the kind's handler takes: an actor id, or a tuple for comments and closes)
type Step = tuple[int, int, Any]

TICKET_COLUMNS = (
    "id, organization_id, number, subject, description, description_html, status, priority, "
    "channel, category_id, tags, custom_fields, customer_id, assignee_id, team_id, "
    "sla_policy_id, first_response_due_at, resolution_due_at, sla_paused_at, sla_breach, "
    "first_response_at, resolved_at, closed_at, satisfaction, time_to_first_response, "
    "merged_into_id, version, created_at, updated_at, deleted_at, deleted_by_id, delete_reason, "
    "last_customer_reply_at"
)
COMMENT_COLUMNS = (
    "id, organization_id, ticket_id, author_id, kind, body_text, body_html, created_at, "
    "updated_at, deleted_at, deleted_by_id, delete_reason"
)
HISTORY_COLUMNS = (
    "id, organization_id, ticket_id, actor_id, field, old_value, new_value, created_at"
)
EVENT_COLUMNS = "id, organization_id, ticket_id, kind, target, due_at, reason, created_at"
CSAT_COLUMNS = "id, organization_id, ticket_id, customer_id, rating, comment, created_at"
ATTACHMENT_COLUMNS = (
    "id, organization_id, ticket_id, comment_id, uploaded_by_id, file_name, content_type, "
    "size, sha256, download_count, created_at"
)
TABLES = {
    "tickets_ticket": TICKET_COLUMNS,
    "tickets_ticketcomment": COMMENT_COLUMNS,
    "tickets_tickethistory": HISTORY_COLUMNS,
    "sla_slaevent": EVENT_COLUMNS,
    "tickets_csatresponse": CSAT_COLUMNS,
    "tickets_ticketattachment": ATTACHMENT_COLUMNS,
}


def active_share(age_days: int) -> float:
    """Chance that a ticket this old is still new, open or pending (~24 % overall)."""
    return 0.16 + 0.74 * math.exp(-age_days / 30)


class TicketState:
    """The mutable facts of the ticket being generated (one instance, reused)."""

    __slots__ = (
        "agent",
        "assigned",
        "breach_at",
        "breached",
        "channel",
        "closed_at",
        "comments",
        "created",
        "customer",
        "deleted",
        "first_comment",
        "first_response_at",
        "fr_due",
        "fr_running",
        "history",
        "id",
        "last_reply",
        "merged_into",
        "org",
        "paused_at",
        "prefix",
        "res_due",
        "res_from",
        "res_running",
        "resolved_at",
        "satisfaction",
        "status",
        "updated",
    )  # fmt: skip

    org: Org
    id: int
    prefix: str  # "org id\tticket id\t", the start of each of the ticket's rows
    created: int
    updated: int
    channel: int  # an index into CHANNELS
    customer: int
    agent: int
    assigned: bool
    status: str
    comments: int
    history: int
    first_comment: tuple[int, int, int] | None  # (comment id, author id, time)
    last_reply: int | None  # the time of the customer's last public reply
    first_response_at: int | None
    resolved_at: int | None
    closed_at: int | None
    merged_into: int | None
    satisfaction: int | None
    deleted: tuple[str, str, str] | None  # (deleted_at, deleted_by_id, delete_reason)
    fr_due: int
    fr_running: bool
    res_due: int
    res_from: int
    res_running: bool
    paused_at: int | None
    breached: set[str]
    breach_at: int | None


class TicketGenerator:
    """Appends the rows of one ticket after another to per-table buffers."""

    def __init__(self, *, rng: random.Random, pools: text.Pools, clock: Clock, ids: Ids,
                 now: int, seed: int) -> None:  # fmt: skip
        self.rng, self.pools, self.clock, self.ids = rng, pools, clock, ids
        self.now, self.seed = now, seed
        self.active = [active_share(d) for d in range(4000)]
        self.rows: dict[str, list[str]] = {}
        self.take_rows()
        self.ts = clock.ts
        # Ids of the bulk tables are counted here (a dict lookup per row adds up).
        self.next_ticket = ids.peek("tickets_ticket")
        self.next_comment = ids.peek("tickets_ticketcomment")
        self.next_history = ids.peek("tickets_tickethistory")
        self.next_event = ids.peek("sla_slaevent")
        self.tickets = 0
        self.s = TicketState()
        # Landmarks for benchmarks: tickets assigned per agent, a ticket with a long thread.
        self.assigned: Counter[int] = Counter()
        self.long_thread: tuple[int, int, int] | None = None

    def take_rows(self) -> dict[str, list[str]]:
        """The rows generated since the last call, per table."""
        rows, self.rows = self.rows, {table: [] for table in TABLES}
        self._history_rows = self.rows["tickets_tickethistory"]
        self._event_rows = self.rows["sla_slaevent"]
        self._comment_rows = self.rows["tickets_ticketcomment"]
        return rows

    def sync_ids(self) -> None:
        """Hand the ids counted here back to `Ids` (the load reports from it)."""
        for table, value in (
            ("tickets_ticket", self.next_ticket), ("tickets_ticketcomment", self.next_comment),
            ("tickets_tickethistory", self.next_history), ("sla_slaevent", self.next_event),
        ):  # fmt: skip
            self.ids.take(table, value - self.ids.peek(table))

    # ------------------------------------------------------------------ one ticket
    def ticket(self, org: Org, created: int, number: int) -> None:
        r = self.rng.random
        s = self.s
        s.org, s.created = org, created
        s.id = self.next_ticket
        self.next_ticket += 1
        s.prefix = f"{org.id}\t{s.id}\t"
        priority = PRIORITY_TABLE[int(r() * 100)]
        s.channel = CHANNEL_TABLE[int(r() * 100)]
        k = int(org.customers * r() ** 2)  # a few customers write a lot
        s.customer, tier = org.customer_first + k, org.customer_tiers[k]
        category, skill = self._category(org)
        team = org.team_for_skill.get(skill) if skill else None
        if team is None and r() < 0.5:
            team = org.team_ids[int(r() * len(org.team_ids))]
        members = (org.team_members.get(team) if team is not None else None) or org.agent_ids
        s.agent = members[int(len(members) * r() ** 1.6)]  # and a few agents answer a lot
        policy = org.policy(priority, tier, created)
        s.fr_due = policy.calendar.add(created, policy.first_response)
        s.res_due = policy.calendar.add(created, policy.resolution)
        steps = self._timeline(self._final_status(created), created)
        self._walk(steps, policy)
        self._ticket_row(priority, category, team, policy, number)
        org.last_ticket = (s.id, number)
        self.tickets += 1
        if s.assigned:
            self.assigned[s.agent] += 1
        if s.comments >= 20 and self.long_thread is None:
            self.long_thread = (s.id, org.id, s.comments)

    def _category(self, org: Org) -> tuple[str, str]:
        if self.rng.random() < 0.12:
            return NULL, ""
        cid, skill = org.categories[int(len(org.categories) * self.rng.random() ** 1.5)]
        return str(cid), skill

    def _final_status(self, created: int) -> str:
        r = self.rng.random
        age = (self.now - created) // DAY
        if r() < self.active[min(age, 3999)]:
            if age < 3:
                return ("new", "open", "pending")[int(r() * 3)]
            return "new" if r() < 0.1 else ("open" if r() < 0.55 else "pending")
        x = r()
        return "closed" if x < 0.70 else ("resolved" if x < 0.97 else "cancelled")

    # ------------------------------------------------------------------ the timeline
    def _timeline(self, final: str, c: int) -> list[Step]:
        rng = self.rng
        r, ex, s = rng.random, rng.expovariate, self.s
        if final == "new":
            steps: list[Step] = [(c + 60 + int(ex(1 / 1800)), ASSIGN, s.agent)] if r() < 0.3 else []
            return self._fit(steps, c)
        if final == "cancelled" and r() < 0.5:
            return self._fit([(c + 60 + int(ex(1 / HOUR)), CANCEL, s.agent)], c)
        fr = c + 60 + int((s.fr_due - c) * rng.lognormvariate(-1.1, 0.6))
        steps = [(c + (fr - c) // 3, ASSIGN, s.agent), (fr, FIRST_REPLY, s.agent)]
        last = self._conversation(steps, fr)
        if final == "open":
            return self._fit(steps, c)
        if final in ("pending", "cancelled"):
            kind = PENDING if final == "pending" else CANCEL
            steps.append((last + 60 + int(ex(1 / (4 * HOUR))), kind, s.agent))
            return self._fit(steps, c)
        paused = 0
        if r() < 0.3:  # waited on the customer for a while
            p = last + 60 + int(ex(1 / (2 * HOUR)))
            q = p + 300 + int(ex(1 / (30 * HOUR)))
            steps += [(p, PENDING, s.agent), (q, RESUME, s.customer)]
            last, paused = q, q - p
        target = c + int((s.res_due - c) * rng.lognormvariate(-0.9, 0.55)) + paused
        done = max(last + 60 + int(ex(1 / HOUR)), target)
        if final == "closed" and r() < 0.1:
            how = MERGED if s.org.last_ticket and r() < 0.3 else DIRECT
            steps.append((done, CLOSE, (s.agent, how)))
        else:
            self._resolution(steps, final, done)
        self._after(steps)
        return self._fit(steps, c)

    def _conversation(self, steps: list[Step], after: int) -> int:
        """Extra comments while the ticket is open: mostly none, now and then a long thread."""
        rng = self.rng
        r, s = rng.random, self.s
        count = int(rng.expovariate(1 / 0.5)) if r() > 0.015 else rng.randint(10, 40)
        t = after
        for _ in range(count):
            t += 60 + int(rng.expovariate(1 / (3 * HOUR)))
            x = r()
            author = s.customer if x < 0.45 else s.agent
            kind = "public" if x < 0.8 else "internal"
            steps.append((t, COMMENT, (author, kind)))
        return t

    def _resolution(self, steps: list[Step], final: str, done: int) -> None:
        rng, s = self.rng, self.s
        ex = rng.expovariate
        steps.append((done, RESOLVE, s.agent))
        if rng.random() < 0.08:  # the customer came back: reopened and resolved again
            again = done + 300 + int(ex(1 / (2 * DAY)))
            done = again + 300 + int(ex(1 / DAY))
            steps += [(again, REOPEN, s.customer), (done, RESOLVE, s.agent)]
        if final == "closed":
            if rng.random() < 0.7:
                steps.append((done + 3 * DAY + int(rng.random() * 4 * DAY), CLOSE, (None, AUTO)))
            else:
                steps.append((done + 60 + int(ex(1 / DAY)), CLOSE, (s.customer, BY_CUSTOMER)))

    def _after(self, steps: list[Step]) -> None:
        """A rating after the resolution; now and then a deletion at the very end."""
        rng, s = self.rng, self.s
        settled = max(t for t, kind, _ in steps if kind in (RESOLVE, CLOSE))
        if rng.random() < 0.30:
            rating = rng.choices((1, 2, 3, 4, 5), (5, 7, 13, 30, 45))[0]
            steps.append((settled + 60 + int(rng.expovariate(1 / (6 * HOUR))), CSAT, rating))
        if rng.random() < 0.003:
            end = max(t for t, _, _ in steps)
            steps.append((end + DAY + int(rng.expovariate(1 / (5 * DAY))), DELETE, s.org.admin_id))

    def _fit(self, steps: list[Step], c: int) -> list[Step]:
        """Sorted steps, scaled into [created, now) when the last one would be in the future."""
        steps.sort(key=_step_key)
        if steps and steps[-1][0] >= self.now:
            last = steps[-1][0]
            factor = (self.now - 1 - c) / (last - c)
            steps = [(c + int((t - c) * factor), kind, data) for t, kind, data in steps]
        return steps

    # ------------------------------------------------------------------ the walk
    def _walk(self, steps: list[Step], policy: Policy) -> None:
        s, c = self.s, self.s.created
        s.status, s.first_response_at, s.resolved_at, s.closed_at = "new", None, None, None
        s.paused_at, s.fr_running, s.res_running, s.res_from = None, True, True, c
        s.breached, s.breach_at, s.satisfaction, s.merged_into = set(), None, None, None
        s.deleted, s.history, s.updated, s.first_comment = None, 0, c, None
        s.assigned, s.comments, s.last_reply = False, 0, None
        actor = s.agent if CHANNELS[s.channel] == "phone" else s.customer
        self._history(actor, "created", NULL, "new", c)
        self._event("started", "first_response", s.fr_due, "", c)
        self._event("started", "resolution", s.res_due, "", c)
        for t, kind, data in steps:
            if t > s.updated:
                s.updated = t
            STEP_HANDLERS[kind](self, t, data, policy)
        if s.fr_running:
            self._target("first_response", s.fr_due, c, self.now, False, None)
        if s.res_running and s.paused_at is None:
            self._target("resolution", s.res_due, s.res_from, self.now, False, None)

    def _set_status(self, status: str, actor: int | None, t: int) -> None:
        s = self.s
        self._history(actor, "status", s.status, status, t)
        s.status = status

    def _target(self, target: str, due: int, begin: int, end: int, recorded: bool,
                actor: int | None) -> None:  # fmt: skip
        """Judge one running span of a target: met at its end, or breached inside it."""
        s = self.s
        if due >= end:
            if recorded:
                self._event("met", target, due, "", end)
            return
        if target in s.breached:
            return  # one breached event per target, whoever writes it
        s.breached.add(target)
        start = due if due > begin else begin
        if recorded and end - start < SWEEP and self.rng.random() < 0.5:
            late = _late(target, end - due)
            at, who = end, actor  # the service recorded it before the sweep came by
        else:
            late, who = "overdue, found by the periodic SLA check", None
            at = start + int(self.rng.random() * min(SWEEP, end - start))
        self._event("breached", target, due, late, at)
        if s.breach_at is None:
            s.breach_at = at
            self._history(who, "sla_breach", "false", "true", at)
            if at > s.updated:
                s.updated = at

    # ------------------------------------------------------------------ rows
    def _history(self, actor: int | None, field: str, old: str, new: str, t: int) -> None:
        s = self.s
        self._history_rows.append(
            f"{self.next_history}\t{s.prefix}{NULL if actor is None else actor}\t{field}\t{old}"
            f"\t{new}\t{self.ts(t)}\n"
        )
        self.next_history += 1
        s.history += 1

    def _event(self, kind: str, target: str, due: int | None, reason: str, t: int) -> None:
        due_at = NULL if due is None else self.ts(due)
        self._event_rows.append(
            f"{self.next_event}\t{self.s.prefix}{kind}\t{target}\t{due_at}\t{reason}\t"
            f"{self.ts(t)}\n"
        )
        self.next_event += 1

    def _comment(self, author: int | None, kind: str, entry: text.Entry, t: int) -> int:
        cid = self.next_comment
        self.next_comment += 1
        s = self.s
        s.comments += 1
        if author == s.customer and kind == "public":
            s.last_reply = t
        ts = self.ts(t)
        self._comment_rows.append(
            f"{cid}\t{s.prefix}{NULL if author is None else author}\t{kind}\t{entry.text}\t"
            f"{entry.html}\t{ts}\t{ts}\t{NULL}\t{NULL}\t\n"
        )
        return cid

    def _pick(self, pool: list[text.Entry]) -> text.Entry:
        return pool[int(self.rng.random() * len(pool))]

    def _ticket_row(self, priority: int, category: str, team: int | None, policy: Policy,
                    number: int) -> None:  # fmt: skip
        s, ts, rng = self.s, self.clock.ts, self.rng
        subject, description, html = self._texts()
        tags = text_array(self._tags())
        fields = CUSTOM_FIELDS[int(rng.random() * len(CUSTOM_FIELDS))]
        assignee = s.agent if s.assigned else NULL
        fra = s.first_response_at
        ttfr = NULL if fra is None else interval(fra - s.created)
        deleted_at, deleted_by, reason = s.deleted or (NULL, NULL, "")
        self.rows["tickets_ticket"].append(
            f"{s.id}\t{s.org.id}\t{number}\t{subject}\t{description}\t{html}\t{s.status}\t"
            f"{PRIORITIES[priority]}\t{CHANNELS[s.channel]}\t{category}\t{tags}\t{fields}\t"
            f"{s.customer}\t{assignee}\t{NULL if team is None else team}\t{policy.id}\t"
            f"{ts(s.fr_due)}\t{ts(s.res_due)}\t{_ts_or_null(ts, s.paused_at)}\t"
            f"{'t' if s.breach_at is not None else 'f'}\t{_ts_or_null(ts, fra)}\t"
            f"{_ts_or_null(ts, s.resolved_at)}\t{_ts_or_null(ts, s.closed_at)}\t"
            f"{NULL if s.satisfaction is None else s.satisfaction}\t{ttfr}\t"
            f"{NULL if s.merged_into is None else s.merged_into}\t{s.history}\t"
            f"{ts(s.created)}\t{ts(s.updated)}\t{deleted_at}\t{deleted_by}\t{reason}\t"
            f"{_ts_or_null(ts, s.last_reply)}\n"
        )
        self._attachments()

    def _texts(self) -> tuple[str, str, str]:
        pools, rng = self.pools, self.rng
        opening, detail = self._pick(pools.openings), self._pick(pools.details)
        description = f"{opening.text}\\n\\n{detail.text}"
        html = opening.html + detail.html
        if rng.random() < 0.35:
            ref = text.reference(rng)
            description += f"\\n\\n{ref}"
            html += f"<p>{ref}</p>"
        subject = pools.subjects[int(rng.random() * len(pools.subjects))]
        return subject, description, html

    def _tags(self) -> list[str]:
        rng = self.rng
        x = rng.random()
        count = 0 if x < 0.45 else (1 if x < 0.8 else (2 if x < 0.95 else 3))
        if not count:
            return []
        return list(dict.fromkeys(rng.choices(vocab.TAGS, cum_weights=TAG_CUM, k=count)))

    def _attachments(self) -> None:
        rng, s = self.rng, self.s
        x = rng.random()
        if x >= 0.13:
            return
        first = s.first_comment  # attached by staff to their first reply, or by the customer
        comment, who, at = (
            first if x < 0.03 and first is not None else (NULL, s.customer, s.created)
        )
        for k in range(1 if rng.random() < 0.7 else 2):
            name, kind, typical = vocab.ATTACHMENTS[int(rng.random() * len(vocab.ATTACHMENTS))]
            stem, _, ext = name.rpartition(".")
            size = 1 + int(typical * rng.lognormvariate(0, 0.8))
            digest = hashlib.sha256(f"deskbase-datagen/{self.seed}/{s.id}/{k}".encode()).hexdigest()
            aid = self.ids.take("tickets_ticketattachment")
            self.rows["tickets_ticketattachment"].append(
                f"{aid}\t{s.org.id}\t{s.id}\t{comment}\t{who}\t{stem}-{s.id}-{k + 1}.{ext}\t"
                f"{kind}\t{size}\t{digest}\t{int(rng.expovariate(0.5))}\t{self.clock.ts(at)}\n"
            )


def _step_key(step: Step) -> tuple[int, int]:
    return step[0], step[1]


def _ts_or_null(ts, value: int | None) -> str:
    return NULL if value is None else ts(value)


def _late(target: str, seconds: int) -> str:
    """The reason sla_record_* writes: the target's label and how late, as a timedelta."""
    label = "First response" if target == "first_response" else "Resolution"
    return f"{label} came {timedelta(seconds=seconds)} after the due time"


# ------------------------------------------------------------------ what each step does
def _on_assign(g: TicketGenerator, t: int, agent: int, policy: Policy) -> None:
    g._history(agent, "assignee_id", NULL, str(agent), t)
    g.s.assigned = True


def _on_first_reply(g: TicketGenerator, t: int, agent: int, policy: Policy) -> None:
    """The first public staff reply: the first response, and new -> open."""
    s = g.s
    cid = g._comment(agent, "public", g._pick(g.pools.staff), t)
    s.first_comment = (cid, agent, t)
    g._target("first_response", s.fr_due, s.created, t, True, agent)
    s.fr_running, s.first_response_at = False, t
    g._set_status("open", agent, t)


def _on_comment(g: TicketGenerator, t: int, data: tuple, policy: Policy) -> None:
    author, kind = data
    pools = g.pools
    if kind == "internal":
        pool = pools.internal
    else:
        pool = pools.customer if author == g.s.customer else pools.staff
    g._comment(author, kind, g._pick(pool), t)


def _on_pending(g: TicketGenerator, t: int, agent: int, policy: Policy) -> None:
    """Staff ask the customer something and wait: the clock pauses (sla_pause)."""
    s = g.s
    g._comment(agent, "public", g._pick(g.pools.staff), t)
    if s.res_running:
        g._target("resolution", s.res_due, s.res_from, t, False, None)
    s.paused_at = t
    g._event("paused", "", None, "waiting on the customer", t)
    g._set_status("pending", agent, t)


def _on_resume(g: TicketGenerator, t: int, customer: int, policy: Policy) -> None:
    """The customer answers: pending -> open, a due time not yet past moves (sla_resume)."""
    s = g.s
    g._comment(customer, "public", g._pick(g.pools.customer), t)
    paused = s.paused_at
    if s.res_running and paused is not None and s.res_due > paused:  # paused: pending came first
        s.res_due = policy.calendar.add(s.res_due, policy.calendar.between(paused, t))
        g._event("resumed", "resolution", s.res_due, "", t)
    else:
        g._event("resumed", "", None, "", t)
    s.paused_at, s.res_from = None, t
    g._set_status("open", customer, t)


def _on_resolve(g: TicketGenerator, t: int, agent: int, policy: Policy) -> None:
    s = g.s
    g._comment(agent, "public", g._pick(g.pools.staff), t)
    g._target("resolution", s.res_due, s.res_from, t, True, agent)
    s.res_running, s.resolved_at = False, t
    g._set_status("resolved", agent, t)


def _on_reopen(g: TicketGenerator, t: int, customer: int, policy: Policy) -> None:
    """The customer replies to a resolved ticket: it opens again, resolved_at cleared."""
    s = g.s
    g._comment(customer, "public", g._pick(g.pools.customer), t)
    s.res_running, s.res_from, s.resolved_at = True, t, None
    g._set_status("open", customer, t)


def _on_close(g: TicketGenerator, t: int, data: tuple, policy: Policy) -> None:
    actor, how = data
    s = g.s
    if s.res_running:  # closed without a resolution: resolved_at too, no SLA record
        g._target("resolution", s.res_due, s.res_from, t, False, None)
        s.res_running, s.resolved_at = False, t
    if how == AUTO:
        g._comment(None, "system", g._pick(g.pools.system), t)
    elif how == MERGED and s.org.last_ticket is not None:  # chosen only when there is one
        target, number = s.org.last_ticket
        note = f"Merged into ticket #{number}."
        g._comment(None, "system", text.Entry(note, f"<p>{note}</p>"), t)
        g._history(actor, "merged_into_id", NULL, str(target), t)
        s.merged_into = target
    s.closed_at = t
    g._set_status("closed", actor, t)


def _on_cancel(g: TicketGenerator, t: int, agent: int, policy: Policy) -> None:
    s = g.s
    if s.fr_running:
        g._target("first_response", s.fr_due, s.created, t, False, None)
        s.fr_running = False
    if s.res_running:
        g._target("resolution", s.res_due, s.res_from, t, False, None)
        s.res_running = False
    g._set_status("cancelled", agent, t)


def _on_csat(g: TicketGenerator, t: int, rating: int, policy: Policy) -> None:
    s = g.s
    rid = g.ids.take("tickets_csatresponse")
    comment = g.pools.csat[int(g.rng.random() * len(g.pools.csat))] if rating < 3 else ""
    g.rows["tickets_csatresponse"].append(
        f"{rid}\t{s.org.id}\t{s.id}\t{s.customer}\t{rating}\t{comment}\t{g.clock.ts(t)}\n"
    )
    g._history(s.customer, "satisfaction", NULL, str(rating), t)
    s.satisfaction = rating


def _on_delete(g: TicketGenerator, t: int, admin: int, policy: Policy) -> None:
    """Moved to the trash: the three soft-delete columns, as the history trigger sees them."""
    s = g.s
    reason = ("spam", "duplicate", "test ticket", "sent by mistake")[int(g.rng.random() * 4)]
    g._history(admin, "deleted_at", NULL, g.clock.json_ts(t), t)
    g._history(admin, "deleted_by_id", NULL, str(admin), t)
    g._history(admin, "delete_reason", "", reason, t)
    s.deleted = (g.clock.ts(t), str(admin), reason)


STEP_HANDLERS = (
    _on_assign, _on_first_reply, _on_comment, _on_pending, _on_resume, _on_resolve,
    _on_reopen, _on_close, _on_cancel, _on_csat, _on_delete,
)  # fmt: skip
