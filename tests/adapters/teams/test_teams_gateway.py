"""Which Bot Connector failures the dispatcher retries, and how."""

from __future__ import annotations

import pytest

from adapters.teams.gateway import classify, delivery_error
from bot.errors import PermanentDelivery, RateLimited, TransientDelivery


def test_429_honours_retry_after() -> None:
    error = classify(429, retry_after="12")
    assert isinstance(error, RateLimited) and error.retry_after == 12.0
    assert classify(429, retry_after="soon").retry_after == 1.0  # type: ignore[attr-defined]
    assert classify(429).retry_after == 1.0  # type: ignore[attr-defined]


@pytest.mark.parametrize("status", [412, 500, 502, 503, 504, 599])
def test_retried(status: int) -> None:
    assert isinstance(classify(status), TransientDelivery)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 413])
def test_not_retried(status: int) -> None:
    assert isinstance(classify(status, code="MessageWritesBlocked"), PermanentDelivery)


def test_403_says_why() -> None:
    error = classify(403, code="MessageWritesBlocked")
    assert "MessageWritesBlocked" in str(error) and "removed or blocked" in str(error)


class _Response:
    def __init__(self, status: int, text: str, headers: dict[str, str]) -> None:
        self.status_code, self.text, self.headers = status, text, headers


class _HttpError(Exception):
    def __init__(self, response: _Response) -> None:
        super().__init__("Operation returned an invalid status code")
        self.response = response


def test_connector_exceptions_are_translated() -> None:
    body = '{"error": {"code": "ConversationBlockedByUser", "message": "blocked"}}'
    permanent = delivery_error(_HttpError(_Response(403, body, {})))
    assert isinstance(permanent, PermanentDelivery)
    assert "ConversationBlockedByUser" in str(permanent)
    limited = delivery_error(_HttpError(_Response(429, "", {"Retry-After": "3"})))
    assert isinstance(limited, RateLimited) and limited.retry_after == 3.0
    assert isinstance(delivery_error(ConnectionResetError("reset")), TransientDelivery)
    already = PermanentDelivery("gone")
    assert delivery_error(already) is already
