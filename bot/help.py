"""Help text and usage lines for ``/deadline``, ``/position``, ``/party`` and
``/offer``, shared by the grammar's errors.

``DEADLINE_FORMS`` and ``POSITION_FORMS`` map each subcommand to its usage
line and an example; ``HELP_DEADLINE`` and ``HELP_POSITION`` are what
``/deadline help`` and ``/position help`` answer, including the time rules
(docs/time.md has the full table of phrases).
"""

from __future__ import annotations

from bot.domain import STANCE_ALIASES, Stance

DEADLINE_FORMS: dict[str, tuple[str, str]] = {
    "add": (
        "/deadline add <title> due <when> [remind <offsets>] [sealed] [silence <rule>] "
        "[expect <parties>|none]",
        "/deadline add Signed usage agreement due Friday 17:00 America/New_York sealed "
        "silence oppose",
    ),
    "list": ("/deadline list [all]", "/deadline list all"),
    "show": ("/deadline show <ref>", "/deadline show D1"),
    "extend": (
        "/deadline extend <ref> to <when> [because <reason>]",
        "/deadline extend D1 to Monday 09:00 America/New_York because the offer is under review",
    ),
    "move": (
        "/deadline move <ref> to <when> [because <reason>]",
        "/deadline move D1 to Thursday 17:00 because the board meets a day early",
    ),
    "done": (
        "/deadline done <ref> [because <reason>]",
        "/deadline done D1 because signed with both red lines",
    ),
    "cancel": ("/deadline cancel <ref>", "/deadline cancel D1"),
    "remind": ("/deadline remind <ref> <offsets>", "/deadline remind D1 7d,2d,1d,4h,1h,15m"),
    "owners": ("/deadline owners <ref> [remove] <@user> ...", "/deadline owners D1 @sam"),
    "feed": ("/deadline feed [mine|revoke|mine revoke]", "/deadline feed mine"),
    "brief": ("/deadline brief [<ref>|revoke]", "/deadline brief D1"),
    "expect": ("/deadline expect <ref> <party> ...|none", '/deadline expect D1 Anthropic "DoD"'),
    "escalate": (
        "/deadline escalate <ref> [<ladder>|off]",
        "/deadline escalate D1 1d:dm,4h:owners,1h:channel",
    ),
    "seal": ("/deadline seal <ref>", "/deadline seal D1"),
    "silence": (
        "/deadline silence <ref> support|oppose|extend <offset>|none",
        "/deadline silence D1 extend 1d",
    ),
    "help": ("/deadline help", "/deadline help"),
}
POSITION_FORMS: dict[str, tuple[str, str]] = {
    "record": (
        "/position <ref> <stance> [as <party>] [<terms>|terms none]",
        '/position D1 support as "Department of Defense" License for all lawful use',
    ),
    "form": ("/position <ref>", "/position D1"),
    "list": ("/position list <ref>", "/position list D1"),
    "ask": ("/position ask <ref> <@user> [<@user> ...]", "/position ask D1 @legal @policy"),
    "nudge": ("/position nudge <ref>", "/position nudge D1"),
    "verify": ("/position verify <ref>", "/position verify D1"),
    "help": ("/position help", "/position help"),
}
PARTY_FORMS: dict[str, tuple[str, str]] = {
    "add": ("/party add <name> [<@rep> ...]", '/party add "Department of Defense" @pete'),
    "remove": ("/party remove <name> [<@rep> ...]", "/party remove Anthropic @dana"),
    "list": ("/party list", "/party list"),
    "help": ("/party help", "/party help"),
}
PARTY_HINT = "Type /party help to see every /party command."
OFFER_FORMS: dict[str, tuple[str, str]] = {
    "record": (
        "/offer <ref> <title> [<url>] [from <party>]",
        "/offer D1 Best and final offer https://example.com/bafo.pdf from Anthropic",
    ),
    "list": ("/offer list <ref>", "/offer list D1"),
    "help": ("/offer help", "/offer help"),
}
OFFER_HINT = "Type /offer help to see every /offer command."
DEADLINE_HINT = "Type /deadline help to see every /deadline command."
POSITION_HINT = "Type /position help to see every /position command."


def usage(form: tuple[str, str]) -> str:
    return f"Usage: {form[0]}  e.g. {form[1]}"


def _help_line(form: tuple[str, str]) -> str:
    usage_line, example = form
    return usage_line if usage_line == example else f"{usage_line}\n    e.g. {example}"


def stances_text() -> str:
    aliases: dict[Stance, list[str]] = {stance: [] for stance in Stance}
    for word, stance in STANCE_ALIASES.items():
        if word != stance.value:
            aliases[stance].append(word)
    return ", ".join(
        stance.value + (f" ({', '.join(aliases[stance])})" if aliases[stance] else "")
        for stance in Stance
    )


