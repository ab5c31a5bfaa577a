"""bot.grammar: every documented line parses to its Command; every mistake gets a GrammarError."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain import DEFAULT_OFFSETS, STANCE_ALIASES, SilenceRule, Stance, format_offset
from bot.errors import GrammarError
from bot.grammar import (
    AddDeadline,
    AskPositions,
    CancelDeadline,
    Command,
    CompleteDeadline,
    ExtendDeadline,
    FeedRequest,
    Help,
    ListDeadlines,
    ListPositions,
    MoveDeadline,
    OpenPositionForm,
    RecordPosition,
    SealDeadline,
    SetOwners,
    SetReminders,
    SetSilence,
    ShowDeadline,
    VerifyPositions,
    command_text,
    parse_command,
    parse_line,
    parse_offsets,
)
from bot.help import HELP_DEADLINE, HELP_POSITION
from bot.people import Person
from bot.words import Ref

D1 = Ref(number=1, prefix="")
DAY, HOUR, MINUTE = timedelta(days=1), timedelta(hours=1), timedelta(minutes=1)


def title(prefix: str) -> Ref:
    return Ref(number=None, prefix=prefix)


def named(*typed: str) -> tuple[Person, ...]:
    """People as typed: ``<@U1>`` a mention of U1, ``@carol`` the plain name carol."""
    return tuple(
        Person(text[2:-1], text, True) if text.startswith("<@") else Person(text[1:], text, False)
        for text in typed
    )


# The example session in DESIGN.md, line by line.
DESIGN_SESSION: list[tuple[str, Command]] = [
    (
        "/deadline add Signed usage agreement due Friday 17:00 America/New_York",
        AddDeadline(
            title="Signed usage agreement", when="Friday 17:00 America/New_York", offsets=None
        ),
    ),
    (
        "/position D1 oppose as Anthropic No mass surveillance of Americans; "
        "human judgment in final targeting",
        RecordPosition(
            ref=D1,
            stance=Stance.OPPOSE,
            party="Anthropic",
            terms="No mass surveillance of Americans; human judgment in final targeting",
        ),
    ),
    (
        '/position D1 support as "Department of Defense" License for all lawful use',
        RecordPosition(
            ref=D1,
            stance=Stance.SUPPORT,
            party="Department of Defense",
            terms="License for all lawful use",
        ),
    ),
    ("/position ask D1 @legal @policy", AskPositions(ref=D1, people=named("@legal", "@policy"))),
    (
        "/deadline extend D1 to Monday 09:00 America/New_York "
        "because best and final offer under review",
        ExtendDeadline(
            ref=D1,
            when="Monday 09:00 America/New_York",
            reason="best and final offer under review",
        ),
    ),
]

# The grammar block in DESIGN.md, one example per form, and the variations users type.
FORMS: list[tuple[str, Command]] = [
    ("/deadline add Budget due Friday", AddDeadline("Budget", "Friday", None)),
    (
        "/deadline add Budget due Friday remind 7d,2d,1d,4h,1h,15m",
        AddDeadline("Budget", "Friday", (7 * DAY, 2 * DAY, DAY, 4 * HOUR, HOUR, 15 * MINUTE)),
    ),
    (  # the LAST " due " ends the title
        "/deadline add Payment due diligence memo due Nov 30 5pm remind 1d, 1h",
        AddDeadline("Payment due diligence memo", "Nov 30 5pm", (DAY, HOUR)),
    ),
    (  # the clauses come off from the right, in any order
        '/deadline add Budget due Friday 17:00 silence extend 1d sealed expect Anthropic "D o D"',
        AddDeadline(
            "Budget",
            "Friday 17:00",
            None,
            sealed=True,
            silence=SilenceRule("extend", DAY),
            expect=("Anthropic", "D o D"),
        ),
    ),
    (
        "/deadline add Budget due Friday sealed remind 1h silence oppose expect none",
        AddDeadline("Budget", "Friday", (HOUR,), True, SilenceRule("oppose"), ()),
    ),
    ("/deadline seal D1", SealDeadline(D1)),
    ("/deadline silence D1 support", SetSilence(D1, SilenceRule("support"))),
    (
        "/deadline silence Signed usage extend 2h",
        SetSilence(title("Signed usage"), SilenceRule("extend", 2 * HOUR)),
    ),
    ("/deadline done D1 because signed as offered", CompleteDeadline(D1, "signed as offered")),
    ("/position verify D1", VerifyPositions(D1)),
    ('/deadline add "Budget" DUE friday', AddDeadline("Budget", "friday", None)),
    ("/deadline add  Budget   review  due  Friday ", AddDeadline("Budget review", "Friday", None)),
    ("/deadline list", ListDeadlines(include_closed=False)),
    ("/deadline list all", ListDeadlines(include_closed=True)),
    ("/deadline LIST ALL", ListDeadlines(include_closed=True)),
    ("/deadline show D3", ShowDeadline(Ref(3, ""))),
    ("/deadline show d3", ShowDeadline(Ref(3, ""))),
    ("/deadline show 3", ShowDeadline(Ref(3, ""))),
    ("/deadline show Signed usage", ShowDeadline(title("Signed usage"))),
    ('/deadline show "Signed usage"', ShowDeadline(title("Signed usage"))),
    ("/deadline show \u201cSigned usage\u201d", ShowDeadline(title("Signed usage"))),
    ('/deadline show "2027"', ShowDeadline(title("2027"))),  # quotes make a number a title
    (
        "/deadline extend D1 to Monday 09:00",
        ExtendDeadline(ref=D1, when="Monday 09:00", reason=""),
    ),
    (
        "/deadline extend Signed usage to Monday because the board meets",
        ExtendDeadline(ref=title("Signed usage"), when="Monday", reason="the board meets"),
    ),
    (
        '/deadline extend "Reply to offer" to Monday',
        ExtendDeadline(ref=title("Reply to offer"), when="Monday", reason=""),
    ),
    (
        "/deadline extend D1 Monday 09:00",  # "to" left out
        ExtendDeadline(ref=D1, when="Monday 09:00", reason=""),
    ),
    (
        "/deadline move D1 to Thursday 17:00 because the board meets early",
        MoveDeadline(ref=D1, when="Thursday 17:00", reason="the board meets early"),
    ),
    ('/deadline move "Reply to offer" Monday', MoveDeadline(title("Reply to offer"), "Monday", "")),
    ("/deadline done D1", CompleteDeadline(D1)),
    ("/deadline cancel D1", CancelDeadline(D1)),
    (
        "/deadline remind D1 7d,2d,1d,4h,1h,15m",
        SetReminders(D1, (7 * DAY, 2 * DAY, DAY, 4 * HOUR, HOUR, 15 * MINUTE)),
    ),
    ("/deadline remind Signed usage 1d, 2h", SetReminders(title("Signed usage"), (DAY, 2 * HOUR))),
    ('/deadline remind "Signed usage" 1w', SetReminders(title("Signed usage"), (7 * DAY,))),
    ("/deadline feed", FeedRequest("channel")),
    ("/deadline feed mine", FeedRequest("mine")),
    ("/deadline feed revoke", FeedRequest("revoke")),
    ("/deadline feed mine revoke", FeedRequest("mine-revoke")),
    ("/deadline feed revoke  mine", FeedRequest("mine-revoke")),
    ("/deadline help", Help("deadline")),
    ("/deadline", Help("deadline")),
    ("/position D1 support", RecordPosition(D1, Stance.SUPPORT, None, None)),
    ("/position D1 yes", RecordPosition(D1, Stance.SUPPORT, None, None)),
    ("/position D1 Reject: never", RecordPosition(D1, Stance.OPPOSE, None, "never")),
    ("/position D1 maybe", RecordPosition(D1, Stance.UNDECIDED, None, None)),
    ("/position D1 no terms none", RecordPosition(D1, Stance.OPPOSE, None, "")),
    ("/position D1 no as Acme Terms  NONE", RecordPosition(D1, Stance.OPPOSE, "Acme", "")),
    (  # "terms none" clears only as the whole remainder
        "/position D1 no terms none of these",
        RecordPosition(D1, Stance.OPPOSE, None, "terms none of these"),
    ),
    (
        "/position D1 conditional if a human decides",
        RecordPosition(D1, Stance.CONDITIONAL, None, "if a human decides"),
    ),
    (
        "/position D1 agree as \u201cDepartment of Defense\u201d lawful use",
        RecordPosition(D1, Stance.SUPPORT, "Department of Defense", "lawful use"),
    ),
    (
        '/position "Signed usage" oppose as Anthropic',
        RecordPosition(title("Signed usage"), Stance.OPPOSE, "Anthropic", None),
    ),
    ("/position D1", OpenPositionForm(D1)),
    ('/position "Signed usage"', OpenPositionForm(title("Signed usage"))),
    ("/position list D1", ListPositions(D1)),
    ("/position list Signed usage", ListPositions(title("Signed usage"))),
    (
        "/position ask D1 <@U123> <@U456|bob>, @carol @carol",
        AskPositions(
            D1, (*named("<@U123>"), Person("U456", "<@U456|bob>", True), *named("@carol"))
        ),
    ),
    ("/deadline owners D1", SetOwners(D1, (), remove=False)),
    ("/deadline owners D1 <@U2> @sam", SetOwners(D1, named("<@U2>", "@sam"), remove=False)),
    ("/deadline owners D1 add <@U2>", SetOwners(D1, named("<@U2>"), remove=False)),
    ("/deadline owners D1 REMOVE <@U2>", SetOwners(D1, named("<@U2>"), remove=True)),
    ('/deadline owners "Signed" @sam', SetOwners(title("Signed"), named("@sam"), remove=False)),
    ("/position help", Help("position")),
    ("/position", Help("position")),
]


@pytest.mark.parametrize(("line", "expected"), DESIGN_SESSION + FORMS)
def test_line_parses(line: str, expected: Command) -> None:
    assert parse_line(line) == expected


@pytest.mark.parametrize(("line", "expected"), DESIGN_SESSION + FORMS)
def test_slash_command_and_text_parse_the_same(line: str, expected: Command) -> None:
    command, _, text = line.partition(" ")
    assert parse_command(command, text) == expected
    assert parse_command(command.lstrip("/").upper(), text) == expected
    assert parse_line(line.lstrip("/")) == expected


@pytest.mark.parametrize("alias", sorted(STANCE_ALIASES))
def test_every_stance_alias(alias: str) -> None:
    parsed = parse_command("position", f"D2 {alias.upper()} terms")
    assert parsed == RecordPosition(Ref(2, ""), STANCE_ALIASES[alias], None, "terms")


@pytest.mark.parametrize(
    ("command", "text", "message", "hint"),
    [
        (
            "deadline",
            "add Budget Friday",
            'I couldn\'t find "due" in "add Budget Friday".',
            "Usage: /deadline add <title> due <when> [remind <offsets>]",
        ),
        ("deadline", "add due Friday", 'no title before "due"', "/deadline add"),
        ("deadline", "add Budget due", 'no time after "due"', "/deadline add"),
        ("deadline", "add Budget due remind 1d", 'no time after "due"', "/deadline add"),
        (
            "deadline",
            "add Budget due Friday remind me",
            'the remind clause "remind me"',
            "/deadline add",
        ),
        (
            "deadline",
            "add Budget due Friday silence maybe",
            'the silence clause "silence maybe"',
            "/deadline add",
        ),
        (
            "deadline",
            "add Budget due Friday silence extend",
            "extend needs one offset",
            "/deadline add",
        ),
        (
            "deadline",
            "add Budget due Friday sealed sealed",
            'the "sealed" clause twice',
            "/deadline add",
        ),
        ("deadline", "silence D1 sometimes", "couldn't find a silence rule", "/deadline silence"),
        ("deadline", "done D1 because", "no reason after it", "/deadline done"),
        ("deadline", "list everything", 'not "everything"', "/deadline list [all]"),
        ("deadline", "show", "Which deadline?", "/deadline show <ref>"),
        ("deadline", "done", "Which deadline?", "/deadline done <ref>"),
        ("deadline", "cancel", "Which deadline?", "/deadline cancel <ref>"),
        ("deadline", 'show "Signed usage" now', 'didn\'t expect "now"', "/deadline show"),
        ("deadline", 'show "Signed usage', "never closed", "/deadline show"),
        ("deadline", 'show ""', "empty title", "/deadline show"),
        ("deadline", "show D12345678901", "not a deadline number", "/deadline show"),
        ("deadline", "extend", "Which deadline", "/deadline extend"),
        ("deadline", "extend D1", "couldn't find the new time", "/deadline extend"),
        ("deadline", "extend D1 to", "couldn't find the new time", "/deadline extend"),
        ("deadline", "extend to Monday", 'no deadline before "to"', "/deadline extend"),
        ("deadline", "extend D1 to Monday because", "no reason", "/deadline extend"),
        ("deadline", "remind", "Which deadline", "/deadline remind"),
        ("deadline", "remind D1", "no reminder offsets", "/deadline remind"),
        ("deadline", "remind D1 soon", '"soon" as a reminder offset', "/deadline remind"),
        ("deadline", "remind D1 9w", "more than 8 weeks", "/deadline remind"),
        ("deadline", "remind D1 0m", "at least 1", "/deadline remind"),
        ("deadline", "feed everyone", "use mine, revoke or mine revoke", "/deadline feed"),
        ("deadline", "frobnicate D1", 'I don\'t know "/deadline frobnicate".', "/deadline help"),
        ("deadline", "ad Budget due Friday", 'Did you mean "add"?', "/deadline help"),
        ("deadline", "extnd D1 to Monday", 'Did you mean "extend"?', "/deadline help"),
        (
            "position",
            "D1 perhaps",
            '"perhaps" is not a stance. Stances: support (accept, yes, agree), '
            "oppose (reject, no), conditional, undecided (maybe).",
            "Usage: /position <ref> <stance> [as <party>] [<terms>|terms none]",
        ),
        (
            "position",
            "Signed usage oppose",
            'A title of several words needs quotes: /position "Signed usage" ...',
            "/position <ref> <stance>",
        ),
        ("position", "D1 yes as", 'has "as" but no party', "/position <ref> <stance>"),
        ("position", 'D1 yes as ""', "empty party name", "/position <ref> <stance>"),
        ("position", 'D1 yes as "Dept of', "never closed", "/position <ref> <stance>"),
        ("position", "list", "Which deadline?", "/position list <ref>"),
        ("position", "ask", "Whose positions", "/position ask"),
        ("position", "ask D1", "names nobody", "/position ask"),
        ("position", "ask D1 legal", '"legal" in "ask D1 legal" is not a mention', "/position ask"),
        ("position", "ask D1 @legal and @policy", '"and"', "/position ask"),
        ("position", "ask D1 <#C0SECRET>", '"<#C0SECRET>" in "ask D1 <#C0SECRET>" is a ch', ""),
        ("position", "ask D1 @legal <!here>", '"<!here>" in "ask D1 @legal <!here>" is a ch', ""),
        ("position", "ask D1 <!subteam^S1|@legal>", "is a channel or a group", "/position ask"),
        ("deadline", "owners", "Which deadline's owners?", "/deadline owners"),
        ("deadline", "owners D1 remove", 'has "remove" but names nobody', "/deadline owners"),
        ("deadline", "owners D1 <#C1>", "is a channel or a group, not a person", ""),
        (
            "calendar",
            "add x",
            "I only know /deadline, /position, /party and /offer",
            "/deadline help",
        ),
    ],
)
def test_grammar_errors(command: str, text: str, message: str, hint: str) -> None:
    with pytest.raises(GrammarError) as caught:
        parse_command(command, text)
    assert message in caught.value.message
    assert hint in caught.value.hint


@pytest.mark.parametrize("line", ["", "hello there", "/remind me", "deadlines list"])
def test_lines_that_are_not_commands(line: str) -> None:
    with pytest.raises(GrammarError, match="start with /deadline or /position"):
        parse_line(line)


def test_offsets_sorted_longest_first_without_repeats() -> None:
    assert parse_offsets("15m,1h, 1d 1D,60m 2w") == (14 * DAY, DAY, HOUR, 15 * MINUTE)
    assert parse_offsets("8w") == (timedelta(weeks=8),)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "at least one"),
        (" , ", "at least one"),
        ("7", '"7" as a reminder offset'),
        ("7x", '"7x" as a reminder offset'),
        ("-1d", '"-1d" as a reminder offset'),
        ("1.5h", '"1.5h" as a reminder offset'),
        ("0d", "at least 1"),
        ("57d", "more than 8 weeks"),
        ("99999999999999999999999d", "as a reminder offset"),
        ("1m,2m,3m,4m,5m,6m,7m,8m,9m,10m,11m", "at most 10"),
    ],
)
def test_offsets_refused(text: str, message: str) -> None:
    with pytest.raises(GrammarError) as caught:
        parse_offsets(text)
    assert message in caught.value.message


def test_default_offsets_round_trip_through_format_offset() -> None:
    text = ",".join(format_offset(offset) for offset in DEFAULT_OFFSETS)
    assert parse_offsets(text) == DEFAULT_OFFSETS


def test_help_lists_every_form_with_an_example() -> None:
    forms = (
        "add", "list", "show", "extend", "move", "done", "cancel", "remind", "owners", "feed",
        "brief", "expect", "seal", "silence", "escalate", "help",
    )  # fmt: skip
    for form in forms:
        assert f"/deadline {form}" in HELP_DEADLINE
    assert HELP_DEADLINE.count("e.g. /deadline") == 15  # all but "help" itself
    for form in (
        "<ref> <stance>", "list <ref>", "ask <ref>", "nudge <ref>", "verify <ref>", "help",
    ):  # fmt: skip
        assert f"/position {form}" in HELP_POSITION
    for alias in STANCE_ALIASES:
        assert alias in HELP_POSITION
    assert HELP_POSITION.count("e.g. /position") == 6


@settings(max_examples=1000, deadline=None)
@given(st.lists(st.integers(1, 8 * 7 * 24 * 60), min_size=1, max_size=10))
def test_offsets_round_trip(minutes: list[int]) -> None:
    offsets = tuple(sorted({timedelta(minutes=m) for m in minutes}, reverse=True))
    assert parse_offsets(", ".join(format_offset(offset) for offset in offsets)) == offsets


WORDS = [
    "/deadline", "deadline", "/position", "position", "add", "due", "remind", "list", "all",
    "show", "extend", "to", "because", "done", "cancel", "feed", "mine", "revoke", "help",
    "ask", "as", "D1", "d0", "3", "99999999999", "7d,1h", "0m", "9w", "support", "no", "maybe",
    '"', "\u201c", "\u201d", '""', "<@U1>", "<@U2|bob>", "@x", "<@", "|", ",", "\u0663",
    "\u0130", "\U0001f600", "Friday", "\n", "\t", " ",
]  # fmt: skip


@settings(max_examples=3000, deadline=None)
@given(
    command=st.one_of(st.sampled_from(["deadline", "/position", "/DEADLINE", "x"]), st.text()),
    text=st.one_of(
        st.text(max_size=80),
        st.lists(st.sampled_from(WORDS), max_size=10).map(" ".join),
        st.lists(st.sampled_from(WORDS), max_size=10).map("".join),
    ),
)
def test_only_grammar_errors_escape(command: str, text: str) -> None:
    for line in (None, f"{command} {text}"):
        try:
            parsed = parse_command(command, text) if line is None else parse_line(line)
        except GrammarError as error:
            assert error.message
            continue
        if isinstance(parsed, AddDeadline):
            assert parsed.title.strip() and parsed.when.strip()
        if isinstance(parsed, AskPositions):
            assert parsed.people


@settings(max_examples=2000, deadline=None)
@given(st.text(max_size=40))
def test_parse_offsets_raises_only_grammar_errors(text: str) -> None:
    try:
        offsets = parse_offsets(text)
    except GrammarError:
        return
    assert offsets == tuple(sorted(set(offsets), reverse=True))
    assert all(MINUTE <= offset <= timedelta(weeks=8) for offset in offsets)


@pytest.mark.parametrize(
    "command",
    [
        AddDeadline(title="Signed usage agreement", when="2026-12-04T18:00-05:00", offsets=None),
        AddDeadline(title="Reply due soon", when="2026-12-04 18:00 Asia/Tokyo", offsets=(DAY,)),
        AddDeadline(title='"Quoted" title', when="2026-12-04T18:00-05:00", offsets=None),
        ExtendDeadline(ref=D1, when="2026-12-07T09:00-05:00", reason=""),
        ExtendDeadline(ref=title("Reply to offer"), when="2026-12-07T09:00-05:00", reason="x"),
        MoveDeadline(ref=D1, when="2026-12-03T17:00-05:00", reason="because of the board"),
    ],
)
def test_command_text_reads_back_as_the_same_command(
    command: AddDeadline | ExtendDeadline | MoveDeadline,
) -> None:
    assert parse_command("deadline", command_text(command)) == command
