"""`@name` in an internal note: which agents of the note's organization it names."""

from __future__ import annotations

import re

from django.db import connection

from deskbase.accounts.models import STAFF_ROLES

# "@alice", "@alice.smith", "@alice@acme.example", "@AliceSmith": not "bob@acme" (an address).
MENTION = re.compile(r"(?<![\w.@])@([A-Za-z0-9][\w.+-]*(?:@[\w-]+(?:\.[\w-]+)+)?)")
MAX_MENTIONS = 20

# An agent is named by their full e-mail address, the part before its @, their full name
# without spaces, or their first name. Only active staff of the organization: never a
# customer, never another tenant's person (the organization filter and row-level security).
_MENTIONED = """
SELECT u.id FROM accounts_user u
WHERE u.organization_id = %(org)s AND u.role = ANY(%(staff)s) AND u.is_active
  AND u.deleted_at IS NULL
  AND (lower(u.email) = ANY(%(names)s)
       OR lower(split_part(u.email, '@', 1)) = ANY(%(names)s)
       OR lower(replace(u.full_name, ' ', '')) = ANY(%(names)s)
       OR lower(split_part(u.full_name, ' ', 1)) = ANY(%(names)s))
ORDER BY u.id
"""


def names_in(text: str) -> list[str]:
    """The mentioned names, lower-cased, each once, at most MAX_MENTIONS."""
    found = [m.rstrip(".").lower() for m in MENTION.findall(text or "")]
    return list(dict.fromkeys(n for n in found if n))[:MAX_MENTIONS]


def mentioned_agents(organization_id: int, text: str) -> list[int]:
    """The ids of the agents `text` mentions (one query; none when it mentions no one)."""
    names = names_in(text)
    if not names:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            _MENTIONED,
            {"org": organization_id, "staff": [str(r) for r in STAFF_ROLES], "names": names},
        )
        return [row[0] for row in cursor.fetchall()]
