"""Sealed positions, the silence rule and the outcome through the shell: the add
clauses, seal, silence, receipts, what everyone else sees before the reveal, verify,
and done/cancel revealing."""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from bot.messages import Audience
from bot.sealing import commitment, new_salt
from tests.conftest import Chat

ADD = "/deadline add Signed usage agreement due 2026-11-27T17:00-05:00"
RED_LINE = "No mass surveillance of Americans"


def receipt_fields(text: str) -> dict[str, str]:
    """A receipt's fields (the shell shows code spans without their backticks)."""
    return dict(re.findall(r"^(label|stance|terms|salt|commitment): `?(.*?)`?$", text, re.M))


def sha(salt: str, label: str, stance: str, terms: str) -> str:
    return hashlib.sha256(f"{salt}\n{label}\n{stance}\n{terms}".encode()).hexdigest()


async def test_add_takes_the_clauses_and_the_card_and_show_name_them(chat: Chat) -> None:
    await chat.say("/party add Anthropic @dana")
    await chat.say('/party add "Department of Defense" @pete')
    card = await chat.say(f"{ADD} silence extend 1d sealed expect Anthropic")
    assert "Positions sealed until the deadline" in card
    assert "If silent: extend 1d: extended once by 1d" in card
    shown = await chat.say("/deadline show D1")
    assert "Sealed: sealed until the deadline" in shown
    assert "If silent: extend 1d" in shown
    assert "Silent: Anthropic" in shown and "Department of Defense" not in shown
    refused = await chat.say(f"{ADD} silence sometimes")
    assert 'the silence clause "silence sometimes"' in refused
    refused = await chat.say(f"{ADD} expect Anthropik")
    assert 'Did you mean "Anthropic"' in refused


async def test_seal_and_silence_are_for_owners_and_seal_only_before_positions(chat: Chat) -> None:
    await chat.say(ADD)
    refused = await chat.say("/deadline seal D1", user="mallory")
    assert "Only @alex (owner) can seal D1" in refused
    refused = await chat.say("/deadline silence D1 oppose", user="mallory")
    assert "Only @alex (owner) can change D1's silence rule" in refused
    said = await chat.say("/deadline silence D1 oppose")
    assert "set the silence rule of D1" in said and chat.audiences == [Audience.CHANNEL]
    assert "If silent: oppose" in await chat.say("/deadline show D1")
    await chat.say(f"{ADD.replace('Signed usage', 'Second')}")
    await chat.say("/position D2 support")
    refused = await chat.say("/deadline seal D2")
    assert "only before any position is recorded" in refused
    assert "sealed positions on D1" in await chat.say("/deadline seal D1")
    assert "already sealed" in await chat.say("/deadline seal D1")
    assert "positions sealed by @alex" in await chat.say("/deadline show D1")


async def test_a_sealed_position_is_a_private_receipt_and_a_public_commitment(chat: Chat) -> None:
    await chat.say("/party add Anthropic @dana")
    await chat.say(f"{ADD} sealed")
    said = await chat.say(f"/position D1 oppose as anthropic {RED_LINE}", user="dana")
    public, private = chat.replies
    assert public.audience is Audience.CHANNEL and RED_LINE not in public.fallback
    assert private.audience is Audience.EPHEMERAL and private.user_id == "dana"
    assert private.sensitive
    fields = receipt_fields(said)
    assert fields["label"] == "Anthropic" and fields["stance"] == "oppose"
    assert fields["terms"] == RED_LINE and re.fullmatch("[0-9a-f]{32}", fields["salt"])
    assert fields["commitment"] == sha(fields["salt"], "Anthropic", "oppose", RED_LINE)
    assert (
        f"Anthropic has recorded a sealed position (commitment `{fields['commitment'][:8]}…`)"
        in public.fallback
    )
    # An own position is committed under the user id printed in the receipt.
    mine = receipt_fields(await chat.say("/position D1 support", user="sam"))
    assert mine["label"] == "sam"
    assert mine["commitment"] == sha(mine["salt"], "sam", "support", "")
    # Nothing shows the stance or the terms before the reveal, to anyone, owners included.
    for line in ("/position list D1", "/deadline show D1", "/party list", "/deadline list"):
        for user in ("alex", "dana", "pete"):
            text = await chat.say(line, user=user)
            assert RED_LINE not in text and "oppose" not in text, (line, user)
    matrix = await chat.say("/position list D1")
    assert f"Anthropic: sealed (commitment {fields['commitment'][:8]}…)" in matrix
    assert "2 sealed" in await chat.say("/deadline show D1")
    verify = await chat.say("/position verify D1")
    assert fields["commitment"] in verify and "sealed until the reveal" in verify
    export = str(await chat.runtime.repository.export_all())
    assert RED_LINE in export  # the operator can read it: docs/security.md says so
    # Changing it issues a new commitment; the history keeps both.
    again = receipt_fields(await chat.say("/position D1 conditional as Anthropic", user="dana"))
    assert again["terms"] == RED_LINE and again["commitment"] != fields["commitment"]
    history = await chat.say("/deadline show D1")
    assert fields["commitment"][:8] in history and again["commitment"][:8] in history
    assert RED_LINE not in history and "conditional" not in history


