"""Private calendar feeds: secret URLs, who they show, and serving them fast.

``Feeds`` implements ``bot.service.FeedLinks`` (``/deadline feed [mine|revoke]``
and the "Add to calendar" link on deadline messages) and builds the documents
``adapters/feeds.py`` serves.

Tokens. A feed URL is ``PUBLIC_URL/calendar/<token>.ics`` with a token from
``secrets.token_urlsafe(32)`` (256 bits). Only its SHA-256 is stored, and a
request is matched by looking that hash up: an indexed equality lookup on a
hash of the secret leaks nothing useful through timing, and the stored hash is
compared once more with ``hmac.compare_digest``. Because the token itself is
not kept, Parley cannot show a channel's existing URL again: every
``/deadline feed`` issues a new token for the same scope and earlier ones keep
working (the alternative, keeping tokens encrypted, needs a key to manage and
makes a database leak a leak of working URLs). ``/deadline feed revoke``
revokes every token of the channel and issues a new one. Revocation is read
from the database on every request, so it takes effect at once on every replica.

Brief tokens. The brief page (``bot.brief``) has tokens of its own, made,
stored and checked the same way (kind ``brief``, the channel as subject, and a
deadline id when the page shows one deadline): a brief token opens no calendar
feed and a feed token no brief. ``/deadline brief revoke`` revokes every brief
token of the channel, those of single deadlines included.

Scopes. A channel feed shows that channel's deadlines; ``mine`` shows, for one
(workspace, user), the deadlines the user owns or was asked a position on, in
any channel of that workspace. Cancelled deadlines stay for 30 days.

Speed. A built feed is cached per scope. A request first reads the workspace's
newest write (one index lookup) and serves the cached document while it has not
moved; otherwise, and at least once a minute, a fingerprint of the feed's own
rows (counts, sums and maxima) says whether the feed really changed. Only then
are the rows loaded and the feed assembled from ``EventCache`` entries: only
changed deadlines are rendered again, and large batches of rendering, joining
and hashing run in a worker thread (``asyncio.to_thread``) so the event loop
keeps serving.

Event links. The single-event ``.ics`` behind "Add to calendar" is
``PUBLIC_URL/calendar/event/<uid>.<signature>.ics``: the deadline's random uid
and an HMAC-SHA256 of it (128 bits shown) under a secret of the deadline's
channel. That secret is made with the channel's first link and kept in the
database (not hashed: every message with the button needs it to sign);
``/deadline feed revoke`` deletes it, so every link posted in the channel so
far stops working with its feeds, and later links are signed with a new one.
A request is checked against the database every time, so a revocation holds
on every replica at once; a replica that made links recently keeps signing
with the secret it read for up to ``LINK_SECRET_FRESH`` (links it makes in
that time after a revocation elsewhere do not work: nothing is exposed, a
link is just dead). A uid alone, or a signature under another channel's
secret, opens nothing.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import re
import secrets
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.calendar import (
    CANCELLED_KEPT,
    CalendarDocument,
    EventCache,
    assemble,
    calendar_header,
    document,
    last_modified,
    render_event,
    timezones_for,
)
from bot.domain import (
    Context,
    Deadline,
    DeadlineState,
    DeadlineStatus,
    FeedKind,
    FeedScope,
    FeedToken,
)
from bot.errors import InvalidInput
from bot.ports import Clock, FeedStore

log = logging.getLogger("parley.feeds")

TOKEN_BYTES = 32
LINK_SECRET_BYTES = 32
LINK_SIGNATURE_CHARS = 32  # hex: 128 bits of the HMAC
# How long a replica signs event links with a channel secret it read, unasked.
LINK_SECRET_FRESH = timedelta(seconds=60)
LINK_SECRETS_KEPT = 4096
_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{32,128}")
_UID_SHAPE = re.compile(r"[A-Za-z0-9_-]{8,64}")
_SIGNATURE_SHAPE = re.compile(f"[0-9a-f]{{{LINK_SIGNATURE_CHARS}}}")
# Below this many events to render, rendering on the loop is cheaper than a thread hop.
THREAD_RENDER_AT = 64
# Above this many events, joining and hashing the feed moves to a thread too.
THREAD_ASSEMBLE_AT = 2000
# A cached feed is checked against its rows' fingerprint at least this often.
RECHECK = timedelta(seconds=60)
# The kinds of token that open a calendar feed (a brief token opens only its page).
CALENDARS = frozenset({FeedKind.CHANNEL, FeedKind.USER})


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def log_label(token: str) -> str:
    """What logs may say about a token or event link: a short prefix of its hash."""
    return hash_token(token)[:8] if _TOKEN_SHAPE.fullmatch(token.replace(".", "")) else "malformed"


def sign_uid(secret: str, uid: str) -> str:
    """The signature of an event link: HMAC-SHA256 of the uid under the channel's secret."""
    mac = hmac.new(secret.encode("ascii"), uid.encode("ascii"), hashlib.sha256)
    return mac.hexdigest()[:LINK_SIGNATURE_CHARS]


