"""The demo's tickets, each told as it happened, through the services.

Each ticket follows its scenario: the customer writes (an agent, for a phone call),
an agent takes it and answers within the SLA, sometimes asks a question and waits
(pending) for the answer, leaves an internal note, solves it, the customer rates it
and the ticket is closed a few days later. A step that would come after `now` has
not happened yet: the ticket stays where its story has got to. Most tickets are
answered well in time; a few older ones were answered or solved late, a handful of
recent ones are late right now (forgotten in the queue, or stuck with engineering).

Steps are timed in the SLA policy's own clock (business hours for most priorities),
so agents answer during office hours and "in time" means what the SLA counts.
"""

from __future__ import annotations

import contextlib
import random
import zoneinfo
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from deskbase.accounts.models import User
from deskbase.core.tenancy import tenant
from deskbase.demo.scenarios import REOPENED, SCENARIOS, Scenario
from deskbase.organizations.models import Organization
from deskbase.sla.calendar import BusinessCalendar, calendar_for
from deskbase.sla.models import SlaPolicy
from deskbase.sla.services import due_at
from deskbase.tickets import canned as canned_responses
from deskbase.tickets import services as t
from deskbase.tickets.models import Priority, Ticket

PRIORITIES = tuple(Priority.values)
# Who writes in, and how: the customer, except on the phone, where the agent types it.
CHANNELS = (("email", 34), ("portal", 24), ("web", 13), ("chat", 12), ("phone", 9), ("api", 8))
FORGOTTEN = 3  # recent tickets nobody answered: breaching their first-response target now
STUCK = 2  # recent tickets answered, then stuck: breaching their resolution target now
LATE_FIRST = 0.05  # of older tickets: first answer came late
LATE_RESOLUTION = 0.06  # of older tickets: solved late
NO_POLICY = {"first_response": 240, "resolution": 1440}  # a desk without SLA: its own pace
CSAT_WEIGHTS = {False: (2, 2, 6, 30, 60), True: (20, 25, 25, 20, 10)}  # by "was late"
CSAT_COMMENTS = {
    1: "Took far too long.", 2: "Slow, and I had to ask twice.", 3: "OK in the end.",
    4: "Helpful, thanks.", 5: "Quick and friendly, thank you!",
}  # fmt: skip


@dataclass
class Desk:
    organization: Organization
    admin: User
    agents: list[User]  # who works tickets; the first is the demo agent login
    demo_agent: User
    customers: list[User]  # the first is the customer login
    teams: dict[str, Any]  # skill -> team
    categories: dict[str, Any]  # name -> category
    canned: dict[str, Any]  # name -> canned response
    policies: dict[int, SlaPolicy] = field(default_factory=dict)  # by id
    calendar: BusinessCalendar | None = None


@dataclass
class Story:
    ticket: Ticket
    scenario: Scenario
    agent: User
    # What the agent sets when picking the ticket up: customers choose neither the
    # team nor an urgent priority (tickets.services refuses both).
    triage: dict = field(default_factory=dict)
    fate: str = "normal"  # normal, late_first, late_resolution, forgotten, stuck
    steps: list[str] = field(default_factory=list)


# ------------------------------------------------------------------ the whole desk
def play(desk: Desk, rng: random.Random, *, count: int, since: datetime, now: datetime) -> None:
    """`count` tickets opened between `since` and `now`, each played up to `now`."""
    org = desk.organization
    zone = zoneinfo.ZoneInfo(org.timezone)
    with tenant(org):
        desk.calendar = calendar_for(org)
        desk.policies = {p.id: p for p in SlaPolicy.objects.filter(organization=org)}
    stories = [_open(desk, rng, at) for at in arrivals(rng, count, since, now, zone)]
    _choose_fates(stories, rng, now)
    for story in stories:
        # The agent's acts need no tenant switch of their own (fewer round trips).
        with tenant(org, story.agent):
            Teller(desk, story, rng, now).tell()


