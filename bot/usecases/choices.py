"""Choices for a vague time: buttons that carry the user, the command and an expiry.

``"Friday evening"`` is never guessed (``bot.when.VagueTime``): the person who
typed it gets one button per reading, each carrying the whole command with an
exact time in place of the vague one (and, in the shell, that command to
type). A click is re-parsed and re-checked exactly like the typed command, by
the person it was offered to, before it expires; of one prompt's choices one
runs, once. The ledger of answered prompts is kept in memory: a second click
reaching another replica is not caught here (a time choice repeated there is
refused by ``extend`` and ``move`` themselves, as no change; a repeated ``add``
is not).
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from bot import views
from bot.domain import Context
from bot.errors import VagueTime
from bot.grammar import AddDeadline, ExtendDeadline, MoveDeadline, command_text
from bot.messages import Message

CHOICE_TTL = timedelta(minutes=15)


@dataclass(frozen=True, slots=True)
class TimeChoice:
    """What one choice button carries."""

    user_id: str  # only they may use it
    channel_id: str  # where the command was typed, and so where it runs
    command: str  # "deadline"
    text: str  # "add Offer due 2026-12-04T18:00-05:00"
    expires_at: datetime
    prompt: str  # shared by the choices of one prompt: one of them runs, once

    def encode(self) -> str:
        return json.dumps(
            {
                "u": self.user_id,
                "c": self.channel_id,
                "m": self.command,
                "t": self.text,
                "x": int(self.expires_at.timestamp()),
                "k": self.prompt,
            },
            separators=(",", ":"),
        )

    @classmethod
    def decode(cls, value: str) -> TimeChoice:
        """Raises ``ValueError`` for anything that is not a choice Parley made."""
        try:
            data = json.loads(value)
            return cls(
                user_id=str(data["u"]),
                channel_id=str(data["c"]),
                command=str(data["m"]),
                text=str(data["t"]),
                expires_at=datetime.fromtimestamp(int(data["x"]), UTC),
                prompt=str(data["k"]),
            )
        except (TypeError, KeyError, OverflowError, OSError, json.JSONDecodeError) as error:
            raise ValueError("not a time choice") from error


class ChoiceLedger:
    """Prompts already answered, until they expire."""

    def __init__(self) -> None:
        self._taken: dict[str, datetime] = {}

    def take(self, choice: TimeChoice, *, now: datetime) -> bool:
        """Claim ``choice``'s prompt; False if one of its choices already ran."""
        self._taken = {k: expiry for k, expiry in self._taken.items() if expiry > now}
        if choice.prompt in self._taken:
            return False
        self._taken[choice.prompt] = choice.expires_at
        return True

    def give_back(self, choice: TimeChoice) -> None:
        """The choice did not run (refused on re-checking): its prompt may be answered again."""
        self._taken.pop(choice.prompt, None)


def offer(
    vague: VagueTime,
    *,
    ctx: Context,
    command: AddDeadline | ExtendDeadline | MoveDeadline,
    now: datetime,
) -> Message:
    """The choices for ``vague``, each the whole ``command`` with an exact time."""
    prompt = secrets.token_hex(8)
    expires_at = now + CHOICE_TTL
    buttons: list[tuple[str, str, str]] = []
    for label, exact in vague.choices:
        text = command_text(replace(command, when=exact))
        choice = TimeChoice(ctx.user_id, ctx.channel_id, "deadline", text, expires_at, prompt)
        buttons.append((label, choice.encode(), f"/deadline {text}"))
    return views.time_choices(
        vague.message, user_id=ctx.user_id, choices=buttons, expires_in=CHOICE_TTL
    )
