"""A deadline's history as lines of text: what ``/deadline show`` lists under *History*.

One line per event, newest last, each stamped with a ``moment`` (every viewer
reads it in their own zone). A recorded position shows its terms as they were
then, so red lines that change can be followed; a recording that emptied them
says "terms cleared". Long terms are cut (the matrix shows them whole).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.domain import Event, EventKind
from bot.messages import moment

TERMS_SHOWN = 200  # characters of a position's terms in one history line


def _mention(user_id: str) -> str:
    return f"<@{user_id}>"  # the message model's mention (bot.messages.MENTION)


def _instant(value: object, written: object) -> str:
    """A stored ISO instant as a ``moment``, written as it was stored for readers with no zone."""
    try:
        at = datetime.fromisoformat(str(value))
    except ValueError:
        return str(written or "")
    if at.tzinfo is None:
        return str(written or value)
    return moment(at, "UTC", str(written or ""))


def _terms(terms: str, before: str) -> str:
    if not terms:
        return ", terms cleared" if before else ""
    flat = " ".join(terms.split())
    return " — " + (flat if len(flat) <= TERMS_SHOWN else flat[: TERMS_SHOWN - 1] + "…")


def history_lines(events: Sequence[Event], tz: str) -> list[str]:
    """Every event as a line, in order (the caller cuts the list)."""
    terms_before: dict[str, str] = {}
    lines = []
    for event in events:
        text = _event_text(event, terms_before)
        lines.append(f"{moment(event.at, tz)} — {text}")
    return lines


def _event_text(event: Event, terms_before: dict[str, str]) -> str:
    who = _mention(event.actor_id)
    data = event.data
    reason = f" because {data['reason']}" if data.get("reason") else ""
    old = _instant(data.get("from"), data.get("from_local"))
    new = _instant(data.get("to"), data.get("to_local"))
    match event.kind:
        case EventKind.CREATED:
            return f"created by {who}, due {_instant(data.get('due_at'), data.get('due_local'))}"
        case EventKind.EXTENDED:
            return f"extended by {who} from {old} to {new}{reason}"
        case EventKind.MOVED:
            return f"moved {data.get('direction', '')} by {who} from {old} to {new}{reason}"
        case EventKind.COMPLETED:
            return f"marked done (met) by {who}"
        case EventKind.CANCELLED:
            return f"cancelled by {who}"
        case EventKind.MISSED:
            return "passed without being marked done (missed)"
        case EventKind.REMINDERS_CHANGED:
            return f"reminders set to {data.get('offsets', '')} by {who}"
        case EventKind.POSITION_RECORDED:
            stakeholder, terms = str(data.get("stakeholder", "")), str(data.get("terms", ""))
            shown = _terms(terms, terms_before.get(stakeholder, ""))
            terms_before[stakeholder] = terms
            return f"{data.get('label', '')}: {data.get('stance', '')}{shown} (recorded by {who})"
        case EventKind.POSITIONS_ASKED:
            asked = ", ".join(_mention(u) for u in data.get("user_ids", []))
            return f"{who} asked {asked} for positions"
        case EventKind.OWNERS_CHANGED:
            if data.get("removed"):
                removed = ", ".join(_mention(u) for u in data["removed"])
                return f"{who} removed {removed} as owners"
            added = ", ".join(_mention(u) for u in data.get("added", []))
            return f"{who} added {added} as co-owners"
        case EventKind.EXPECTED_CHANGED:
            return f"{who} set the expected parties: {', '.join(data.get('parties') or ['none'])}"
        case EventKind.ESCALATION_CHANGED:
            ladder = data.get("ladder")
            return f"escalation set to {ladder} by {who}" if ladder else f"escalation off by {who}"
        case EventKind.OFFER_RECORDED:
            party = f" from {data['party']}" if data.get("party") else ""
            link = f" ({data['host']})" if data.get("host") else ""
            offer = f"O{data.get('version', '?')}: {data.get('title', '')}{link}{party}"
            return f"offer {offer} (recorded by {who})"