def arrivals(
    rng: random.Random, count: int, since: datetime, now: datetime, zone: zoneinfo.ZoneInfo
) -> list[datetime]:
    """`count` times in [since, now - 15 min], most on weekdays in office hours."""
    end = now - timedelta(minutes=15)
    times: list[datetime] = []
    while len(times) < count:
        at = since + (end - since) * rng.random()
        local = at.astimezone(zone)
        hour = local.hour + local.minute / 60
        busy = 1.0 if 8 <= hour < 18 else 0.2 if 6 <= hour < 22 else 0.03
        if rng.random() < busy * (0.15 if local.weekday() >= 5 else 1.0):
            times.append(at)
    times.sort()
    if count > 1:
        times[0] = min(times[0], since + timedelta(hours=30))  # the six weeks are covered
    return times


def _open(desk: Desk, rng: random.Random, at: datetime) -> Story:
    scenario = rng.choices(SCENARIOS, [s.weight for s in SCENARIOS])[0]
    subject, description = rng.choice(scenario.variants)
    # The customer login writes more often than the others: its portal has a history.
    weights = [6] + [1] * (len(desk.customers) - 1)
    customer = rng.choices(desk.customers, weights)[0]
    channel = rng.choices([c for c, _ in CHANNELS], [w for _, w in CHANNELS])[0]
    category = desk.categories.get(scenario.category)
    skill = category.skill if category is not None else ""
    team = desk.teams.get(skill)
    fitting = [a for a in desk.agents if not skill or skill in (a.skills or [])] or desk.agents
    agent = rng.choices(fitting, [3 if a == desk.demo_agent else 2 for a in fitting])[0]
    company = customer.email.rsplit("@", 1)[-1].split(".")[0].title()
    body = f"{description}\n\n{customer.full_name}\n{company}"
    priority = rng.choices(PRIORITIES, scenario.priorities)[0]
    # A phone call is typed in by the agent who takes it; anything else the customer sends.
    by_phone = channel == "phone"
    triage = {}
    if not by_phone:
        triage = {"team": team} if team is not None else {}
        if priority == "urgent":
            triage["priority"], priority = priority, "high"
        team = None
    ticket = t.ticket_create(
        organization=desk.organization, actor=agent if by_phone else customer,
        customer=customer, subject=subject, description=body, priority=priority,
        channel=channel, category=category, team=team, at=at,
        # The customer's plan: their tier (a choice field the demo defines, demo/__init__.py).
        custom_fields={"plan": customer.customer_tier or "basic"},
    )  # fmt: skip
    return Story(ticket=ticket, scenario=scenario, agent=agent, triage=triage)


def _choose_fates(stories: list[Story], rng: random.Random, now: datetime) -> None:
    """A few late tickets among the finished ones, a handful late right now."""
    old = now - timedelta(days=8)
    for story in stories:
        if story.ticket.created_at < old:
            draw = rng.random()
            if draw < LATE_FIRST:
                story.fate = "late_first"
            elif draw < LATE_FIRST + LATE_RESOLUTION:
                story.fate = "late_resolution"
    recent = [s for s in stories if s.ticket.created_at >= now - timedelta(days=6)]
    cutoff = now - timedelta(hours=2)
    forgotten = [s for s in recent if _due(s.ticket.first_response_due_at, cutoff)]
    for story in rng.sample(forgotten, min(FORGOTTEN, len(forgotten))):
        story.fate = "forgotten"
    stuck = [
        s for s in stories
        if s.fate == "normal" and s.ticket.created_at >= now - timedelta(days=10)
        and _due(s.ticket.resolution_due_at, cutoff)
    ]  # fmt: skip
    for story in rng.sample(stuck, min(STUCK, len(stuck))):
        story.fate = "stuck"


def _due(due: datetime | None, cutoff: datetime) -> bool:
    return due is not None and due < cutoff


# ------------------------------------------------------------------ one ticket
class Over(Exception):
    """The story has reached `now`: what comes next has not happened yet."""


