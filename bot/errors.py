"""One error tree for Parley.

::

    ParleyError
     ├── UserError                 a mistake in what someone typed; the message is fit for chat
     │    ├── GrammarError         the words do not match a command (says what would)
     │    ├── WhenError            a time that is unparseable, ambiguous or in the past
     │    │    └── VagueTime       "Friday evening", "5pm IST": nothing is done; choices offered
     │    ├── NotFound             an unknown deadline reference
     │    ├── AmbiguousReference   a title prefix that matches several deadlines
     │    ├── InvalidInput         too long, wrong state, not allowed ...
     │    └── FormError            a submitted form with per-field messages
     ├── StorageUnavailable        the database cannot be reached right now
     │    └── MigrationNeeded      its schema is older than this Parley: `parley migrate`
     ├── ConfigurationError        a setting that cannot work (caught at start)
     └── DeliveryError             a platform refused or failed to take a message
          ├── RateLimited          try again after ``retry_after`` seconds
          ├── TransientDelivery    5xx, timeouts: back off and retry
          └── PermanentDelivery    channel gone, bot removed: do not retry

Adapters translate platform exceptions into this tree; the core raises only these.
``chat_text`` is what a person is told about any error that reaches them.
"""

from __future__ import annotations

DATABASE_DOWN = (
    "Parley can't reach its database right now. Nothing was changed; try again in a minute."
)
MIGRATION_NEEDED = (
    "Parley's database needs an upgrade that whoever runs Parley must apply "
    "(`parley migrate`); nothing was changed."
)
UNEXPECTED = "Something went wrong inside Parley; the error is logged. Please try again."


class ParleyError(Exception):
    """Root of every error Parley raises on purpose."""


class UserError(ParleyError):
    """Something the user typed cannot be done; ``str(error)`` is shown to them.

    ``hint`` says how to fix the input (usually a usage line).
    """

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}\n{self.hint}" if self.hint else self.message


class GrammarError(UserError):
    """The text does not match any command form."""


class WhenError(UserError):
    """A due time that cannot be used: unparseable, ambiguous, or in the past."""


class VagueTime(WhenError):
    """A time that could mean several things ("Friday evening", "end of week", "5pm IST").

    Nothing is done. ``choices`` are ``(label, text)`` pairs: ``label`` is short
    enough for a button, ``text`` reads as exactly one time wherever it is typed.
    """

    def __init__(
        self, message: str, *, choices: tuple[tuple[str, str], ...], hint: str = ""
    ) -> None:
        super().__init__(message, hint=hint)
        self.choices = choices


class NotFound(UserError):
    """No deadline matches the reference in this workspace."""


class AmbiguousReference(UserError):
    """A title prefix matches more than one deadline."""


class InvalidInput(UserError):
    """Input that parses but breaks a rule (length, state, ordering)."""


class FormError(UserError):
    """A submitted form is invalid; ``errors`` maps field names to messages."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


class StorageUnavailable(ParleyError):
    """The database cannot be reached; the request may be retried later."""


class MigrationNeeded(StorageUnavailable):
    """The database's schema is older than this code's; ``str(error)`` says which
    revision it is at and which one is needed, for the operator's log."""


class ConfigurationError(ParleyError):
    """A configuration value that cannot work; raised at start with one clear line."""


class DeliveryError(ParleyError):
    """A chat platform did not accept a message."""


class RateLimited(DeliveryError):
    """The platform asked us to slow down for ``retry_after`` seconds."""

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class TransientDelivery(DeliveryError):
    """A failure that may pass (server error, timeout, connection reset)."""


class PermanentDelivery(DeliveryError):
    """A failure that retrying will not fix (channel gone, bot removed, bad token)."""


def chat_text(error: BaseException) -> str:
    """What to tell the person whose request ended in ``error``: a ``UserError``'s own
    message, that the database is away or needs an upgrade, or that something broke
    (the caller logs it)."""
    if isinstance(error, UserError):
        return str(error)
    if isinstance(error, MigrationNeeded):
        return MIGRATION_NEEDED
    if isinstance(error, StorageUnavailable):
        return DATABASE_DOWN
    return UNEXPECTED
