"""Block Kit rendering: every core message passes slack_sdk's models and Slack's limits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from adapters.slack.render import (
    base_action_id,
    clip,
    date_token,
    form_errors,
    home_view,
    mrkdwn,
    render_message,
    render_modal,
)
from bot import views
from bot.domain import (
    DEFAULT_OFFSETS,
    Deadline,
    DeadlineStatus,
    Event,
    EventKind,
    Offer,
    Position,
    PositionRequest,
    Stance,
)
from bot.messages import Actions, Button, Facts, Message, Role, Text, link
from bot.usecases.home import Home
from tests.adapters.slack.blockkit import check_message, check_view, texts

NOW = datetime(2026, 11, 26, 17, 0, tzinfo=UTC)
DUE = datetime(2026, 11, 27, 22, 0, tzinfo=UTC)  # Friday 17:00 in New York


def deadline(
    number: int = 1, *, title: str = "Signed usage agreement", **changes: object
) -> Deadline:
    values: dict[str, object] = {
        "id": number,
        "workspace_id": "slack:T1",
        "number": number,
        "channel_id": "C1",
        "platform": "slack",
        "title": title,
        "due_at": DUE + timedelta(hours=number),
        "tz": "America/New_York",
        "owner_id": "U1",
        "status": DeadlineStatus.OPEN,
        "reminder_offsets": DEFAULT_OFFSETS,
        "created_at": NOW,
        "updated_at": NOW,
    } | changes
    return Deadline(**values)  # type: ignore[arg-type]


def position(label: str, stance: Stance, terms: str = "") -> Position:
    return Position(
        deadline_id=1,
        stakeholder=f"party:{label.lower()}",
        label=label,
        stance=stance,
        terms=terms,
        recorded_by="U1",
        recorded_at=NOW,
    )


OFFER = Offer(
    deadline_id=1,
    version=1,
    title="BAFO | v2 <final> & " + "long " * 40,
    url="https://docs.example.com/bafo.pdf?a=1&b=2",
    party=None,
    recorded_by="U1",
    recorded_at=NOW,
)


def all_core_messages() -> list[Message]:
    d = deadline()
    positions = [position(f"Party {i}", list(Stance)[i % 4], "terms " * 50) for i in range(45)]
    requests = [
        PositionRequest(deadline_id=1, user_id=f"U{i}", asked_by="U1", asked_at=NOW)
        for i in range(30)
    ]
    events = [
        Event(
            deadline_id=1,
            kind=EventKind.EXTENDED,
            at=NOW,
            actor_id="U1",
            data={"reason": "x" * 400},
        )
        for _ in range(40)
    ]
    return [
        views.deadline_card(d, now=NOW, headline="New deadline set by <@U1>"),
        views.deadline_card(d, now=NOW, headline="h", calendar_url="https://p.example/c/x.ics"),
        views.deadline_list(
            [deadline(i) for i in range(1, 201)], now=NOW, include_closed=False, user_id="U1"
        ),
        views.deadline_list([], now=NOW, include_closed=True, user_id="U1"),
        views.deadline_details(
            d, now=NOW, events=events, positions=positions, requests=requests, user_id="U1"
        ),
        views.position_matrix(d, now=NOW, positions=positions, requests=requests, user_id="U1"),
        views.position_matrix(d, now=NOW, positions=[], requests=[], user_id="U1"),
        views.position_matrix(
            d, now=NOW, positions=positions, requests=[], user_id="U1", offers=[OFFER]
        ),
        views.ask_direct_message(d, user_id="U2", asked_by="U1", now=NOW),
        views.nudge_message(d, user_id="U2", now=NOW),
        views.countdown_alert(
            d, now=NOW, offset=timedelta(days=1), positions=positions, requests=requests
        ),
        views.deadline_reached(
            d, now=DUE + timedelta(hours=2), positions=positions, requests=requests
        ),
        views.catch_up_alert(
            d,
            now=NOW,
            missed=[timedelta(days=7), timedelta(days=1)],
            positions=positions,
            requests=requests,
        ),
        views.position_form(d, user_id="U1"),
        views.error_message("x" * 5000, user_id="U1"),
        views.info_message("one\n" * 2000, user_id=None),
    ]


@pytest.mark.parametrize("index", range(len(all_core_messages())))
def test_every_core_message_is_valid_block_kit(index: int) -> None:
    message = all_core_messages()[index]
    check_message(render_message(message, now=NOW))


def test_a_list_of_200_deadlines_stays_inside_the_limits() -> None:
    message = views.deadline_list(
        [deadline(i, title="T" * 200) for i in range(1, 201)],
        now=NOW,
        include_closed=False,
        user_id="U1",
    )
    payload = render_message(message, now=NOW)
    check_message(payload)
    assert len(payload["blocks"]) <= 50
    assert "180 more" in payload["blocks"][-1]["elements"][0]["text"]


def test_too_many_blocks_are_cut_with_a_note() -> None:
    message = Message(fallback="many", blocks=tuple(Text(f"line {i}") for i in range(80)))
    payload = render_message(message, now=NOW)
    check_message(payload)
    assert len(payload["blocks"]) == 50
    assert payload["blocks"][-1]["elements"][0]["text"] == "… 31 more blocks not shown."


def test_long_text_is_split_into_sections_and_facts_into_tens() -> None:
    text = "\n".join("word " * 100 for _ in range(20))  # ~10,000 characters
    facts = Facts(tuple((f"label {i}", "v" * 2500) for i in range(23)))
    payload = render_message(Message(fallback="x", blocks=(Text(text), facts)), now=NOW)
    check_message(payload)
    sections = [b for b in payload["blocks"] if b["type"] == "section"]
    assert [len(b.get("fields", [])) for b in sections[-3:]] == [10, 10, 3]
    assert len(sections) > 5


def test_countdown_is_a_slack_date_token_with_the_deadline_zone_as_fallback() -> None:
    token = date_token(DUE, "America/New_York")
    unix = int(DUE.timestamp())
    assert token == f"<!date^{unix}^{{date_short_pretty}} at {{time}}|Fri 27 Nov 2026 17:00 EST>"
    payload = render_message(views.deadline_card(deadline(), now=NOW, headline="h"), now=NOW)
    texts = [b["text"]["text"] for b in payload["blocks"] if b["type"] == "section"]
    assert any(
        "<!date^" in t and "2 days 0 hours left" not in t and "hours left" in t for t in texts
    )


def test_text_is_escaped_but_mentions_stay() -> None:
    assert mrkdwn("<@U123> & <!channel> <#C9|general> a<b>c") == (
        "<@U123> &amp; &lt;!channel&gt; <#C9> a&lt;b&gt;c"
    )
    assert mrkdwn("<@U123|alice>") == "<@U123>"


def test_a_link_shows_its_escaped_title_and_its_host() -> None:
    text = "On the table: " + link("BAFO | <v2> & *final*", "https://docs.example.com/b?a=1&b=2")
    assert mrkdwn(text) == (
        "On the table: <https://docs.example.com/b?a=1&amp;b=2|BAFO ¦ &lt;v2&gt; &amp; *final*>"
        " (docs.example.com)"
    )
    # Typed text that only looks like a link stays text; so does a link Parley would refuse.
    assert mrkdwn("<https://evil.example|Bank>") == "&lt;https://evil.example|Bank&gt;"
    assert mrkdwn(link("Bank", "https://me:pw@evil.example/")) == "Bank"
    # With blocks, the text field is only the notification: the link shows as text there.
    rendered = render_message(Message(fallback=text, blocks=(Text(text),)), now=NOW)
    assert rendered["text"] == "On the table: BAFO | &lt;v2&gt; &amp; *final* (docs.example.com)"
    assert "<https://docs.example.com/b?a=1&amp;b=2|" in texts(rendered["blocks"])


def test_clip_never_cuts_inside_a_mention_or_entity() -> None:
    assert clip("abc <@U12345>", 8) == "abc …"
    assert clip("abc &amp; d", 7) == "abc …"
    assert clip("short", 10) == "short"


def test_stance_buttons_get_unique_action_ids_that_map_back() -> None:
    payload = render_message(
        views.ask_direct_message(deadline(), user_id="U2", asked_by="U1", now=NOW), now=NOW
    )
    [actions] = [b for b in payload["blocks"] if b["type"] == "actions"]
    ids = [e["action_id"] for e in actions["elements"]]
    assert len(set(ids)) == 5
    assert [base_action_id(i) for i in ids] == [views.ACTION_STANCE] * 4 + [views.ACTION_OPEN_FORM]
    assert actions["elements"][0]["value"] == "1|support"
    assert actions["elements"][0]["style"] == "primary"


def test_more_than_25_buttons_are_split_into_several_action_blocks() -> None:
    buttons = tuple(Button(f"b{i}", "parley_x", str(i)) for i in range(30))
    payload = render_message(Message(fallback="x", blocks=(Actions(buttons),)), now=NOW)
    check_message(payload)
    assert [len(b["elements"]) for b in payload["blocks"]] == [25, 5]


def test_position_form_renders_as_a_modal_with_one_input_per_field() -> None:
    current = position("Me", Stance.CONDITIONAL, "only with an audit clause")
    message = views.position_form(deadline(), user_id="U1", current=current)
    view = render_modal(message, private_metadata='{"v": "1"}', now=NOW)
    check_view(view)
    assert view["callback_id"] == views.FORM_POSITION
    inputs = {b["block_id"]: b for b in view["blocks"] if b["type"] == "input"}
    assert list(inputs) == ["stance", "party", "terms"]
    assert inputs["stance"]["element"]["initial_option"]["value"] == "conditional"
    assert inputs["terms"]["element"]["multiline"] is True
    assert inputs["terms"]["element"]["initial_value"] == "only with an audit clause"
    assert inputs["party"]["optional"] is True and inputs["stance"]["optional"] is False


def test_a_form_inside_a_message_becomes_an_open_form_button() -> None:
    payload = render_message(views.position_form(deadline(), user_id="U1"), now=NOW)
    check_message(payload)
    [actions] = [b for b in payload["blocks"] if b["type"] == "actions"]
    assert base_action_id(actions["elements"][0]["action_id"]) == views.ACTION_OPEN_FORM
    assert actions["elements"][0]["value"] == "1"


def test_form_errors_are_keyed_by_block_id() -> None:
    ids = ["stance", "party", "terms"]
    assert form_errors(ids, {"stance": "Pick one", "terms": "Too long"}) == {
        "stance": "Pick one",
        "terms": "Too long",
    }
    assert form_errors(ids, {"form": "Out of date"}) == {"stance": "Out of date"}


def test_app_home_lists_owned_and_asked_deadlines_within_limits() -> None:
    many = [deadline(i) for i in range(1, 201)]
    view = home_view(Home(owned=tuple(many), waiting=tuple(many)), now=NOW)
    check_view(view)
    shown = texts(view["blocks"])
    assert "Your open deadlines (200)" in shown and "and 185 more" in shown
    empty = home_view(Home(owned=(), waiting=()), now=NOW)
    check_view(empty)


def test_heading_with_its_own_emphasis_is_not_wrapped_again() -> None:
    payload = render_message(
        Message(fallback="x", blocks=(Text("*D1* title", Role.HEADING),)), now=NOW
    )
    assert payload["blocks"][0]["text"]["text"] == "*D1* title"
