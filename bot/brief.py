"""The negotiation brief: what a private brief page (``/deadline brief``) shows, as plain
values that ``adapters/brief.py`` renders as HTML or JSON.

A brief covers a channel's negotiation (every deadline of the channel) or one
deadline of it (``FeedScope`` of kind ``brief``, from ``bot.feeds``). It holds:

- each deadline, with its due time in its own zone and the time left while open;
- the matrix, parties × deadlines: each cell the party's stance, terms and the
  offer the stance answers ("on O1"), or the party's silence. Positions and the
  silent come from ``bot.usecases.positions.matrix_state``, the read behind the
  channel's own matrix, so a brief never shows what the channel cannot see;
- the offer versions, with their links and the links' hosts;
- the timeline, newest first: every history event (``bot.history`` words it, as
  ``/deadline show`` does; a recorded position adds how its terms changed), and
  the alerts sent.

Every time is written in its deadline's zone; the page may show the countdowns
in the viewer's zone too. ``Brief.as_json`` is the same data for ``?format=json``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from bot.domain import (
    Deadline,
    DeadlineStatus,
    Event,
    FeedScope,
    Offer,
    Party,
    Position,
    SentAlert,
    format_offset,
    negotiation_key,
    party_key,
    shown_events,
)
from bot.history import event_with_change
from bot.messages import (
    CHANNEL,
    MENTION,
    format_local,
    host,
    moments_as_written,
    time_left,
)
from bot.ports import FeedStore, NegotiationStore
from bot.usecases.positions import MatrixState, matrix_state
from bot.views import shown_status

DEADLINES_SHOWN = 200  # deadlines of one channel on a brief, the soonest due first


class BriefStore(NegotiationStore, FeedStore, Protocol):
    """What a brief reads: the negotiation, and the alerts sent (with the feeds' reads)."""


@dataclass(frozen=True, slots=True)
class BriefDeadline:
    """One deadline: a column of the matrix, and a countdown while it is open."""

    id: int
    ref: str
    title: str
    status: str
    tz: str
    due_at: datetime
    due_local: str  # in the deadline's zone
    time_left: str  # "2 days 4 hours left", or the status once closed
    open: bool
    offer: str  # the offer on the table: "O2 Best and final", or ""
    silent: tuple[str, ...]  # silent parties by name, then silent asked people


@dataclass(frozen=True, slots=True)
class BriefCell:
    """A party's (or person's) place on one deadline: a position, or silence."""

    stance: str | None  # None: no position recorded
    terms: str = ""
    offer: str = ""  # the offer the stance answers: "O1", "" when none was on the table
    stale: bool = False  # it answers an older offer than the one on the table
    silent: bool = False  # expected (or asked) and has not answered
    commitment: str = ""  # sealed until the reveal: stance "sealed", terms withheld


@dataclass(frozen=True, slots=True)
class BriefRow:
    label: str
    cells: tuple[BriefCell | None, ...]  # one per deadline; None: not concerned


@dataclass(frozen=True, slots=True)
class BriefOffer:
    deadline: str  # its deadline's ref
    ref: str
    title: str
    url: str | None
    host: str
    party: str
    recorded_local: str


@dataclass(frozen=True, slots=True)
class BriefEntry:
    """One line of the timeline."""

    at: datetime
    at_local: str  # in the deadline's zone
    deadline: str  # its deadline's ref
    kind: str  # an EventKind value, or "alert_sent"
    text: str
    detail: str = ""  # how a position's terms changed


@dataclass(frozen=True, slots=True)
class Brief:
    title: str
    generated_at: datetime
    deadlines: tuple[BriefDeadline, ...]
    rows: tuple[BriefRow, ...]
    offers: tuple[BriefOffer, ...]
    timeline: tuple[BriefEntry, ...]  # newest first

    def as_json(self) -> dict[str, Any]:
        """The same data for ``?format=json``: instants in ISO 8601 UTC."""
        refs = [deadline.ref for deadline in self.deadlines]
        return {
            "title": self.title,
            "generated_at": _iso(self.generated_at),
            "deadlines": [
                {
                    "ref": d.ref,
                    "title": d.title,
                    "status": d.status,
                    "tz": d.tz,
                    "due_at": _iso(d.due_at),
                    "due_local": d.due_local,
                    "time_left": d.time_left,
                    "offer": d.offer,
                    "silent": list(d.silent),
                }
                for d in self.deadlines
            ],
            "matrix": [
                {
                    "party": row.label,
                    "positions": {
                        ref: None if cell is None else _cell_json(cell)
                        for ref, cell in zip(refs, row.cells, strict=True)
                    },
                }
                for row in self.rows
            ],
            "offers": [
                {
                    "deadline": o.deadline,
                    "ref": o.ref,
                    "title": o.title,
                    "url": o.url,
                    "host": o.host,
                    "party": o.party,
                    "recorded": o.recorded_local,
                }
                for o in self.offers
            ],
            "timeline": [
                {
                    "at": _iso(e.at),
                    "at_local": e.at_local,
                    "deadline": e.deadline,
                    "kind": e.kind,
                    "text": e.text,
                    "detail": e.detail,
                }
                for e in self.timeline
            ],
        }


def _iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def _cell_json(cell: BriefCell) -> dict[str, Any]:
    return {
        "stance": cell.stance,
        "terms": cell.terms,
        "offer": cell.offer,
        "stale": cell.stale,
        "silent": cell.silent,
        "commitment": cell.commitment,
    }


def plain(text: str) -> str:
    """Message-model markup as plain text: people as @id, channels as #id, times as
    written in the deadline's zone."""
    if "<" not in text:
        return text
    if "<!at^" in text:
        text = moments_as_written(text)
    if "<#" in text:
        text = CHANNEL.sub(_channel, text)
    return MENTION.sub(_person, text)


def _person(match: re.Match[str]) -> str:
    return "@" + match[1]


def _channel(match: re.Match[str]) -> str:
    return "#" + match[1]


async def build_brief(*, store: BriefStore, scope: FeedScope, now: datetime) -> Brief | None:
    """The brief of ``scope``; None when its one deadline is gone."""
    ws = scope.workspace_id
    if scope.deadline_id is None:
        deadlines = await store.list_deadlines(
            workspace_id=ws, channel_id=scope.subject, limit=DEADLINES_SHOWN
        )
        title = f"Negotiation brief: #{scope.subject}"
    else:
        found = await store.get_deadline_by_id(workspace_id=ws, deadline_id=scope.deadline_id)
        if found is None or found.channel_id != scope.subject:
            return None
        deadlines = [found]
        title = f"Brief: {found.ref} {found.title}"
    deadlines.sort(key=lambda d: (d.due_at, d.number))
    states = [await matrix_state(store, ws, deadline) for deadline in deadlines]
    histories = [
        await store.list_events(workspace_id=ws, deadline_id=deadline.id) for deadline in deadlines
    ]
    alerts = await store.list_sent_alerts(workspace_id=ws, deadline_ids=[d.id for d in deadlines])
    parties = await store.list_parties(
        workspace_id=ws, negotiation=negotiation_key(ws, scope.subject)
    )
    return assemble_brief(
        title=title,
        now=now,
        parties=parties,
        deadlines=deadlines,
        states=states,
        histories=histories,
        alerts=alerts,
    )


def assemble_brief(
    *,
    title: str,
    now: datetime,
    deadlines: Sequence[Deadline],
    states: Sequence[MatrixState],
    histories: Sequence[Sequence[Event]],
    alerts: Sequence[SentAlert],
    parties: Sequence[Party] = (),
) -> Brief:
    """The brief of ``deadlines`` from what was read of them (a pure function);
    ``parties``, the negotiation's in declaration order, order the matrix."""
    timeline: list[BriefEntry] = []
    for deadline, events in zip(deadlines, histories, strict=True):
        timeline.extend(_entries(deadline, shown_events(deadline, events)))
    by_id = {deadline.id: deadline for deadline in deadlines}
    timeline.extend(_alert_entry(by_id[alert.deadline_id], alert) for alert in alerts)
    timeline.sort(key=lambda entry: entry.at, reverse=True)
    return Brief(
        title=title,
        generated_at=now,
        deadlines=tuple(
            _column(deadline, state, now) for deadline, state in zip(deadlines, states, strict=True)
        ),
        rows=_rows(states, [party.stakeholder for party in parties]),
        offers=tuple(
            _offer(deadline, offer)
            for deadline, state in zip(deadlines, states, strict=True)
            for offer in state.offers
        ),
        timeline=tuple(timeline),
    )


def _column(deadline: Deadline, state: MatrixState, now: datetime) -> BriefDeadline:
    status = shown_status(deadline, now)
    is_open = status is DeadlineStatus.OPEN
    latest = state.offers[-1] if state.offers else None
    return BriefDeadline(
        id=deadline.id,
        ref=deadline.ref,
        title=deadline.title,
        status=status.value,
        tz=deadline.tz,
        due_at=deadline.due_at,
        due_local=format_local(deadline.due_at, deadline.tz),
        time_left=time_left(deadline.due_at, now) if is_open else status.value,
        open=is_open,
        offer="" if latest is None else f"{latest.ref} {latest.title}",
        silent=(*state.silence.parties, *(f"@{user}" for user in state.silence.people)),
    )


def _cell(position: Position, latest: Offer | None) -> BriefCell:
    offer = f"O{position.offer}" if position.offer else ""
    stale = latest is not None and position.offer != latest.version
    if position.hidden:  # sealed until the reveal: only that it was recorded, and its commitment
        sealed = position.commitment or ""
        return BriefCell(stance="sealed", offer=offer, stale=stale, commitment=sealed)
    return BriefCell(stance=position.stance.value, terms=position.terms, offer=offer, stale=stale)


def _rows(states: Sequence[MatrixState], declared: Sequence[str]) -> tuple[BriefRow, ...]:
    """The declared parties in ``declared`` order, then other parties, then people, each
    in the order they first appear: each deadline's positions, then its silent."""
    labels: dict[str, str] = {}
    cells: dict[str, dict[int, BriefCell]] = {}
    for column, state in enumerate(states):
        latest = state.offers[-1] if state.offers else None
        found = [(p.stakeholder, plain(p.label), _cell(p, latest)) for p in state.positions]
        found += [
            (f"party:{party_key(name)}", name, BriefCell(stance=None, silent=True))
            for name in state.silence.parties
        ]
        found += [(u, f"@{u}", BriefCell(stance=None, silent=True)) for u in state.silence.people]
        for key, label, cell in found:
            labels.setdefault(key, label)
            cells.setdefault(key, {}).setdefault(column, cell)
    order = {key: index for index, key in enumerate(declared)}
    keys = sorted(
        labels, key=lambda key: (not key.startswith("party:"), order.get(key, len(order)))
    )
    return tuple(
        BriefRow(labels[key], tuple(cells[key].get(column) for column in range(len(states))))
        for key in keys
    )


def _offer(deadline: Deadline, offer: Offer) -> BriefOffer:
    return BriefOffer(
        deadline=deadline.ref,
        ref=offer.ref,
        title=offer.title,
        url=offer.url,
        host=host(offer.url) if offer.url else "",
        party=offer.party or "",
        recorded_local=format_local(offer.recorded_at, deadline.tz),
    )


def _entries(deadline: Deadline, events: Sequence[Event]) -> list[BriefEntry]:
    terms_before: dict[str, str] = {}
    entries = []
    for event in events:
        text, detail = event_with_change(event, terms_before)
        entries.append(
            BriefEntry(
                at=event.at,
                at_local=format_local(event.at, deadline.tz),
                deadline=deadline.ref,
                kind=event.kind.value,
                text=plain(text),
                detail=detail,
            )
        )
    return entries


def _alert_entry(deadline: Deadline, alert: SentAlert) -> BriefEntry:
    if alert.offset == timedelta(0):
        text = "alert sent: the deadline was reached"
    else:
        text = f"alert sent: {format_offset(alert.offset)} before the deadline"
    return BriefEntry(
        at=alert.sent_at,
        at_local=format_local(alert.sent_at, deadline.tz),
        deadline=deadline.ref,
        kind="alert_sent",
        text=text,
    )
