"""Offers through signed Slack slash commands: a link as Slack sends it becomes the
offer's title linked (``<url|title>``) with its host beside it, refused links record
nothing, and the matrix marks positions on older offers."""

from __future__ import annotations

from typing import Any

from tests.adapters.slack.blockkit import texts
from tests.adapters.slack.slack_world import SlackWorld
from tests.builders import snapshot

ADD = "/deadline add Signed usage agreement due 2026-11-27T17:00-05:00"


def shown(payload: dict[str, Any]) -> str:
    return texts(payload.get("blocks", [])) or payload.get("text", "")


async def test_offers_with_links_and_the_matrix_marks(slack: SlackWorld) -> None:
    await slack.command("/party add Anthropic <@U2|dana>")
    await slack.command(ADD)
    await slack.command("/position D1 oppose as Anthropic red lines", user_id="U2")
    ack = await slack.command(
        "/offer D1 <https://docs.example.com/bafo.pdf|Best and final offer> from anthropic"
    )
    assert ack["response_type"] == "in_channel"
    linked = "<https://docs.example.com/bafo.pdf|Best and final offer> (docs.example.com)"
    assert f"O1 {linked} from Anthropic" in shown(ack)
    # The notification text shows the host, not markup; no button repeats the link.
    assert "O1 Best and final offer (docs.example.com) from Anthropic" in ack["text"]
    assert [b for b in ack["blocks"] if b["type"] == "actions"] == []
    listing = await slack.command("/offer list D1")
    assert f"O1 {linked} from Anthropic (current)" in shown(listing)
    assert listing["response_type"] == "ephemeral"
    matrix = shown(await slack.command("/position list D1"))
    assert f"On the table: O1 {linked}" in matrix
    assert "oppose (before O1) — red lines" in matrix


async def test_refused_links_record_nothing(slack: SlackWorld) -> None:
    await slack.command(ADD)
    before = await snapshot(slack.runtime.repository)
    for line, refusal in (
        ("/offer D1 Click <javascript:alert(1)|here>", "javascript: link"),
        ("/offer D1 BAFO <https://pete:hunter2@example.com/bafo>", "user name or password"),
    ):
        ack = await slack.command(line)
        assert ack["response_type"] == "ephemeral"
        assert refusal in shown(ack)
        assert "hunter2" not in shown(ack)
    assert await snapshot(slack.runtime.repository) == before


async def test_text_typed_to_look_like_a_link_stays_text(slack: SlackWorld) -> None:
    # The marks of the core's links are control characters, stripped from whatever is typed.
    ack = await slack.command(
        "/deadline add \x1fhttps://evil.example/login Bank\x1f due 2026-11-27T17:00-05:00"
    )
    card = shown(ack) + ack["text"]
    assert "Bank" in card and "\x1f" not in card
    assert "<https://evil.example" not in card and "|Bank>" not in card
