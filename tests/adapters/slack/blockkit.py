"""Check Block Kit payloads the way Slack would: slack_sdk's block models plus the
limits its models do not enforce (block counts, unique ids, context text length)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

MESSAGE_BLOCKS = 50
VIEW_BLOCKS = 100
TEXT_MAX = 3000


def check_blocks(blocks: list[dict[str, Any]], *, limit: int) -> None:
    assert 0 < len(blocks) <= limit, f"{len(blocks)} blocks (limit {limit})"
    action_ids: list[str] = []
    block_ids: list[str] = []
    for raw in blocks:
        parsed = Block.parse(raw)
        assert parsed is not None, f"slack_sdk does not know {raw!r}"
        assert type(parsed) is not Block, f"unparsed block type {raw.get('type')!r}"
        parsed.validate_json()
        assert parsed.to_dict() == raw or raw.get("type") in ("input",), (
            f"the model drops or changes fields of {raw!r}"
        )
        if "block_id" in raw:
            block_ids.append(raw["block_id"])
        for element in raw.get("elements", []):
            if raw["type"] == "context":
                assert len(element.get("text", "")) <= TEXT_MAX
            if "action_id" in element:
                action_ids.append(element["action_id"])
        if "element" in raw and "action_id" in raw["element"]:
            action_ids.append(f"{raw.get('block_id')}/{raw['element']['action_id']}")
        if raw["type"] == "section":
            assert len(raw.get("fields", [])) <= 10
            if "text" in raw:
                assert len(raw["text"]["text"]) <= TEXT_MAX
    duplicates = [i for i, n in Counter(action_ids).items() if n > 1]
    assert not duplicates, f"duplicate action ids {duplicates}"
    assert len(set(block_ids)) == len(block_ids), f"duplicate block ids {block_ids}"


def check_message(payload: dict[str, Any]) -> None:
    """A chat.postMessage / response_url / ack body: text fallback and at most 50 valid blocks."""
    assert payload.get("text", "").strip(), "every message needs a text fallback"
    if "blocks" in payload:
        check_blocks(payload["blocks"], limit=MESSAGE_BLOCKS)


def check_view(view: dict[str, Any]) -> None:
    """A modal or App Home view: valid per slack_sdk, at most 100 blocks."""
    View(**view).validate_json()
    check_blocks(view["blocks"], limit=VIEW_BLOCKS)
    if view["type"] == "modal":
        assert len(view["title"]["text"]) <= 24
        assert len(view.get("private_metadata", "")) <= 3000


def _control(element: dict[str, Any]) -> str:
    """``[Label]`` for a button, ``[More: A | B]`` for an overflow menu."""
    if element["type"] == "overflow":
        return "[More: " + " | ".join(o["text"]["text"] for o in element["options"]) + "]"
    return f"[{element['text']['text']}]"


def texts(blocks: list[dict[str, Any]]) -> str:
    """All the visible text of section and context blocks, one line per block."""
    lines: list[str] = []
    for block in blocks:
        if block["type"] == "section":
            if "text" in block:
                lines.append(block["text"]["text"])
            lines.extend(f["text"] for f in block.get("fields", []))
        elif block["type"] == "context":
            lines.extend(e.get("text", "") for e in block["elements"])
        elif block["type"] == "actions":
            lines.append(" ".join(_control(e) for e in block["elements"]))
    return "\n".join(lines)
