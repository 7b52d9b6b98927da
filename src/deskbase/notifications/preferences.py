"""What notifies an agent when they chose nothing: the defaults of the settings grid."""

from __future__ import annotations

from dataclasses import dataclass

from deskbase.notifications.models import Reason, Scope


@dataclass(frozen=True)
class Choice:
    scope: str
    in_app: bool
    mail: bool


# Reasons about a named person (the new assignee, the one mentioned): no scope to choose.
DIRECT = frozenset({Reason.ASSIGNED, Reason.MENTIONED})

DEFAULTS: dict[str, Choice] = {
    Reason.NEW_TICKET: Choice(Scope.TEAMS, in_app=True, mail=False),
    Reason.ASSIGNED: Choice(Scope.MINE, in_app=True, mail=True),
    Reason.CUSTOMER_REPLIED: Choice(Scope.MINE, in_app=True, mail=False),
    Reason.MENTIONED: Choice(Scope.MINE, in_app=True, mail=True),
    Reason.SLA_AT_RISK: Choice(Scope.MINE, in_app=True, mail=False),
    Reason.SLA_BREACHED: Choice(Scope.MINE, in_app=True, mail=True),
    Reason.REOPENED: Choice(Scope.MINE, in_app=True, mail=False),
}
