"""Which deadline a reference reaches, against an independent statement of the rule:
in a channel, that channel's deadline with the number; in a direct conversation, also
those the person owns or was asked on, anywhere in the workspace. Random negotiations,
run on the in-memory stores."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.shell.console import is_direct
from bot.clock import ManualClock
from bot.domain import Context
from bot.service import Parley
from tests.conftest import NOW
from tests.fakes.stores import MemoryDeadlines, MemoryReplay

CHANNELS = ["C1", "C2", "dm:alex"]
PEOPLE = ["alex", "bo", "cy"]


@dataclass(frozen=True)
class Added:
    channel: str
    creator: str
    asked: frozenset[str]


def ctx(user: str, channel: str) -> Context:
    return Context("shell:w", channel, user, direct=is_direct(channel))


def expected(added: list[Added], numbers: list[int], user: str, channel: str, n: int) -> set[int]:
    """The rule, stated on its own: the indexes of the deadlines ``D{n}`` reaches."""
    here = {i for i, a in enumerate(added) if a.channel == channel and numbers[i] == n}
    if not is_direct(channel):
        return here
    theirs = {
        i for i, a in enumerate(added) if numbers[i] == n and (a.creator == user or user in a.asked)
    }
    return here | theirs


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    st.lists(
        st.builds(
            Added,
            st.sampled_from(CHANNELS),
            st.sampled_from(PEOPLE),
            st.frozensets(st.sampled_from(PEOPLE)),
        ),
        min_size=1,
        max_size=7,
    )
)
def test_a_reference_reaches_what_the_rule_says(added: list[Added]) -> None:
    asyncio.run(_check(added))


async def _check(added: list[Added]) -> None:
    service = Parley(repository=MemoryDeadlines(), clock=ManualClock(NOW), keys=MemoryReplay())
    numbers: list[int] = []
    for i, deadline in enumerate(added):
        where = ctx(deadline.creator, deadline.channel)
        await service.handle(ctx=where, command="deadline", text=f"add T{i}x due 2026-12-01 12:00")
        numbers.append(sum(1 for a in added[: i + 1] if a.channel == deadline.channel))
        if deadline.asked:
            people = " ".join(f"@{p}" for p in sorted(deadline.asked))
            asked = await service.handle(ctx=where, command="position", text=f"ask T{i}x {people}")
            assert "asked" in asked[0].fallback
    for user in PEOPLE:
        for channel in [*CHANNELS, "C3", f"dm:{user}"]:
            for n in range(1, max(numbers) + 2):
                [reply] = await service.handle(
                    ctx=ctx(user, channel), command="deadline", text=f"show D{n}"
                )
                want = expected(added, numbers, user, channel, n)
                shown = {i for i in range(len(added)) if f"T{i}x" in reply.fallback}
                if len(want) > 1:
                    assert f"D{n} matches {len(want)} deadlines" in reply.fallback
                    assert shown == want
                elif want:
                    assert shown == want and "History" in reply.fallback
                else:
                    assert reply.fallback.startswith(f"There is no deadline D{n}") and not shown