class Teller:
    def __init__(self, desk: Desk, story: Story, rng: random.Random, now: datetime) -> None:
        self.desk, self.story, self.rng = desk, story, rng
        self.org = desk.organization
        self.ticket, self.scenario, self.agent = story.ticket, story.scenario, story.agent
        self.customer = self.ticket.customer
        self.limit = now - timedelta(minutes=2)
        self.last = self.ticket.created_at

    def tell(self) -> None:
        with contextlib.suppress(Over):
            self._tell()

    def _at(self, when: datetime) -> datetime:
        """The time of the next step, never before the last one; Over if not yet."""
        when = max(when, self.last + timedelta(minutes=1))
        if when >= self.limit:
            raise Over
        self.last = when
        return when

    def _clock(self, start: datetime, fraction: float, target: str) -> datetime:
        """`fraction` of the SLA target after `start`, in the policy's clock."""
        policy_id = self.ticket.sla_policy_id
        policy = self.desk.policies.get(policy_id) if policy_id is not None else None
        minutes = getattr(policy, f"{target}_minutes") if policy else NO_POLICY[target]
        minutes = max(int(minutes * fraction), 3)
        if policy is None:
            return start + timedelta(minutes=minutes)
        return due_at(policy, start=start, minutes=minutes, calendar=self.desk.calendar)

    def _tell(self) -> None:
        fate, rng = self.story.fate, self.rng
        if fate == "forgotten":
            return  # still new and unassigned: nobody saw it
        first = "first_response"
        share = rng.uniform(1.2, 2.2) if fate == "late_first" else rng.uniform(0.08, 0.7)
        answered = self._clock(self.ticket.created_at, share, first)
        self._assign(self.ticket.created_at + (answered - self.ticket.created_at) * 0.3)
        self._first_reply(answered)
        waits = self.scenario.asks and fate != "stuck" and rng.random() < 0.8
        if waits:
            self._status("pending", self.last + timedelta(minutes=1))
        if rng.random() < 0.5 or fate == "stuck":
            self._note(self.scenario.notes[0], self.last + timedelta(minutes=rng.randint(3, 40)))
        if fate == "stuck":
            self._escalate()
            return  # waiting on engineering, past its resolution target
        if waits:
            self._customer_answers()
        elif rng.random() < 0.5:
            self._comment(self.customer, self.scenario.customer_reply,
                          self.last + timedelta(minutes=rng.randint(20, 600)))  # fmt: skip
        self._resolve()
        resolved = self.ticket.resolved_at  # set by _resolve
        if (
            rng.random() < 0.04
            and resolved is not None
            and resolved < self.limit - timedelta(days=4)
        ):
            self._reopen_and_resolve()
        self._rate_and_close()

    # --- the steps
    def _assign(self, when: datetime) -> None:
        if self.story.triage:
            self.ticket = t.ticket_update(
                organization=self.org, actor=self.agent, ticket=self.ticket,
                version=self.ticket.version, at=self._at(when), **self.story.triage,
            )  # fmt: skip
        t.ticket_assign(organization=self.org, actor=self.agent, ticket=self.ticket,
                        assignee=self.agent, at=self._at(when))  # fmt: skip

    def _greeting(self) -> str:
        return f"Hi {self.customer.full_name.split()[0]},"

    def _sign(self, text: str) -> str:
        return f"{self._greeting()}\n\n{text}\n\n{self.agent.full_name.split()[0]}"

    def _canned(self, name: str) -> str:
        return canned_responses.canned_response_render(
            organization=self.org, actor=self.agent, canned=self.desk.canned[name],
            ticket=self.ticket,
        )  # fmt: skip

    def _first_reply(self, when: datetime) -> None:
        when = self._at(when)  # before the canned response is used: it may not happen yet
        if "Greeting" in self.desk.canned and self.rng.random() < 0.35:
            body = f"{self._canned('Greeting')}\n\n{self.scenario.first_reply}"
        else:
            body = self._sign(self.scenario.first_reply)
        self._comment(self.agent, body, when)

    def _comment(self, author: User, body: str, when: datetime, kind: str = "public") -> None:
        t.comment_add(organization=self.org, actor=author, ticket=self.ticket, body=body,
                      kind=kind, at=self._at(when))  # fmt: skip

    def _note(self, text: str, when: datetime) -> None:
        self._comment(self.agent, text, when, kind="internal")

    def _status(self, status: str, when: datetime, actor: User | None = None) -> None:
        self.ticket = t.ticket_change_status(
            organization=self.org, actor=actor or self.agent, ticket=self.ticket, status=status,
            at=self._at(when),
        )  # fmt: skip

    def _escalate(self) -> None:
        when = self.last + timedelta(minutes=self.rng.randint(10, 90))
        if "Escalated to engineering" in self.desk.canned:
            when = self._at(when)
            self._comment(self.agent, self._canned("Escalated to engineering"), when)

    def _customer_answers(self) -> None:
        rng = self.rng
        if rng.random() < 0.12:  # never answers: closed after a few days
            when = self._at(self.last + timedelta(days=rng.uniform(5, 7)))
            if "Closing: no reply" in self.desk.canned:
                self._comment(self.agent, self._canned("Closing: no reply"), when)
            self._status("closed", when + timedelta(minutes=1))
            raise Over
        hours = rng.choice(
            (rng.uniform(0.3, 4), rng.uniform(4, 30), rng.uniform(20, 60), rng.uniform(30, 100))
        )
        answer = self.last + timedelta(hours=hours)
        if hours > 26 and self.agent == self.desk.demo_agent and "Checking in" in self.desk.canned:
            check = self._at(self.last + timedelta(hours=24))
            self._comment(self.agent, self._canned("Checking in"), check)
        self._comment(self.customer, self.scenario.customer_reply, answer)  # reopens it

    def _resolve(self) -> None:
        # The replies moved the ticket on (first response, reopened, due time resumed).
        self.ticket.refresh_from_db(fields=["status", "resolution_due_at", "version"])
        fate = self.story.fate
        share = (
            self.rng.uniform(1.15, 1.8) if fate == "late_resolution" else self.rng.uniform(0.2, 0.8)
        )
        planned = self._clock(self.ticket.created_at, share, "resolution")
        soonest = self._clock(self.last, 0.02, "resolution")  # a little work after the last step
        when = max(planned, soonest)
        due = self.ticket.resolution_due_at
        if fate != "late_resolution" and due is not None and when >= due:
            when = max(soonest, due - timedelta(minutes=10))
        when = self._at(when)
        text = self.scenario.resolution
        if "Resolved: reply to reopen" in self.desk.canned and self.rng.random() < 0.4:
            body = f"{self._greeting()}\n\n{text}\n\n{self._canned('Resolved: reply to reopen')}"
        else:
            body = self._sign(text)
        self._comment(self.agent, body, when)
        self._status("resolved", when + timedelta(minutes=1))

    def _reopen_and_resolve(self) -> None:
        self._comment(self.customer, REOPENED, self.last + timedelta(hours=self.rng.uniform(2, 20)))
        self._note(self.scenario.notes[-1], self.last + timedelta(minutes=30))
        when = self.last + timedelta(hours=self.rng.uniform(1, 5))
        self._comment(self.agent, self._sign(self.scenario.resolution), when)
        self._status("resolved", self.last + timedelta(minutes=1))

    def _rate_and_close(self) -> None:
        rng = self.rng
        steps = []
        if rng.random() < 0.45:
            steps.append(("rate", self.last + timedelta(hours=rng.uniform(0.5, 30))))
        closed_by = self.customer if rng.random() < 0.3 else self.agent
        steps.append(("close", self.last + timedelta(days=rng.uniform(3, 7))))
        for step, when in sorted(steps, key=lambda s: s[1]):
            if step == "rate":
                rating = rng.choices(range(1, 6), CSAT_WEIGHTS[self.ticket.sla_breach])[0]
                t.csat_record(organization=self.org, actor=self.customer, ticket=self.ticket,
                              rating=rating, comment=CSAT_COMMENTS[rating],
                              at=self._at(when))  # fmt: skip
            else:
                self._status("closed", when, actor=closed_by)
