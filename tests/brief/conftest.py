"""Fixtures for the brief tests: the real aiohttp app on 127.0.0.1 (the feeds' fixture)."""

from tests.feeds.conftest import http

__all__ = ["http"]
