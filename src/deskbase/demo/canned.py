"""The demo desk's canned responses: (name, body), with the placeholders of
deskbase.tickets.canned (`{{ customer.name }}`, `{{ organization.name }}` ...)."""

from __future__ import annotations

# Shared: every agent of the organization may use them (an admin manages them).
CANNED_SHARED: tuple[tuple[str, str], ...] = (
    ("Greeting",
     "Hi {{ customer.name }},\n\nthank you for contacting {{ organization.name }} support. "
     "Your request has the number #{{ ticket.number }}; I am looking into it now."),
    ("Resolved: reply to reopen",
     "I am marking this ticket as resolved. If anything is still not right, just reply to "
     "this message and the ticket opens again.\n\nBest regards,\n{{ agent.name }}\n"
     "{{ organization.name }} support"),
    ("Closing: no reply",
     "Hi {{ customer.name }},\n\nwe have not heard back from you, so we are closing "
     "ticket #{{ ticket.number }} for now. You can open a new ticket at any time if you "
     "still need help.\n\n{{ organization.name }} support"),
    ("Escalated to engineering",
     "Hi {{ customer.name }},\n\nI have passed \"{{ ticket.subject }}\" to our engineering "
     "team together with your details. I will update this ticket as soon as I hear back "
     "from them."),
    ("Need more details",
     "Hi {{ customer.name }},\n\nto look into this further, could you send us the time it "
     "happened (with your time zone), a screenshot of any error message and the browser "
     "or app version you use?\n\nThanks,\n{{ agent.name }}"),
)  # fmt: skip

# The demo agent's own: only they see and use it.
CANNED_PERSONAL: tuple[tuple[str, str], ...] = (
    ("Checking in",
     "Hi {{ customer.name }}, just checking in on ticket #{{ ticket.number }}: did the "
     "steps above work for you? If I don't hear back I will follow up in a couple of "
     "days.\n\n{{ agent.name }}, {{ organization.name }}"),
)  # fmt: skip
