"""``bot.names.NameBook``: names learned once, stored when they change, and written into
messages as the renderers show them (the shell and Teams show names, Slack mentions)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from adapters.shell.render import render_message as shell_text
from adapters.slack.render import render_message as slack_payload
from adapters.teams.render import render_card
from bot.clock import ManualClock
from bot.domain import KnownName, NameKind
from bot.errors import StorageUnavailable
from bot.messages import Facts, Message, Text
from bot.names import KEEP, REFRESH, NameBook, clean_name
from tests.fakes.stores import MemoryNames

NOW = datetime(2026, 11, 26, 17, 0, tzinfo=UTC)
WS = "slack:T1"


def alex(name: str = "Alex Rivera") -> KnownName:
    return KnownName(WS, NameKind.USER, "U1", name, NOW)


async def test_a_name_is_stored_when_new_or_changed_and_again_only_after_refresh() -> None:
    clock, store = ManualClock(NOW), MemoryNames()
    book = NameBook(store=store, clock=clock)
    await book.learn([alex()])
    await book.learn([alex()])
    assert store.saves == 1
    await book.learn([alex("Alex R.")])
    assert store.saves == 2
    clock.set(NOW + REFRESH)
    await book.learn([alex("Alex R.")])
    assert store.saves == 3
    assert store.rows[WS, NameKind.USER, "U1"].refreshed_at == NOW + REFRESH


async def test_a_platform_is_asked_once_per_refresh_and_sooner_after_a_failure() -> None:
    clock = ManualClock(NOW)
    book = NameBook(store=MemoryNames(), clock=clock)
    assert book.due(WS, NameKind.USER, "U1")
    assert not book.due(WS, NameKind.USER, "U1")
    assert book.due(WS, NameKind.CHANNEL, "U1")  # kinds apart
    book.failed(WS, NameKind.USER, "U1")
    clock.set(NOW + timedelta(minutes=11))
    assert book.due(WS, NameKind.USER, "U1")
    clock.set(NOW + timedelta(hours=1))
    assert not book.due(WS, NameKind.USER, "U1")


async def test_names_from_another_replica_are_read_once_kept_then_read_again() -> None:
    clock, store = ManualClock(NOW), MemoryNames()
    book = NameBook(store=store, clock=clock)
    assert await book.lookup(WS, NameKind.USER, ["U1"]) == {}
    await store.save_names(names=[alex()])  # another replica learned it
    assert await book.lookup(WS, NameKind.USER, ["U1"]) == {}  # "none" is kept a while too
    clock.set(NOW + KEEP)
    assert await book.lookup(WS, NameKind.USER, ["U1"]) == {"U1": "Alex Rivera"}


class DownStore(MemoryNames):
    async def find_names(
        self, *, workspace_id: str, kind: NameKind, subject_ids: object
    ) -> dict[str, str]:
        raise StorageUnavailable("down")

    async def save_names(self, *, names: object) -> None:
        raise StorageUnavailable("down")


async def test_without_a_database_messages_go_out_with_ids() -> None:
    book = NameBook(store=DownStore(), clock=ManualClock(NOW))
    await book.learn([alex()])  # not stored, not raised
    message = Message(fallback="<@U2> asked", blocks=(Text("<@U2> asked"),))
    assert await book.fill(WS, [message]) == [message]


async def test_filled_names_show_in_the_shell_and_teams_while_slack_keeps_mentions() -> None:
    book = NameBook(store=MemoryNames(), clock=ManualClock(NOW))
    await book.learn([alex(), KnownName(WS, NameKind.CHANNEL, "C1", "negotiations", NOW)])
    message = Message(
        fallback="<@U1> asks in <#C1>",
        blocks=(Text("<@U1> asks in <#C1>; <@U9> too"), Facts((("<@U1>", "support"),))),
    )
    [named] = await book.fill(WS, [message])
    assert named.fallback == "<@U1|Alex Rivera> asks in <#C1|negotiations>"
    assert "@Alex Rivera asks in #negotiations; @U9 too" in shell_text(named, now=NOW)
    card = str(render_card(named, now=NOW))
    assert "@Alex Rivera asks in #negotiations; @U9 too" in card
    slack = str(slack_payload(named, now=NOW))
    assert "<@U1> asks in <#C1>" in slack and "Alex" not in slack


def test_a_name_cannot_break_out_of_its_mention() -> None:
    assert clean_name("  Eve <@U1|admin>\n\u202e ") == "Eve @U1 admin"
    assert clean_name("x" * 200) == "x" * 80
