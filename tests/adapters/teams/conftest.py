"""Fixtures for the Teams adapter: a ``TeamsWorld`` (see ``teams_world``), a network
guard that lets nothing leave this machine, and a check that every Adaptive Card
Parley sent in a test validates against the 1.5 schema."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from fakes.bot_connector import FakeBotConnector
from jsonschema import Draft6Validator
from teams_world import TeamsWorld, card_validator, loopback_only, open_world

from bot.clock import ManualClock
from bot.config import Settings, load_settings


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


def teams_settings(sqlite_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": sqlite_url,
        "teams_enabled": True,
        "microsoft_app_id": "",
        "microsoft_app_password": "",
        "microsoft_app_tenant_id": "",
        "slack_signing_secret": "",
        "slack_bot_token": "",
        "slack_client_id": "",
        "slack_client_secret": "",
    }
    return load_settings(**(values | overrides))


@pytest.fixture
async def teams(
    sqlite_url: str, clock: ManualClock, connector: FakeBotConnector, cards: Draft6Validator
) -> AsyncIterator[TeamsWorld]:
    async with open_world(teams_settings(sqlite_url), clock, connector) as world:
        yield world
        world.validate_cards(cards)
