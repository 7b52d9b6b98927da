"""Subjects and bodies, built once per load into pools the ticket generator picks from.

Composing text word by word for millions of rows would cost more than everything
else together, so the load builds a few thousand subjects, paragraphs and replies
up front (each slot of each template drawn with Zipf weights from `vocab`) and a
ticket picks pool entries by index: a description is an opening paragraph and a
detail paragraph (millions of combinations), sometimes with a unique reference
(order number, error code) that gives full-text search its rare terms. Each entry
is stored COPY-escaped, as text and as the HTML `text_to_html` makes of it.
"""

from __future__ import annotations

import functools
import random
import re
from dataclasses import dataclass
from itertools import accumulate

from deskbase.core.sanitize import text_to_html
from deskbase.datagen import vocab
from deskbase.datagen.copytext import escape

ZIPF_S = 1.1
_SLOT = re.compile(r"\{(\w+)\}")
SLOTS: dict[str, tuple[str, ...]] = {
    "noun": vocab.NOUNS,
    "symptom": vocab.SYMPTOMS,
    "action": vocab.ACTIONS,
    "context": vocab.CONTEXTS,
    "error": vocab.ERRORS,
    "finding": vocab.FINDINGS,
    "fix": vocab.FIXES,
    "location": vocab.LOCATIONS,
    "plan": vocab.PLANS,
    "team": vocab.TEAM_WORDS,
    "cause": vocab.CAUSES,
    "request": vocab.REQUESTS,
    "urgency": vocab.URGENCY,
}


class Zipf:
    """Draws from a sequence ordered common-first with weight 1/rank^s."""

    def __init__(self, items: tuple[str, ...] | list[str], s: float = ZIPF_S) -> None:
        self.items = list(items)
        self.cum = list(accumulate(1.0 / (rank**s) for rank in range(1, len(items) + 1)))

    def __call__(self, rng: random.Random) -> str:
        return rng.choices(self.items, cum_weights=self.cum)[0]


@dataclass(frozen=True)
class Entry:
    """One pool entry: COPY-escaped plain text and its HTML."""

    text: str
    html: str


def _entry(plain: str) -> Entry:
    return Entry(escape(plain), escape(text_to_html(plain)))


class Writer:
    """Fills templates; every slot is drawn again (two {noun} slots get two nouns)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.slots = {name: Zipf(items) for name, items in SLOTS.items()}
        self._templates: dict[tuple[str, ...], Zipf] = {}

    def fill(self, template: str) -> str:
        return _SLOT.sub(lambda match: self.slots[match.group(1)](self.rng), template)

    def template(self, templates: tuple[str, ...]) -> str:
        if templates not in self._templates:
            self._templates[templates] = Zipf(templates, s=0.8)
        return self._templates[templates](self.rng)

    def sentences(self, templates: tuple[str, ...], low: int, high: int) -> str:
        count = self.rng.randint(low, high)
        return " ".join(self.fill(self.template(templates)) for _ in range(count))

    def subject(self) -> str:
        text = self.fill(self.template(vocab.SUBJECT_TEMPLATES))
        return text[0].upper() + text[1:]

    def opening(self) -> str:
        greeting = self.rng.choice(vocab.GREETINGS_CUSTOMER)
        body = self.sentences(vocab.CUSTOMER_SENTENCES, 1, 3)
        return f"{greeting}\n\n{body}" if greeting else body

    def staff_reply(self) -> str:
        greeting = self.rng.choice(vocab.GREETINGS_STAFF)
        closing = self.rng.choice(vocab.CLOSINGS_STAFF)
        body = self.sentences(vocab.STAFF_SENTENCES, 1, 3)
        return f"{greeting}\n\n{body}\n\n{closing},\nthe support team"


@dataclass
class Pools:
    subjects: list[str]  # escaped
    openings: list[Entry]
    details: list[Entry]
    staff: list[Entry]
    customer: list[Entry]
    internal: list[Entry]
    system: list[Entry]
    csat: list[str]  # escaped


@functools.cache
def build_pools(seed: int, scale: int = 1) -> Pools:
    """The pools for one load (read-only; cached); `scale` shrinks them for tiny loads."""
    rng = random.Random(f"datagen-text-{seed}")  # noqa: S311 - reproducible fake text
    write = Writer(rng)
    size = max(1, scale)
    return Pools(
        subjects=[escape(write.subject()) for _ in range(4000 // size)],
        openings=[_entry(write.opening()) for _ in range(3000 // size)],
        details=[
            _entry(write.sentences(vocab.CUSTOMER_SENTENCES, 1, 3)) for _ in range(3000 // size)
        ],
        staff=[_entry(write.staff_reply()) for _ in range(3000 // size)],
        customer=[
            _entry(write.sentences(vocab.CUSTOMER_SENTENCES, 1, 2)) for _ in range(2000 // size)
        ],
        internal=[
            _entry(write.sentences(vocab.INTERNAL_SENTENCES, 1, 2)) for _ in range(1000 // size)
        ],
        system=[_entry(note) for note in vocab.SYSTEM_NOTES],
        csat=[escape(comment) for comment in vocab.CSAT_COMMENTS],
    )


def reference(rng: random.Random) -> str:
    """A unique-ish token for full-text search's rare terms (no characters COPY escapes)."""
    kind = rng.random()
    if kind < 0.4:
        return f"Order ORD-{rng.randrange(100_000, 1_000_000)}"
    if kind < 0.7:
        return f"Invoice INV-{rng.randrange(2019, 2027)}-{rng.randrange(10_000, 100_000)}"
    if kind < 0.9:
        return f"Error code E{rng.randrange(1000, 10_000)}"
    return f"Request id {rng.getrandbits(40):010x}"