def feed_title(scope: FeedScope) -> tuple[str, str]:
    """The calendar's name and description."""
    if scope.kind is FeedKind.USER:
        return (
            "Parley: my deadlines",
            "Negotiation deadlines you own or were asked a position on, from Parley.",
        )
    return (
        f"Parley: {scope.subject}",
        f"Negotiation deadlines in channel {scope.subject}, from Parley.",
    )


@dataclass(slots=True)
class _Cached:
    """A built feed and what it was checked against.

    ``marker`` (the workspace's newest write) is compared on every request;
    ``fingerprint`` (aggregates over the feed's own rows) when the marker moved,
    and at least every ``RECHECK`` (on PostgreSQL a write can commit under an
    older marker). ``leaves_at`` is when a cancelled deadline drops out.
    """

    fingerprint: str
    document: CalendarDocument
    leaves_at: datetime | None
    marker: str = ""
    checked_at: datetime | None = None

    def fresh(self, marker: str, now: datetime) -> bool:
        return (
            marker == self.marker
            and self.checked_at is not None
            and now - self.checked_at < RECHECK
            and (self.leaves_at is None or now < self.leaves_at)
        )


@dataclass(slots=True)
class _Build:
    """One scope's build lock and how many requests hold or wait for it."""

    lock: asyncio.Lock
    users: int = 0


