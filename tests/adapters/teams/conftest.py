"""Fixtures for the Teams adapter: a ``TeamsWorld`` (see ``teams_world``), a network
guard that lets nothing leave this machine, and a check that every Adaptive Card
Parley sent in a test validates against the 1.5 schema."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from jsonschema import Draft6Validator

from bot.clock import ManualClock
from tests.adapters.teams.teams_world import (
    TeamsWorld,
    card_validator,
    loopback_only,
    open_world,
    teams_settings,
)
from tests.fakes.bot_connector import FakeBotConnector


@pytest.fixture(autouse=True)
def _loopback_only() -> Iterator[None]:
    with loopback_only():
        yield


@pytest.fixture(scope="session")
def cards() -> Draft6Validator:
    return card_validator()


@pytest.fixture
async def connector() -> AsyncIterator[FakeBotConnector]:
    async with FakeBotConnector() as fake:
        yield fake


@pytest.fixture
async def teams(
    sqlite_url: str, clock: ManualClock, connector: FakeBotConnector, cards: Draft6Validator
) -> AsyncIterator[TeamsWorld]:
    async with open_world(teams_settings(sqlite_url), clock, connector) as world:
        yield world
        world.validate_cards(cards)
