"""The load test's mix of users (locust): what a helpdesk's traffic looks like.

- agents (60 %): sign in, then read their queue and ticket pages, search, glance at
  the dashboard, and reply to a ticket now and then (through the API, as the pages'
  htmx forms do, with the session and its CSRF token);
- customers (20 %): sign in, read their tickets in the portal, open new ones;
- API clients (20 %): an integration with a personal token, listing and reading
  tickets and searching.

Each user thinks between requests (LOAD_THINK seconds, default 0.5 to 1.5), so the
offered load grows with the number of users. Logins and tokens come from the
environment (bench/load/run.py sets them): LOAD_ORG, LOAD_AGENT, LOAD_CUSTOMER
(email:password), LOAD_TOKENS (comma-separated). A 503 or 429 is a failure that
locust counts by status (see run.py); every other non-2xx is one too.
"""

from __future__ import annotations

import json
import os
import random
import re
import time

import gevent
from locust import HttpUser, LoadTestShape, between, events, task

ORG = os.environ.get("LOAD_ORG", "demo")
AGENT = os.environ.get("LOAD_AGENT", "agent@demo.deskbase.test:demo-agent-pass")
CUSTOMER = os.environ.get("LOAD_CUSTOMER", "customer@demo.deskbase.test:demo-customer-pass")
TOKENS = [t for t in os.environ.get("LOAD_TOKENS", "").split(",") if t]
THINK = [float(x) for x in os.environ.get("LOAD_THINK", "0.5,1.5").split(",")]
WORDS = ["password", "invoice", "login", "refund", "error", "export", "billing", "slow"]


class SignedIn(HttpUser):
    abstract = True
    wait_time = between(*THINK)
    login = AGENT
    numbers: list[int]

    def on_start(self) -> None:
        email, password = self.login.split(":", 1)
        # A refused sign-in (503 or 429) is tried again after its Retry-After, as a
        # browser's user would: a user left signed out would only measure redirects.
        for _ in range(10):
            answer = self.client.post("/api/v1/auth/login", json={"organization": ORG,
                                      "email": email, "password": password}, name="sign in")  # fmt: skip
            if answer.status_code not in (429, 503):
                break
            time.sleep(float(answer.headers.get("Retry-After") or 2))
        answer = self.client.get("/api/v1/tickets?limit=100", name="/api/v1/tickets")
        numbers = [t["number"] for t in answer.json().get("items", [])] if answer.ok else []
        self.numbers = numbers or [1]

    def csrf(self) -> dict[str, str]:
        return {"X-CSRFToken": self.client.cookies.get("csrftoken", "")}


class Agent(SignedIn):
    weight = 6

    @task(5)
    def queue(self) -> None:
        self.client.get("/desk/", name="/desk/ (queue)")

    @task(5)
    def ticket_page(self) -> None:
        number = random.choice(self.numbers)
        self.client.get(f"/desk/tickets/{number}/", name="/desk/tickets/[n]/")

    @task(2)
    def search(self) -> None:
        self.client.get(f"/desk/search/?q={random.choice(WORDS)}", name="/desk/search/")

    @task(1)
    def dashboard(self) -> None:
        self.client.get("/desk/dashboard/", name="/desk/dashboard/")

    @task(1)
    def reply(self) -> None:
        number = random.choice(self.numbers)
        self.client.post(f"/api/v1/tickets/{number}/comments", headers=self.csrf(),
                         json={"body": "Thanks, looking into it.", "kind": "internal"},
                         name="/api/v1/tickets/[n]/comments")  # fmt: skip


class Customer(SignedIn):
    weight = 2
    login = CUSTOMER

    @task(4)
    def my_tickets(self) -> None:
        self.client.get("/portal/", name="/portal/")

    @task(3)
    def ticket(self) -> None:
        number = random.choice(self.numbers)
        self.client.get(f"/portal/tickets/{number}/", name="/portal/tickets/[n]/")

    @task(1)
    def open_ticket(self) -> None:
        self.client.post("/api/v1/tickets", headers=self.csrf(), name="/api/v1/tickets (new)",
                         json={"subject": "Cannot export my invoices",
                               "description": "The export button spins for ever."}, )  # fmt: skip