class Feeds:
    """Feed tokens, feed URLs and the documents behind them (``FeedLinks``)."""

    def __init__(
        self,
        *,
        store: FeedStore,
        clock: Clock,
        public_url: str,
        chat_link: Callable[[Deadline], str | None] | None = None,
        events: EventCache | None = None,
        max_feeds: int = 128,
    ) -> None:
        self.store = store
        self.clock = clock
        self.public_url = public_url.rstrip("/")
        self.chat_link = chat_link
        self.events = events or EventCache()
        self.max_feeds = max_feeds
        self._feeds: OrderedDict[FeedScope, _Cached] = OrderedDict()
        self._building: dict[FeedScope, _Build] = {}
        # (workspace, channel) -> the channel's link secret and when it was read.
        self._link_secrets: OrderedDict[tuple[str, str], tuple[str, datetime]] = OrderedDict()

    # --- FeedLinks -------------------------------------------------------------------
    async def feed_url(self, *, ctx: Context, scope: str) -> str:
        """A new private feed URL; ``revoke`` first revokes the channel's other URLs."""
        if scope in ("mine", "mine-revoke"):
            target = FeedScope(ctx.workspace_id, FeedKind.USER, ctx.user_id)
        elif scope in ("channel", "revoke"):
            target = FeedScope(ctx.workspace_id, FeedKind.CHANNEL, ctx.channel_id)
        else:
            raise InvalidInput(f"Unknown feed {scope!r}: use mine or revoke.")
        revoke = scope in ("revoke", "mine-revoke")
        if scope == "revoke":
            # First: should the rest fail, the channel's event links are dead already.
            await self.store.drop_event_link_secret(
                workspace_id=ctx.workspace_id, channel_id=ctx.channel_id
            )
            self._link_secrets.pop((ctx.workspace_id, ctx.channel_id), None)
        token = await self._issue(ctx, target, revoke=revoke)
        return f"{self.public_url}/calendar/{token}.ics"

    async def brief_url(self, *, ctx: Context, deadline: Deadline | None, revoke: bool) -> str:
        """A new brief page URL for the channel's negotiation, or for ``deadline`` (of
        its channel); ``revoke`` first revokes every brief URL of the channel."""
        if deadline is None:
            target = FeedScope(ctx.workspace_id, FeedKind.BRIEF, ctx.channel_id)
        else:
            target = FeedScope(
                deadline.workspace_id, FeedKind.BRIEF, deadline.channel_id, deadline.id
            )
        token = await self._issue(ctx, target, revoke=revoke)
        return f"{self.public_url}/brief/{token}"

    async def _issue(self, ctx: Context, target: FeedScope, *, revoke: bool) -> str:
        """A new token for ``target``, stored hashed (with ``revoke``: the only one left
        of its kind for its subject)."""
        token = new_token()
        record = FeedToken(
            token_hash=hash_token(token),
            scope=target,
            created_at=self.clock.now(),
            created_by=ctx.user_id,
        )
        await self.store.add_feed_token(token=record, revoke_others=revoke)
        log.info(
            "%s token %s issued for %s %s%s in %s%s",
            "brief" if target.kind is FeedKind.BRIEF else "feed",
            record.token_hash[:8],
            target.kind.value,
            target.subject,
            "" if target.deadline_id is None else f" deadline {target.deadline_id}",
            target.workspace_id,
            " (others revoked)" if revoke else "",
        )
        return token

    async def event_url(self, *, deadline: Deadline) -> str | None:
        """The "Add to calendar" link of ``deadline``, signed for its channel."""
        if not deadline.uid:
            return None
        secret = await self._link_secret(deadline.workspace_id, deadline.channel_id)
        return (
            f"{self.public_url}/calendar/event/{deadline.uid}.{sign_uid(secret, deadline.uid)}.ics"
        )

    async def _link_secret(self, workspace_id: str, channel_id: str) -> str:
        now = self.clock.now()
        where = (workspace_id, channel_id)
        kept = self._link_secrets.get(where)
        if kept is not None and now - kept[1] < LINK_SECRET_FRESH:
            self._link_secrets.move_to_end(where)
            return kept[0]
        secret = await self.store.event_link_secret(
            workspace_id=workspace_id,
            channel_id=channel_id,
            create=secrets.token_hex(LINK_SECRET_BYTES),
            now=now,
        )
        if secret is None:  # the store stores the offered secret when there is none
            raise AssertionError("no event link secret after offering one")
        self._link_secrets[where] = (secret, now)
        self._link_secrets.move_to_end(where)
        while len(self._link_secrets) > LINK_SECRETS_KEPT:
            self._link_secrets.popitem(last=False)
        return secret

    # --- documents -------------------------------------------------------------------
    async def scope_for(
        self, token: str, kinds: frozenset[FeedKind] = CALENDARS
    ) -> FeedScope | None:
        """The scope an unrevoked token of one of ``kinds`` opens, or None."""
        if not _TOKEN_SHAPE.fullmatch(token):
            return None
        wanted = hash_token(token)
        found = await self.store.find_feed_token(token_hash=wanted)
        if found is None or not hmac.compare_digest(found.token_hash, wanted):
            return None
        return found.scope if found.scope.kind in kinds else None

    async def brief_calendar(self, scope: FeedScope) -> CalendarDocument | None:
        """The calendar behind a brief (``?format=ics``): its channel's feed, or the one
        deadline's event; None when that deadline is no longer in its channel's feed."""
        channel = FeedScope(scope.workspace_id, FeedKind.CHANNEL, scope.subject)
        if scope.deadline_id is None:
            return await self.feed_for(channel)
        since = self.clock.now() - CANCELLED_KEPT
        items = await self.store.list_feed_items(scope=channel, cancelled_since=since)
        for item in items:
            if item.deadline.id == scope.deadline_id:
                deadline = item.deadline
                return await self._assemble(
                    [item],
                    name=f"{deadline.ref} {deadline.title}",
                    description=f"Parley {deadline.ref}",
                )
        return None

    async def feed(self, token: str) -> CalendarDocument | None:
        """The feed a token opens, or None for an unknown or revoked token."""
        scope = await self.scope_for(token)
        return None if scope is None else await self.feed_for(scope)

    async def feed_for(self, scope: FeedScope) -> CalendarDocument:
        now = self.clock.now()
        since = now - CANCELLED_KEPT
        # Each read comes before the next: a write in between only makes the next
        # request check again, never keeps stale content under a newer key.
        marker = await self.store.feed_marker(workspace_id=scope.workspace_id)
        cached = self._feeds.get(scope)
        if cached is not None and cached.fresh(marker, now):
            self._feeds.move_to_end(scope)
            return cached.document
        fingerprint = await self.store.feed_fingerprint(scope=scope, cancelled_since=since)
        build = self._building.get(scope)
        if build is None:
            build = self._building[scope] = _Build(asyncio.Lock())
        build.users += 1
        try:
            async with build.lock:
                # Someone may have built it while this request waited.
                cached = self._feeds.get(scope)
                if cached is None or cached.fingerprint != fingerprint:
                    items = await self.store.list_feed_items(scope=scope, cancelled_since=since)
                    name, description = feed_title(scope)
                    built = await self._assemble(items, name=name, description=description)
                    cached = _Cached(fingerprint, built, _leaves_at(items))
                cached.marker, cached.checked_at = marker, now
                self._feeds[scope] = cached
                self._feeds.move_to_end(scope)
                while len(self._feeds) > self.max_feeds:
                    self._feeds.popitem(last=False)
                return cached.document
        finally:
            build.users -= 1
            if build.users == 0:
                del self._building[scope]

    async def event(self, link: str) -> CalendarDocument | None:
        """One deadline as a calendar of its own ("Add to calendar"), or None for a
        link that is malformed, unsigned, signed for another channel or revoked."""
        uid, _, signature = link.partition(".")
        if not _UID_SHAPE.fullmatch(uid) or not _SIGNATURE_SHAPE.fullmatch(signature):
            return None
        item = await self.store.get_feed_item(uid=uid)
        if item is None:
            return None
        deadline = item.deadline
        secret = await self.store.event_link_secret(
            workspace_id=deadline.workspace_id, channel_id=deadline.channel_id, now=self.clock.now()
        )
        if secret is None or not hmac.compare_digest(sign_uid(secret, uid), signature):
            return None
        return await self._assemble(
            [item], name=f"{deadline.ref} {deadline.title}", description=f"Parley {deadline.ref}"
        )

    def _cached(self, scope: FeedScope, fingerprint: str) -> CalendarDocument | None:
        cached = self._feeds.get(scope)
        if cached is None or cached.fingerprint != fingerprint:
            return None
        self._feeds.move_to_end(scope)
        return cached.document

    async def _assemble(
        self, items: Sequence[DeadlineState], *, name: str, description: str
    ) -> CalendarDocument:
        links = [self.chat_link(item.deadline) if self.chat_link else None for item in items]
        bodies: list[bytes | None] = [
            self.events.get(item, url) for item, url in zip(items, links, strict=True)
        ]
        missing = [index for index, body in enumerate(bodies) if body is None]
        work = [(items[index], links[index]) for index in missing]
        if len(work) >= THREAD_RENDER_AT:
            rendered = await asyncio.to_thread(_render_all, work)
        else:
            rendered = _render_all(work)
        for index, (item, url), body in zip(missing, work, rendered, strict=True):
            self.events.put(item, url, body)
            bodies[index] = body
        events = [body for body in bodies if body is not None]
        parts = (calendar_header(name=name, description=description), timezones_for(items), events)
        stamp = last_modified(items)
        if len(events) >= THREAD_ASSEMBLE_AT:
            return await asyncio.to_thread(_finish, *parts, stamp)
        return _finish(*parts, stamp)


def _leaves_at(items: Sequence[DeadlineState]) -> datetime | None:
    """When the first cancelled deadline of a feed is due to leave it."""
    cancelled = [
        item.deadline.updated_at + CANCELLED_KEPT
        for item in items
        if item.deadline.status is DeadlineStatus.CANCELLED
    ]
    return min(cancelled, default=None)


def _render_all(work: Sequence[tuple[DeadlineState, str | None]]) -> list[bytes]:
    return [render_event(item, url=url) for item, url in work]


def _finish(
    header: bytes, timezones: Sequence[bytes], events: Sequence[bytes], stamp: datetime | None
) -> CalendarDocument:
    body = assemble(header=header, timezones=timezones, events=events)
    return document(body, last_modified=stamp, events=len(events))