HELP_DEADLINE = "\n".join(
    [
        "*Deadlines* (what is due, when, in your time zone)",
        *(_help_line(form) for form in DEADLINE_FORMS.values()),
        "",
        "<ref>: the deadline's number (D1 or 1), or the start of its title; "
        'quote a title where more words follow ("Signed usage").',
        "<when>: Friday 17:00 · Fri 5pm ET · 5pm Pacific · Friday 17h · tomorrow 9am · "
        "first thing Monday · COB Friday · in 3 days · in 3 business days · a week from Friday · "
        "2026-11-27 17:00 America/New_York · 2026-11-27T17:00-05:00. "
        "Your own time zone unless you name one (an IANA name, or ET, PT, JST, AEST ...; "
        "IST, CST and BST mean several zones, so I ask).",
        "Time rules: a bare time (5pm, 17:00, noon, end of day) is its next occurrence: today "
        "if still ahead, else tomorrow. A day without a time means 17:00, as do COB and EOD. "
        "Vague times (Friday evening, tonight, end of week) are never guessed: I offer choices.",
        "extend only moves a deadline later: a time without a date (Monday 09:00) is the first "
        "one after the current due time. move goes either way, and an earlier time is announced "
        "as moved earlier. Both read times in your zone; the deadline keeps its own zone unless "
        "you name another.",
        "<offsets>: reminders before the deadline, <n>m, <n>h, <n>d or <n>w, comma-separated "
        "(default 7d,1d,4h,1h,15m; at most 8 weeks). The deadline itself is always announced.",
        "done marks a deadline as met; feed gives a private calendar (iCal) link for this "
        "channel, mine for all of yours; revoke makes the links given so far stop working.",
        "brief gives a private web page (timeline, positions, offers) for this channel's "
        "negotiation, or for one deadline; brief revoke makes every brief link of this channel "
        "stop working and gives a new one.",
        "Owners: whoever adds a deadline owns it, and may name co-owners with owners "
        "(remove takes them off again; the last owner stays). Only owners extend, move, "
        "cancel, mark done, change reminders or owners.",
        "expect: which declared parties the deadline waits for (none: no party). A deadline "
        "expects the parties declared before it was added.",
        "escalate: a ladder of <offset>:<step> rungs reaching only the silent (those asked "
        "and the parties expected who have not answered): dm messages each of them (a "
        "party's reps), owners tells the owners who is silent, channel mentions them here. "
        "Alone it sets the default 1d:dm,4h:owners,1h:channel; off removes the ladder. "
        "Without a ladder, the silent asked get a reminder at 1d and 1h. Owners only.",
        "sealed: positions are commit-reveal: each is answered privately with a receipt, the "
        "channel sees only a commitment, and all are revealed at the deadline (or when it is "
        "marked done or cancelled). seal turns it on while no position is recorded.",
        "silence <rule>: at the deadline, the silent (expected parties and asked people with no "
        "position) are recorded as support or oppose (by silence), or the deadline is extended "
        "once by the offset (extend 1d), or, with none, listed as silent.",
        "Numbers count per channel: D1 here is not D1 elsewhere. In a direct message with me, "
        "a reference reaches the deadlines you own or were asked about, in any channel.",
    ]
)

HELP_POSITION = "\n".join(
    [
        "*Positions* (who stands where on a deadline)",
        *(_help_line(form) for form in POSITION_FORMS.values()),
        "",
        f"<stance>: {stances_text()}.",
        '<party>: one word, or a quoted name (as "Department of Defense"); '
        "without it the position is your own.",
        "<terms>: the rest of the line, e.g. your red lines. Without terms, the current ones "
        "stay; terms none clears them.",
        "Once parties are declared (/party add), as <party> must name one of them. A party's "
        "position is recorded by its reps (/party add <name> @rep); a party without reps by "
        "whoever first recorded it. Owners get no exception. Your own position only by you.",
        "/position <ref> alone opens a form; /position list shows every position and who has "
        "not answered; /position ask requests positions and nudges those who have not answered.",
        "/position nudge messages everyone still silent now (the asked and the reps of "
        "expected parties); anyone here may, once an hour per deadline.",
        "On a sealed deadline your position is answered with a private receipt (label, stance, "
        "terms, salt, commitment); /position verify lists the commitments and, once revealed, "
        "checks each. In a Teams channel, use the form (/position <ref>) for a sealed position.",
    ]
)

HELP_PARTY = "\n".join(
    [
        "*Parties* (the sides of this channel's negotiation)",
        *(_help_line(form) for form in PARTY_FORMS.values()),
        "",
        "<name>: the text before the first @mention; quote it if it holds an @. Names match "
        "whatever the case, keep the spelling declared, and are at most 100 characters.",
        "add on an existing party adds reps; remove with reps takes them off, without reps "
        "removes the party. Once a party has reps, only they record its position, and only "
        "they add or remove reps.",
        "Deadlines added after a party is declared expect it: the matrix and show list it as "
        "silent until one of its reps records a position (/deadline expect changes that).",
    ]
)

HELP_OFFER = "\n".join(
    [
        "*Offers* (the versions on the table: O1, O2, ...)",
        *(_help_line(form) for form in OFFER_FORMS.values()),
        "",
        "<url>: the last http(s) link in the line; shown by its host. Only http and https "
        "links, and none with a user name or password in them.",
        "from <party>: the last words, when they name a declared party (/party add); "
        "otherwise they stay part of the title.",
        "Anyone in the channel may record an offer. Each position remembers the offer it "
        "answered: after a new offer, the matrix marks older positions (on O1).",
    ]
)
