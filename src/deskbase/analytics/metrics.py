"""The metrics of docs/analytics.md, computed once, from the counts and sums the views
and the live counts hold. Every panel and every test goes through these functions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

TICKET_SUMS = (
    "tickets", "active", "resolved", "ever_resolved", "reopened", "first_response_count",
    "first_response_seconds", "resolution_count", "resolution_seconds", "sla_tickets",
    "sla_breached", "csat_count", "csat_sum", "csat_1", "csat_2", "csat_3", "csat_4", "csat_5",
)  # fmt: skip
AGENT_SUMS = (
    "handled", "replies", "notes", "first_response_count", "first_response_seconds",
    "resolution_count", "resolution_seconds", "sla_tickets", "sla_breached", "csat_count",
    "csat_sum",
)  # fmt: skip
SLA_SUMS = (
    "tickets", "sla_tickets", "sla_breached", "first_response_met", "first_response_breached",
    "resolution_met", "resolution_breached", "first_response_count", "first_response_seconds",
    "first_response_business_seconds", "resolution_count", "resolution_seconds",
    "resolution_business_seconds",
)  # fmt: skip
TREND_SUMS = ("created", "resolved", "closed", "reopened")


def average(total: float, count: int) -> float | None:
    """A mean, or None when there is nothing to average (never 0 for "no data")."""
    return round(float(total) / count, 1) if count else None


def percent(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def compliance(met: int, breached: int) -> float | None:
    return percent(met, met + breached)


def csat(sums: Mapping[str, Any]) -> dict[str, Any]:
    count = int(sums["csat_count"])
    return {
        "count": count,
        "average": round(float(sums["csat_sum"]) / count, 2) if count else None,
        "distribution": {str(r): int(sums.get(f"csat_{r}", 0)) for r in range(1, 6)},
    }


def ticket_metrics(sums: Mapping[str, Any]) -> dict[str, Any]:
    """A group of tickets (by the day they were opened)."""
    sla_tickets, sla_breached = int(sums["sla_tickets"]), int(sums["sla_breached"])
    return {
        "tickets": int(sums["tickets"]),
        "open": int(sums["active"]),
        "resolved": int(sums["resolved"]),
        "first_response_avg_seconds": average(
            sums["first_response_seconds"], sums["first_response_count"]
        ),
        "resolution_avg_seconds": average(sums["resolution_seconds"], sums["resolution_count"]),
        "sla_compliance_pct": percent(sla_tickets - sla_breached, sla_tickets),
        "reopen_rate_pct": percent(int(sums["reopened"]), int(sums["ever_resolved"])),
        "csat": csat(sums),
    }


def agent_metrics(sums: Mapping[str, Any]) -> dict[str, Any]:
    sla_tickets, sla_breached = int(sums["sla_tickets"]), int(sums["sla_breached"])
    return {
        "handled": int(sums["handled"]),
        "replies": int(sums["replies"]),
        "notes": int(sums["notes"]),
        "effort": int(sums["replies"]) + int(sums["notes"]),
        "first_response_avg_seconds": average(
            sums["first_response_seconds"], sums["first_response_count"]
        ),
        "resolution_avg_seconds": average(sums["resolution_seconds"], sums["resolution_count"]),
        "sla_compliance_pct": percent(sla_tickets - sla_breached, sla_tickets),
        "csat_average": round(float(sums["csat_sum"]) / sums["csat_count"], 2)
        if sums["csat_count"]
        else None,
        "csat_count": int(sums["csat_count"]),
    }


def sla_metrics(sums: Mapping[str, Any]) -> dict[str, Any]:
    sla_tickets, sla_breached = int(sums["sla_tickets"]), int(sums["sla_breached"])
    return {
        "tickets": int(sums["tickets"]),
        "sla_compliance_pct": percent(sla_tickets - sla_breached, sla_tickets),
        "first_response": {
            "met": int(sums["first_response_met"]),
            "breached": int(sums["first_response_breached"]),
            "compliance_pct": compliance(
                int(sums["first_response_met"]), int(sums["first_response_breached"])
            ),
            "avg_seconds": average(sums["first_response_seconds"], sums["first_response_count"]),
            "avg_business_seconds": average(
                sums["first_response_business_seconds"], sums["first_response_count"]
            ),
        },
        "resolution": {
            "met": int(sums["resolution_met"]),
            "breached": int(sums["resolution_breached"]),
            "compliance_pct": compliance(
                int(sums["resolution_met"]), int(sums["resolution_breached"])
            ),
            "avg_seconds": average(sums["resolution_seconds"], sums["resolution_count"]),
            "avg_business_seconds": average(
                sums["resolution_business_seconds"], sums["resolution_count"]
            ),
        },
    }
