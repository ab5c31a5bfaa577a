"""Parsing Slack payloads (captured shapes in ``payloads/``) into the core's inputs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote_plus

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from slack_bolt.request.internals import parse_body

from adapters.slack import parse
from bot import views
from bot.domain import Context

PAYLOADS = Path(__file__).parent / "payloads"


def payload(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((PAYLOADS / f"{name}.json").read_text())
    return data


def test_slash_command_gives_a_slack_context_and_plain_text() -> None:
    command = parse.slash_command(payload("slash_command"), tz="America/New_York")
    assert command.ctx == Context(
        workspace_id="slack:T0001",
        channel_id="C2147483705",
        user_id="U2147483697",
        user_name="Steve",
        tz="America/New_York",
        platform="slack",
        direct=False,
        mentioned=frozenset({"U0LEGAL", "U0POLICY"}),  # what Slack linked, not typed text
    )
    assert command.command == "position"
    assert command.text == "ask D1 <@U0LEGAL> <@U0POLICY> & co"
    assert command.response_url == "https://hooks.slack.com/commands/1234/5678"
    assert command.trigger_id.startswith("13345224609.")


def test_typed_mentions_are_not_people_and_a_dm_is_direct() -> None:
    body = payload("slash_command") | {
        "channel_id": "D0ALEX",
        "text": "ask D1 &lt;@C0SECRET&gt; <@U0LEGAL|legal> <#C1|general> <!here> <@W0GRID>",
    }
    command = parse.slash_command(body)
    assert command.ctx.direct
    assert command.ctx.mentioned == frozenset({"U0LEGAL", "W0GRID"})
    assert command.text == "ask D1 <@C0SECRET> <@U0LEGAL> <#C1> <!here> <@W0GRID>"
    assert [parse.is_user_id(i) for i in ("U0LEGAL", "W0GRID", "C0SECRET", "D0ALEX", "")] == [
        True,
        True,
        False,
        False,
        False,
    ]


def test_press_in_a_direct_message() -> None:
    press = parse.press(payload("block_actions_dm"))
    assert press.action_id == views.ACTION_STANCE
    assert press.value == "7|oppose"
    assert press.in_direct_message and press.ctx.direct
    assert press.ctx.workspace_id == "slack:T0001"
    assert press.ctx.channel_id == "D0LEGAL"
    assert press.ctx.user_id == "U0LEGAL"
    assert press.response_url.startswith("https://hooks.slack.com/actions/")
    assert parse.deadline_id_of(press.value) == "7"


def test_press_in_the_app_home_has_no_channel() -> None:
    press = parse.press(payload("block_actions_home"))
    assert press.action_id == views.ACTION_OPEN_FORM
    assert press.in_direct_message
    assert press.ctx.channel_id == ""
    assert press.response_url == ""
    assert parse.deadline_id_of(press.value) == "7"


def test_view_submission_gives_fields_by_name_and_the_modal_state() -> None:
    submission = parse.submission(payload("view_submission"))
    assert submission.form_id == views.FORM_POSITION
    assert submission.fields == {
        "stance": "conditional",
        "party": "",
        "terms": "Only with an audit clause",
    }
    assert submission.state == parse.ModalState(
        value="7",
        channel_id="C2147483705",
        response_url="https://hooks.slack.com/commands/1234/5678",
    )
    assert submission.ctx.channel_id == "C2147483705"
    assert submission.ctx.user_id == "U0LEGAL"


@pytest.mark.parametrize("metadata", ["", "not json", "[1, 2]", '{"v": 3}'])
def test_modal_state_survives_odd_metadata(metadata: str) -> None:
    state = parse.ModalState.decode(metadata)
    assert isinstance(state.value, str) and isinstance(state.channel_id, str)


def test_modal_state_round_trips() -> None:
    state = parse.ModalState(value="12", channel_id="C1", response_url="https://x/y")
    assert parse.ModalState.decode(state.encode()) == state


def test_workspace_ids_are_prefixed() -> None:
    assert parse.workspace_id("T1") == "slack:T1"
    assert parse.team_id_of("slack:T1") == "T1"
    with pytest.raises(ValueError):
        parse.team_id_of("teams:abc")


# Pieces of form bodies: separators, escapes (good and broken), pluses, UTF-8 and what
# sends a body down bolt's JSON or ``payload=`` paths.
_FORM_PIECES = st.one_of(
    st.sampled_from(["&", "=", "+", "%", "%2", "%20", "%26", "%3D", "%E2%80%A6", "%ZZ", "%C3",
                     "text", "command", "team_id", "payload", "{", ";", "é", " "]),
    st.text(max_size=4),
    st.text(max_size=6).map(quote_plus),
)  # fmt: skip


@settings(derandomize=True, max_examples=1500, deadline=None)
@given(st.lists(_FORM_PIECES, max_size=16).map("".join))
def test_a_form_body_reads_as_bolt_reads_it(body: str) -> None:
    expected: Any
    if body.startswith("{") or "payload" in body:
        try:
            expected = parse_body(body, "application/x-www-form-urlencoded")
        except ValueError:
            return  # bolt's own path, which the handler answers 400
    else:
        expected = dict(parse_qsl(body, keep_blank_values=True))
    assert parse.request_payload(body, "application/x-www-form-urlencoded") == expected
