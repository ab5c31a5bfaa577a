"""A ``bot.brief.Brief`` as one HTML page: semantic sections, no framework, everything
escaped. The style and the few lines of script are inline, allowed by their hashes
(``CONTENT_SECURITY_POLICY``): the page loads nothing else, and its offer links
carry ``rel="noreferrer noopener"`` so that the secret URL never leaves it.

The page reads completely without script: every time is written in its
deadline's zone, and the script only adds each countdown in the viewer's zone.
A print stylesheet keeps it to a page or two (the timeline prints its 40 newest
entries).
"""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime
from html import escape
from importlib import resources
from string import Template

from bot.brief import Brief, BriefCell, BriefDeadline, BriefEntry, BriefOffer

_FILES = resources.files("adapters.brief") / "templates"
_PAGE = Template((_FILES / "page.html").read_text("utf-8"))
_STYLE = (_FILES / "brief.css").read_text("utf-8")
_SCRIPT = (_FILES / "brief.js").read_text("utf-8")
PRINTED_ENTRIES = 40  # the print stylesheet's cut of the timeline


def _hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


CONTENT_SECURITY_POLICY = (
    f"default-src 'none'; style-src {_hash(_STYLE)}; script-src {_hash(_SCRIPT)}; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


def _iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")  # digits, "-", ":", "T", "Z" and "."


def render_page(brief: Brief, *, token_path: str) -> str:
    """The page; ``token_path`` is the page's own path (for its JSON and .ics links)."""
    sections = [
        _deadlines(brief.deadlines),
        _matrix(brief),
        _offers(brief.offers),
        _timeline(brief.timeline),
    ]
    return _PAGE.substitute(
        title=escape(brief.title),
        style=_STYLE,
        script=_SCRIPT,
        generated_iso=_iso(brief.generated_at),
        generated_local=escape(brief.generated_at.strftime("%a %d %b %Y %H:%M UTC")),
        json_link=escape(f"{token_path}?format=json"),
        ics_link=escape(f"{token_path}?format=ics"),
        body="\n".join(sections),
    )


def _deadlines(deadlines: tuple[BriefDeadline, ...]) -> str:
    items = "".join(_deadline(d) for d in deadlines)
    body = f'<ul class="deadlines">{items}</ul>' if items else '<p class="empty">No deadlines.</p>'
    return _section("deadlines", "Deadlines", body)


def _section(key: str, heading: str, body: str) -> str:
    return (
        f'<section id="{key}" aria-labelledby="h-{key}">'
        f'<h2 id="h-{key}">{heading}</h2>{body}</section>'
    )


def _deadline(d: BriefDeadline) -> str:
    due = (
        f'<p class="due">Due <time datetime="{_iso(d.due_at)}">{escape(d.due_local)}</time> '
        f'<span class="zone">({escape(d.tz)})</span></p>'
    )
    if d.open:
        left = f'<p class="left">{escape(d.time_left)}</p>'
        due += '<p class="viewer" hidden></p>'
        attributes = f' data-due="{_iso(d.due_at)}"'
    else:
        left, attributes = "", ""
    offer = f"<p>On the table: {escape(d.offer)}</p>" if d.offer else ""
    silent = f"<p>Silent: {escape(', '.join(d.silent))}</p>" if d.silent else ""
    return (
        f'<li class="deadline" id="deadline-{escape(d.ref)}" data-ref="{escape(d.ref)}"'
        f"{attributes}><h3>{escape(d.ref)} {escape(d.title)}</h3>{left}{due}"
        f'<p>Status: <span class="status">{escape(d.status)}</span></p>{offer}{silent}</li>'
    )


def _matrix(brief: Brief) -> str:
    head = "".join(
        f'<th scope="col">{escape(d.ref)} <span class="muted">{escape(d.title)}</span></th>'
        for d in brief.deadlines
    )
    rows = "".join(
        f'<tr><th scope="row">{escape(row.label)}</th>'
        + "".join(_cell(cell) for cell in row.cells)
        + "</tr>"
        for row in brief.rows
    )
    if not rows:
        table = '<p class="empty">No positions yet, and nobody is expected.</p>'
    else:
        table = (
            '<div class="scroll" tabindex="0" role="region" aria-labelledby="h-matrix">'
            "<table><caption>Each party's stance, terms and the offer it answers; "
            "silent: expected or asked, and no position yet.</caption>"
            f'<thead><tr><th scope="col">Party</th>{head}</tr></thead>'
            f"<tbody>{rows}</tbody></table></div>"
        )
    return _section("matrix", "Positions", table)


def _cell(cell: BriefCell | None) -> str:
    if cell is None:
        return '<td><span class="muted">—</span></td>'
    if cell.stance is None:
        return '<td class="silent">Silent</td>' if cell.silent else "<td></td>"
    offer = ""
    if cell.offer:
        stale = " stale" if cell.stale else ""
        note = " (an older offer)" if cell.stale else ""
        offer = f'<span class="offer{stale}">on {escape(cell.offer)}{note}</span>'
    elif cell.stale:
        offer = '<span class="offer stale">before any offer</span>'
    terms = f'<p class="terms">{escape(cell.terms)}</p>' if cell.terms else ""
    if cell.commitment:  # sealed: the commitment stands for the withheld stance and terms
        terms = f'<p class="commitment">commitment <code>{escape(cell.commitment[:8])}…</code></p>'
    return (
        f'<td class="{escape(cell.stance)}"><span class="stance">{escape(cell.stance)}</span> '
        f"{offer}{terms}</td>"
    )


def _offers(offers: tuple[BriefOffer, ...]) -> str:
    items = "".join(_offer(o) for o in offers)
    body = f'<ol class="offers">{items}</ol>' if items else '<p class="empty">No offers yet.</p>'
    return _section("offers", "Offers", body)


def _offer(o: BriefOffer) -> str:
    title = escape(o.title)
    if o.url:
        title = (
            f'<a href="{escape(o.url)}" rel="noreferrer noopener" target="_blank">{title}</a> '
            f'<span class="muted">({escape(o.host)})</span>'
        )
    party = f" from {escape(o.party)}" if o.party else ""
    return (
        f'<li><span class="ref">{escape(o.deadline)} {escape(o.ref)}</span> {title}{party} '
        f'<span class="when">— {escape(o.recorded_local)}</span></li>'
    )


def _timeline(entries: tuple[BriefEntry, ...]) -> str:
    items = "".join(_entry(e) for e in entries)
    if not items:
        return _section("timeline", "Timeline", '<p class="empty">Nothing yet.</p>')
    cut = (
        f'<p class="print-only muted">Printed: the {PRINTED_ENTRIES} newest of '
        f"{len(entries)} entries.</p>"
        if len(entries) > PRINTED_ENTRIES
        else ""
    )
    return _section(
        "timeline",
        'Timeline <span class="muted">(newest first)</span>',
        f'<ol class="timeline" reversed>{items}</ol>{cut}',
    )


def _entry(e: BriefEntry) -> str:
    # The kind, the ref (D<n>), the instant and its local text are Parley's own words.
    detail = f'<p class="detail">{escape(e.detail)}</p>' if e.detail else ""
    return (
        f'<li data-kind="{e.kind}"><time class="when" datetime="{_iso(e.at)}">'
        f'{e.at_local}</time> <span class="ref">{e.deadline}</span> {escape(e.text)}{detail}</li>'
    )