class ApiClient(HttpUser):
    weight = 2
    wait_time = between(*THINK)

    def on_start(self) -> None:
        token = random.choice(TOKENS) if TOKENS else ""
        self.client.headers["Authorization"] = f"Bearer {token}"
        answer = self.client.get("/api/v1/tickets?limit=100", name="/api/v1/tickets")
        numbers = [t["number"] for t in answer.json().get("items", [])] if answer.ok else []
        self.numbers = numbers or [1]

    @task(3)
    def list_tickets(self) -> None:
        self.client.get("/api/v1/tickets?limit=25", name="/api/v1/tickets")

    @task(3)
    def read_ticket(self) -> None:
        number = random.choice(self.numbers)
        self.client.get(f"/api/v1/tickets/{number}", name="/api/v1/tickets/[n]")

    @task(1)
    def search(self) -> None:
        self.client.get(f"/api/v1/search?q={random.choice(WORDS)}", name="/api/v1/search")


# ------------------------------------------------------------------ stepped concurrency
# LOAD_STEPS users ("8,16,32"), each step LOAD_STEP_SECONDS long; the first
# LOAD_SETTLE_SECONDS of a step (new users signing in) are not measured. One JSON
# line per step is appended to LOAD_OUTPUT.
STEPS = [int(x) for x in os.environ.get("LOAD_STEPS", "4,8").split(",") if x]
STEP_SECONDS = float(os.environ.get("LOAD_STEP_SECONDS", "20"))
SETTLE_SECONDS = float(os.environ.get("LOAD_SETTLE_SECONDS", "4"))
OUTPUT = os.environ.get("LOAD_OUTPUT", "")
_STATUS = re.compile(r"\b(\d{3}) (?:Server|Client) Error")


class Steps(LoadTestShape):
    def tick(self):
        step = int(self.get_run_time() // STEP_SECONDS)
        if step >= len(STEPS):
            return None
        return STEPS[step], max(STEPS[step], 10)


def _snapshot(environment, users: int, seconds: float) -> dict:
    stats = environment.runner.stats
    total = stats.total
    errors: dict[str, int] = {}
    for error in stats.errors.values():
        found = _STATUS.search(str(error.error))
        key = found[1] if found else type(error.error).__name__ if error.error else "other"
        errors[key] = errors.get(key, 0) + error.occurrences
    return {
        "users": users,
        "seconds": round(seconds, 1),
        "requests": total.num_requests,
        "failures": total.num_failures,
        "throughput_rps": round(total.num_requests / seconds, 1) if seconds else 0,
        "ok_rps": round((total.num_requests - total.num_failures) / seconds, 1) if seconds else 0,
        "p50_ms": total.get_response_time_percentile(0.5) if total.num_requests else None,
        "p99_ms": total.get_response_time_percentile(0.99) if total.num_requests else None,
        "max_ms": round(total.max_response_time or 0),
        "errors_by_status": errors,
    }


def _measure(environment) -> None:
    started = time.monotonic()
    for index, users in enumerate(STEPS):
        settle = started + index * STEP_SECONDS + SETTLE_SECONDS
        end = started + (index + 1) * STEP_SECONDS - 0.2
        gevent.sleep(max(0.0, settle - time.monotonic()))
        environment.runner.stats.reset_all()
        measured_from = time.monotonic()
        gevent.sleep(max(0.0, end - time.monotonic()))
        line = _snapshot(environment, users, time.monotonic() - measured_from)
        print(json.dumps(line), flush=True)
        if OUTPUT:
            with open(OUTPUT, "a") as out:
                out.write(json.dumps(line) + "\n")


@events.test_start.add_listener
def _start(environment, **kwargs) -> None:
    gevent.spawn(_measure, environment)
