""" "Add to calendar" links are scoped: each carries a signature bound to its channel's
feeds, stops working when that channel's feeds are revoked, and a uid alone (the
old form of the link, or one read off a feed's UID lines) opens nothing."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from bot.feeds import LINK_SECRET_FRESH, sign_uid
from tests.conftest import Chat
from tests.feeds.feedcheck import fetch, link_in, parse_both

Client = TestClient[Any, Any]
ADD = "/deadline add Signed usage agreement due 2026-11-27 17:00 America/New_York"


def calendar_path(chat: Chat) -> str:
    [url] = [
        button.url
        for message in chat.replies
        for block in message.blocks
        for button in (*getattr(block, "buttons", ()), *getattr(block, "more", ()))
        if button.label == "Add to calendar" and button.url
    ]
    return link_in(url)


async def test_a_link_opens_its_event_and_nothing_else_does(chat: Chat, http: Client) -> None:
    await chat.say(ADD)
    path = calendar_path(chat)
    [deadline] = await chat.runtime.repository.list_deadlines(workspace_id=chat.workspace)
    assert path.startswith(f"/calendar/event/{deadline.uid}.") and path.endswith(".ics")
    status, body, _ = await fetch(http, path)
    assert status == 200
    (event,) = parse_both(body).values()
    assert event.summary == "D1 Signed usage agreement"

    signature = path.removeprefix(f"/calendar/event/{deadline.uid}.").removesuffix(".ics")
    forged = "0" * len(signature) if signature != "0" * len(signature) else "1" * len(signature)
    for guess in (
        f"/calendar/event/{deadline.uid}.ics",  # the old, uid-only link
        f"/calendar/event/{deadline.uid}.{forged}.ics",
        f"/calendar/event/{deadline.uid}.{signature[:-1]}.ics",
        f"/calendar/event/{deadline.uid}.{signature.upper()}.ics",
        f"/calendar/event/{deadline.uid}.{signature}.x.ics",
    ):
        assert (await fetch(http, guess))[:2] == (404, b""), guess


async def test_revoking_the_channels_feeds_kills_its_links(chat: Chat, http: Client) -> None:
    await chat.say(ADD)
    old = calendar_path(chat)
    await chat.say("/deadline feed mine revoke")  # a personal feed: the channel's links live on
    assert (await fetch(http, old))[0] == 200
    await chat.say("/deadline feed revoke")
    assert (await fetch(http, old))[:2] == (404, b"")
    await chat.say("/deadline extend D1 to 2026-11-30 09:00 America/New_York")
    new = calendar_path(chat)
    assert new != old
    assert (await fetch(http, new))[0] == 200
    assert (await fetch(http, old))[0] == 404


async def test_a_link_signed_for_another_channel_opens_nothing(chat: Chat, http: Client) -> None:
    await chat.say(ADD)
    mine = calendar_path(chat)
    await chat.say(
        "/deadline add Red lines memo due 2026-11-28 17:00 America/New_York",
        channel_id="secret-room",
    )
    theirs = calendar_path(chat)
    assert (await fetch(http, theirs))[0] == 200
    [secret_deadline] = [
        d
        for d in await chat.runtime.repository.list_deadlines(workspace_id=chat.workspace)
        if d.channel_id == "secret-room"
    ]
    # The signature of this channel's link on the other channel's uid: no way in.
    my_signature = mine.rsplit(".", 2)[1]
    assert (await fetch(http, f"/calendar/event/{secret_deadline.uid}.{my_signature}.ics"))[
        0
    ] == 404
    my_secret = await chat.runtime.repository.event_link_secret(
        workspace_id=chat.workspace, channel_id=chat.channel, now=chat.runtime.clock.now()
    )
    assert my_secret is not None
    resigned = sign_uid(my_secret, secret_deadline.uid)
    assert (await fetch(http, f"/calendar/event/{secret_deadline.uid}.{resigned}.ics"))[0] == 404


async def test_a_revocation_on_another_replica_holds_at_once(chat: Chat, http: Client) -> None:
    await chat.say(ADD)
    path = calendar_path(chat)
    # Another replica revokes: the secret is gone from the database, not from this
    # replica's memory; the link is refused all the same.
    await chat.runtime.repository.drop_event_link_secret(
        workspace_id=chat.workspace, channel_id=chat.channel
    )
    assert (await fetch(http, path))[0] == 404
    # This replica signs with the secret it read for a while (dead links, no leak),
    # then reads the new one.
    chat.runtime.clock.advance(LINK_SECRET_FRESH)  # type: ignore[attr-defined]
    await chat.say("/deadline extend D1 to 2026-11-30 09:00 America/New_York")
    assert (await fetch(http, calendar_path(chat)))[0] == 200
