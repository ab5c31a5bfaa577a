"""``parley teams-package``: the zip Teams takes, from infra/teams and the settings."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from adapters.teams.package import SOURCE, draw_icons, png_size
from bot.main import main

APP_ID = "3f2a1b0c-9d8e-4f7a-8b6c-5d4e3f2a1b0c"


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.chdir(tmp_path)  # no .env file from the developer's checkout
    monkeypatch.setenv("MICROSOFT_APP_ID", APP_ID)
    monkeypatch.setenv("MICROSOFT_APP_PASSWORD", "secret")
    monkeypatch.setenv("PUBLIC_URL", "https://parley.example.com/")
    return tmp_path


def test_teams_package_writes_the_app_zip(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    output = env / "out" / "parley.zip"
    assert main(["teams-package", "-o", str(output)]) == 0
    assert str(output) in capsys.readouterr().out
    with zipfile.ZipFile(output) as archive:
        assert sorted(archive.namelist()) == ["color.png", "manifest.json", "outline.png"]
        manifest = json.loads(archive.read("manifest.json"))
        assert png_size(archive.read("color.png")) == (192, 192)
        assert png_size(archive.read("outline.png")) == (32, 32)
    assert manifest["id"] == APP_ID
    [bot] = manifest["bots"]
    assert bot["botId"] == APP_ID
    assert sorted(bot["scopes"]) == ["groupChat", "personal", "team"]
    [commands] = bot["commandLists"]
    assert sorted(commands["scopes"]) == ["groupChat", "personal", "team"]
    titles = [c["title"] for c in commands["commands"]]
    assert "deadline add" in titles and "position ask" in titles
    assert len(titles) <= 10
    assert all(len(c["title"]) <= 32 and len(c["description"]) <= 128 for c in commands["commands"])
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
def test_teams_package_says_what_is_missing(
    env: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    variable: str,
    value: str,
    message: str,
) -> None:
    monkeypatch.setenv(variable, value)
    if variable == "MICROSOFT_APP_ID" and not value:
        monkeypatch.setenv("MICROSOFT_APP_PASSWORD", "")
    assert main(["teams-package", "-o", str(env / "p.zip")]) == 1
    assert message in capsys.readouterr().err
    assert not (env / "p.zip").exists()


def test_the_committed_icons_are_the_drawn_ones() -> None:
    for name, content in draw_icons().items():
        assert (SOURCE / name).read_bytes() == content, "run python -m adapters.teams.package"
