"""A deadline's history as lines of text: what ``/deadline show`` lists under *History*.

One line per event, newest last, each stamped with a ``moment`` (every viewer
reads it in their own zone). A recorded position shows its terms as they were
then, so red lines that change can be followed; a recording that emptied them
says "terms cleared". Long terms are cut (the matrix shows them whole).
The brief's timeline (``bot.brief``) words events with the same ``event_text``,
adding how a position's terms changed (``event_with_change``): whatever history
hides, the brief hides too.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.domain import Event, EventKind
from bot.messages import moment
from bot.sealing import short

TERMS_SHOWN = 200  # characters of a position's terms in one history line


def _mention(user_id: str) -> str:
    return f"<@{user_id}>"  # the message model's mention (bot.messages.MENTION)


def _names(values: object) -> list[str]:
    """Silent parties by name and people by mention, as stored (``bot.alert_jobs``)."""
    return [str(v) for v in values] if isinstance(values, list) else []


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
        text = event_text(event, terms_before)
        lines.append(f"{moment(event.at, tz)} — {text}")
    return lines


def terms_diff(before: str, after: str) -> str:
    """How a position's terms changed: the words taken out and put in between what the
    two texts share at their start and at their end (cheap enough for any history)."""
    if before == after:
        return ""
    if not before:
        return f"terms: {after}"
    if not after:
        return f"terms cleared (were: {before})"
    old, new = before.split(), after.split()
    start = 0
    while start < min(len(old), len(new)) and old[start] == new[start]:
        start += 1
    end = 0
    while end < min(len(old), len(new)) - start and old[-1 - end] == new[-1 - end]:
        end += 1
    removed = " ".join(old[start : len(old) - end])
    added = " ".join(new[start : len(new) - end])
    parts = [f"removed “{removed}”"] if removed else []
    parts += [f"added “{added}”"] if added else []
    return "terms " + "; ".join(parts) if parts else "terms re-spaced"


def event_with_change(event: Event, terms_before: dict[str, str]) -> tuple[str, str]:
    """``event_text``, and for a recorded position that changed earlier terms, how they
    changed (``terms_diff``); the brief's timeline shows both."""
    change = ""
    if event.kind is EventKind.POSITION_RECORDED:
        before = terms_before.get(str(event.data.get("stakeholder", "")), "")
        # The first terms are in the text already; a change says what changed.
        change = terms_diff(before, str(event.data.get("terms", ""))) if before else ""
    return event_text(event, terms_before), change


def event_text(event: Event, terms_before: dict[str, str]) -> str:
    """One event as text (mentions and moments in the message model's markup);
    ``terms_before`` holds each stakeholder's terms so far, and is updated."""
    who = _mention(event.actor_id)
    data = event.data
    reason = f" because {data['reason']}" if data.get("reason") else ""
    old = _instant(data.get("from"), data.get("from_local"))
    new = _instant(data.get("to"), data.get("to_local"))
    match event.kind:
        case EventKind.CREATED:
            due = _instant(data.get("due_at"), data.get("due_local"))
            sealed = ", positions sealed" if data.get("sealed") else ""
            silence = f", silence rule {data['silence']}" if data.get("silence") else ""
            return f"created by {who}, due {due}{sealed}{silence}"
        case EventKind.EXTENDED if data.get("by_silence"):
            silent = ", ".join(_names(data.get("silent", [])))
            return f"extended by the silence rule from {old} to {new}; silent: {silent}"
        case EventKind.EXTENDED:
            return f"extended by {who} from {old} to {new}{reason}"
        case EventKind.MOVED:
            return f"moved {data.get('direction', '')} by {who} from {old} to {new}{reason}"
        case EventKind.COMPLETED:
            return f"marked done (met) by {who}{reason}"
        case EventKind.CANCELLED:
            return f"cancelled by {who}"
        case EventKind.MISSED:
            return "passed without being marked done (missed)"
        case EventKind.REMINDERS_CHANGED:
            return f"reminders set to {data.get('offsets', '')} by {who}"
        case EventKind.POSITION_RECORDED if data.get("sealed") and "stance" not in data:
            seal = f" (commitment `{short(str(data.get('commitment', '')))}`)"
            return f"{data.get('label', '')} recorded a sealed position{seal} (by {who})"
        case EventKind.POSITION_RECORDED if data.get("by_silence"):
            return f"{data.get('label', '')}: {data.get('stance', '')} (by silence)"
        case EventKind.POSITION_RECORDED:
            stakeholder, terms = str(data.get("stakeholder", "")), str(data.get("terms", ""))
            shown = _terms(terms, terms_before.get(stakeholder, ""))
            terms_before[stakeholder] = terms
            seal = (
                f", commitment `{short(str(data['commitment']))}`" if data.get("commitment") else ""
            )
            stance = f"{data.get('stance', '')}{shown}"
            return f"{data.get('label', '')}: {stance} (recorded by {who}{seal})"
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
        case EventKind.SEALED:
            return f"positions sealed by {who}"
        case EventKind.SILENCE_CHANGED:
            return f"silence rule set to {data.get('rule', '')} by {who}"
        case EventKind.NUDGED:
            reached = [*data.get("parties", []), *(_mention(u) for u in data.get("people", []))]
            return f"{who} nudged the silent: {', '.join(reached) or 'nobody'}"
        case EventKind.REVEALED:
            return f"sealed positions revealed ({data.get('count', 0)})"
        case EventKind.OFFER_RECORDED:
            party = f" from {data['party']}" if data.get("party") else ""
            link = f" ({data['host']})" if data.get("host") else ""
            offer = f"O{data.get('version', '?')}: {data.get('title', '')}{link}{party}"
            return f"offer {offer} (recorded by {who})"
