"""People named in a command: ``<@id>`` mentions and ``@name`` typed as text.

A platform writes a person it linked as ``<@id>`` (Slack's ``<@U123|name>``
arrives shortened to ``<@U123>``). Whether the text's ``<@id>`` really came
from the platform, and whether a plain ``@name`` names anyone, is for the
service to judge with what the adapter says it linked (``Context.mentioned``).
What is never a person is refused here: channels (``<#C1>``), broadcasts and
groups (``<!here>``, ``<!subteam^S1>``), and words without an ``@``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.errors import GrammarError

_PERSON_RE = re.compile(r"<@([A-Za-z0-9._:\-]+)(?:\|[^<>]*)?>|@([^\s,<>@|]+)")
_NOT_A_PERSON_RE = re.compile(r"<[#!][^<>\s]*>")
_SEPARATORS_RE = re.compile(r"[\s,]+")


@dataclass(frozen=True, slots=True)
class Person:
    """Someone a command names: ``<@id>`` (``mention``: linked by the platform, as
    far as the text goes) or ``@name`` typed as plain text; ``typed`` as written."""

    id: str
    typed: str
    mention: bool


def parse_people(text: str, *, said: str, hint: str) -> tuple[Person, ...]:
    """Mentions separated by spaces or commas, each person once (in order)."""
    people: dict[str, Person] = {}
    position = 0
    while True:
        separator = _SEPARATORS_RE.match(text, position)
        if separator is not None:
            position = separator.end()
        if position >= len(text):
            break
        match = _PERSON_RE.match(text, position)
        if match is None:
            token = text[position:].split(maxsplit=1)[0]
            what = "is a channel or a group, not a person" if _NOT_A_PERSON_RE.match(token) else ""
            shown = token if len(token) <= 40 else token[:37] + "..."
            raise GrammarError(
                f'"{shown}" in {said} {what or "is not a mention of a person"}: '
                "mention each person, e.g. @legal @policy. Nothing was done.",
                hint=hint,
            )
        person_id = match.group(1) or match.group(2)
        people.setdefault(person_id, Person(person_id, match.group(0), match.group(1) is not None))
        position = match.end()
    return tuple(people.values())
