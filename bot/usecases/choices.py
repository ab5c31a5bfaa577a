"""Choices for a vague time: buttons that carry the user, the command and an expiry.

``"Friday evening"`` is never guessed (``bot.when.VagueTime``): the person who
typed it gets one button per reading, each carrying the whole command with an
exact time in place of the vague one (and, in the shell, that command to
type). A click is re-parsed and re-checked exactly like the typed command, by
the person it was offered to, before it expires, in the conversation where it
was typed (Teams shows the choices in the person's 1:1 chat with Parley).

A button's value is signed: HMAC-SHA256 with the deployment's ``buttons``
secret (``ReplayStore.deployment_secret``, shared by the replicas through the
database), over every field, the conversation where the command runs and the
expiry included. A value that was altered (a Teams client builds the data of a
submit itself) is refused, and says so.

Of one prompt's choices one runs, once: the prompt is an idempotency key
(``bot.once``) claimed in the database in the command's own write
transaction, so a second click reaching another replica is refused, and a
choice whose command failed or was refused may be picked again.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from bot import once, views
from bot.domain import Context
from bot.errors import InvalidInput, VagueTime
from bot.grammar import AddDeadline, ExtendDeadline, MoveDeadline, command_text
from bot.messages import Message

CHOICE_TTL = timedelta(minutes=15)
SECRET_NAME = "buttons"  # the deployment secret that signs choices
ALTERED = (
    "That button's value was changed after Parley made it, so nothing was done. "
    "Type the command yourself."
)
USED = "One of these choices has already been used."


@dataclass(frozen=True, slots=True)
class TimeChoice:
    """What one choice button carries."""

    workspace_id: str
    user_id: str  # only they may use it
    channel_id: str  # where the command was typed, and so where it runs
    direct: bool  # that conversation is a direct one (``Context.direct``)
    command: str  # "deadline"
    text: str  # "add Offer due 2026-12-04T18:00-05:00"
    expires_at: datetime
    prompt: str  # shared by the choices of one prompt: one of them runs, once

    def _fields(self) -> dict[str, object]:
        return {
            "w": self.workspace_id,
            "u": self.user_id,
            "c": self.channel_id,
            "d": int(self.direct),
            "m": self.command,
            "t": self.text,
            "x": int(self.expires_at.timestamp()),
            "k": self.prompt,
        }

    def encode(self, secret: bytes) -> str:
        fields = self._fields()
        return json.dumps({**fields, "s": _sign(fields, secret)}, separators=(",", ":"))

    @classmethod
    def decode(cls, value: str, secret: bytes) -> TimeChoice:
        """Raises ``ValueError`` for anything that is not a choice, and ``InvalidInput``
        for one whose signature does not match what it carries."""
        try:
            data = json.loads(value)
            signature = str(data.pop("s"))
            choice = cls(
                workspace_id=str(data["w"]),
                user_id=str(data["u"]),
                channel_id=str(data["c"]),
                direct=bool(int(data["d"])),
                command=str(data["m"]),
                text=str(data["t"]),
                expires_at=datetime.fromtimestamp(int(data["x"]), UTC),
                prompt=str(data["k"]),
            )
        except (
            TypeError,
            KeyError,
            ValueError,
            AttributeError,
            OverflowError,
            OSError,
            RecursionError,
        ) as error:
            raise ValueError("not a time choice") from error
        # As bytes: compare_digest refuses str with non-ASCII characters.
        expected = _sign(choice._fields(), secret).encode()
        if not hmac.compare_digest(signature.encode(), expected):
            raise InvalidInput(ALTERED)
        return choice

    def key(self, now: datetime) -> once.Key:
        """The prompt's idempotency key: one choice of the prompt runs."""
        digest = hashlib.sha256(f"time-choice\n{self.prompt}".encode()).hexdigest()
        return once.Key(digest, now=now, expires_at=self.expires_at, refusal=USED)


def _sign(fields: dict[str, object], secret: bytes) -> str:
    body = json.dumps(fields, separators=(",", ":"), sort_keys=True).encode()
    return hmac.new(secret, body, hashlib.sha256).hexdigest()


def new_secret() -> str:
    """A secret to offer when the deployment has none yet (256 bits, hex)."""
    return secrets.token_hex(32)


def offer(
    vague: VagueTime,
    *,
    ctx: Context,
    command: AddDeadline | ExtendDeadline | MoveDeadline,
    now: datetime,
    secret: bytes,
) -> Message:
    """The choices for ``vague``, each the whole ``command`` with an exact time."""
    prompt = secrets.token_hex(8)
    expires_at = now + CHOICE_TTL
    buttons: list[tuple[str, str, str]] = []
    for label, exact in vague.choices:
        text = command_text(replace(command, when=exact))
        choice = TimeChoice(
            workspace_id=ctx.workspace_id,
            user_id=ctx.user_id,
            channel_id=ctx.channel_id,
            direct=ctx.direct,
            command="deadline",
            text=text,
            expires_at=expires_at,
            prompt=prompt,
        )
        buttons.append((label, choice.encode(secret), f"/deadline {text}"))
    return views.time_choices(
        vague.message, user_id=ctx.user_id, choices=buttons, expires_in=CHOICE_TTL
    )
