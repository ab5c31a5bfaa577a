"""``parley teams-package``: the zip Teams takes, from the package data and the settings."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from adapters.teams.package import APP_FILES, draw_icons, png_size
from bot.config import load_settings
from bot.errors import ConfigurationError
from bot.grammar import COMMAND_WORDS
from bot.main import COMMANDS, build_parser
from tests.data.schemas import teams_manifest_validator, violations

APP_ID = "3f2a1b0c-9d8e-4f7a-8b6c-5d4e3f2a1b0c"


async def parley(*argv: str) -> int:
    """``parley …`` as ``bot.main.main`` runs it, short of configuring logging for the
    whole process (and of turning errors into an exit status)."""
    settings = load_settings()
    args = build_parser(settings).parse_args(argv)
    return await COMMANDS[args.command](settings, args)


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.chdir(tmp_path)  # no .env file from the developer's checkout
    monkeypatch.setenv("MICROSOFT_APP_ID", APP_ID)
    monkeypatch.setenv("MICROSOFT_APP_PASSWORD", "secret")
    monkeypatch.setenv("PUBLIC_URL", "https://parley.example.com/")
    return tmp_path


async def test_teams_package_writes_the_app_zip(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = env / "out" / "parley.zip"
    assert await parley("teams-package", "-o", str(output)) == 0
    assert str(output) in capsys.readouterr().out
    with zipfile.ZipFile(output) as archive:
        assert sorted(archive.namelist()) == ["color.png", "manifest.json", "outline.png"]
        manifest = json.loads(archive.read("manifest.json"))
        assert png_size(archive.read("color.png")) == (192, 192)
        assert png_size(archive.read("outline.png")) == (32, 32)
    version = manifest["manifestVersion"]
    assert violations(teams_manifest_validator(version), manifest) == []
    assert manifest["$schema"].endswith(f"/v{version}/MicrosoftTeams.schema.json")
    assert manifest["id"] == APP_ID
    [bot] = manifest["bots"]
    assert bot["botId"] == APP_ID
    assert sorted(bot["scopes"]) == ["groupChat", "personal", "team"]
    lists = {scope: group["commands"] for group in bot["commandLists"] for scope in group["scopes"]}
    assert sorted(lists) == ["groupChat", "personal", "team"]
    assert sum(len(group["scopes"]) for group in bot["commandLists"]) == 3  # each scope once
    for commands in lists.values():
        assert len(commands) <= 10  # Teams' limit per scope
        assert all(len(c["title"]) <= 32 and len(c["description"]) <= 128 for c in commands)
    # Every command word of the grammar is offered in channels and group chats ...
    in_channels = [c["title"] for c in lists["team"]]
    assert {title.split()[0] for title in in_channels} == set(COMMAND_WORDS)
    assert "deadline add" in in_channels and "position ask" in in_channels
    # ... and the personal chat offers the home first.
    personal = [c["title"] for c in lists["personal"]]
    assert personal[0] == "home" and "deadline list" in personal and "position" in personal
    assert manifest["validDomains"] == ["parley.example.com"]
    assert manifest["developer"]["websiteUrl"] == "https://parley.example.com"
    assert "{{" not in json.dumps(manifest)


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("MICROSOFT_APP_ID", "", "MICROSOFT_APP_ID is not set"),
        ("MICROSOFT_APP_ID", "parley", "must be a GUID"),
        ("PUBLIC_URL", "http://localhost:3000", "must be https"),
    ],
)
async def test_teams_package_says_what_is_missing(
    env: Path, monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    monkeypatch.setenv(variable, value)
    if variable == "MICROSOFT_APP_ID" and not value:
        monkeypatch.setenv("MICROSOFT_APP_PASSWORD", "")
    with pytest.raises(ConfigurationError, match=message):
        await parley("teams-package", "-o", str(env / "p.zip"))
    assert not (env / "p.zip").exists()


def test_the_committed_icons_are_the_drawn_ones() -> None:
    for name, content in draw_icons().items():
        assert (APP_FILES / name).read_bytes() == content, "run python -m adapters.teams.package"