async def test_done_reveals_with_the_outcome_and_verify_checks(chat: Chat) -> None:
    await chat.say("/party add Anthropic @dana")
    await chat.say(f"{ADD} sealed")
    fields = receipt_fields(
        await chat.say(f"/position D1 oppose as Anthropic {RED_LINE}", user="dana")
    )
    done = await chat.say("/deadline done D1 because signed with both red lines")
    assert "marked done (met) D1 Signed usage agreement because signed with both red lines" in done
    assert "Outcome: met because signed with both red lines" in done
    assert "Anthropic: oppose — " + RED_LINE in done
    for name, value in fields.items():
        assert f"{name} {value}" in done, name
    assert "/position verify D1" in done
    verify = await chat.say("/position verify D1")
    assert "✅ checks" in verify and "NOT" not in verify
    shown = await chat.say("/deadline show D1")
    assert "because signed with both red lines" in shown and RED_LINE in shown


async def test_cancel_reveals_too(chat: Chat) -> None:
    await chat.say(f"{ADD} sealed")
    await chat.say(f"/position D1 oppose {RED_LINE}", user="sam")
    cancelled = await chat.say("/deadline cancel D1")
    assert RED_LINE in cancelled and "revealed" in cancelled


async def test_a_typed_sealed_position_in_a_teams_channel_is_refused(chat: Chat) -> None:
    await chat.say(f"{ADD} sealed")
    refused = await chat.say(f"/position D1 oppose {RED_LINE}", platform="teams")
    assert "Use the form" in refused and "Nothing was recorded" in refused
    assert "No positions yet" in await chat.say("/position list D1")


@pytest.mark.parametrize("terms", [RED_LINE, "", "100% -n \\n 'quoted'\nsecond line  "])
def test_the_docs_recipe_gives_the_commitment_byte_for_byte(terms: str) -> None:
    docs = Path(__file__).parents[2] / "docs" / "security.md"
    [recipe] = [line for line in docs.read_text().splitlines() if line.startswith("printf ")]
    salt = new_salt()
    env = {"SALT": salt, "LABEL": "Department of Defense", "STANCE": "oppose", "TERMS": terms}
    shell = shutil.which("sh")
    assert shell is not None
    out = subprocess.run(
        [shell, "-c", recipe], env=env, capture_output=True, text=True, check=True
    ).stdout
    expected = commitment(salt=salt, label="Department of Defense", stance="oppose", terms=terms)
    assert out.split()[0] == expected == sha(salt, "Department of Defense", "oppose", terms)


async def test_expect_in_add_names_declared_parties_only(chat: Chat) -> None:
    refused = await chat.say(f"{ADD} expect Anthropic")
    assert "none is declared here yet" in refused and "/party add" in refused
    await chat.say("/party add Anthropic")
    await chat.say('/party add "Department of Defense"')
    await chat.say(f"{ADD} expect none")
    assert "Silent" not in await chat.say("/position list D1")
