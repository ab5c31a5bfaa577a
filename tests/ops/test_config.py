"""Configuration errors stop Parley at start with one clear line each (exit status 2)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.main import main

# Every variable these cases touch; each case starts from none of them set.
NAMES = (
    "DATABASE_URL",
    "PUBLIC_URL",
    "PORT",
    "SLACK_SIGNING_SECRET",
    "SLACK_BOT_TOKEN",
    "SLACK_CLIENT_ID",
    "SLACK_CLIENT_SECRET",
    "SLACK_APP_TOKEN",
    "MICROSOFT_APP_ID",
    "MICROSOFT_APP_PASSWORD",
    "LOG_LEVEL",
    "LOG_FORMAT",
    "ALERT_LEASE_SECONDS",
    "ALERT_SEND_TIMEOUT_SECONDS",
    "PARLEY_REPLICAS",
)
PG = "postgresql+asyncpg://parley:pw-9f3@db.example.com:5432/parley"

CASES = [
    ({"DATABASE_URL": "mysql://x/parley"}, "DATABASE_URL must start with"),
    ({"DATABASE_URL": "postgresql+asyncpg://db.example.com"}, "needs a host and a database"),
    ({"DATABASE_URL": "postgresql+asyncpg://p:pw@db:port/parley"}, "DATABASE_URL is malformed"),
    ({"PUBLIC_URL": "parley.example.com"}, "PUBLIC_URL must be an absolute"),
    ({"SLACK_SIGNING_SECRET": "s", "SLACK_CLIENT_ID": "1.2"}, "SLACK_CLIENT_SECRET is not"),
    ({"SLACK_SIGNING_SECRET": "s"}, "neither SLACK_BOT_TOKEN nor"),
    ({"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_SIGNING_SECRET is not"),
    (
        {
            "SLACK_SIGNING_SECRET": "s",
            "SLACK_BOT_TOKEN": "xoxb-1",
            "SLACK_CLIENT_ID": "",
            "SLACK_CLIENT_SECRET": "",
        },
        "SLACK_CLIENT_ID and SLACK_CLIENT_SECRET are set but empty",
    ),
    ({"SLACK_APP_TOKEN": "xoxb-1", "SLACK_BOT_TOKEN": "xoxb-1"}, "must be an app-level token"),
    ({"SLACK_APP_TOKEN": "xapp-1"}, "SLACK_APP_TOKEN is set but neither SLACK_BOT_TOKEN nor"),
    ({"MICROSOFT_APP_ID": "app"}, "MICROSOFT_APP_PASSWORD is not"),
    ({"PARLEY_REPLICAS": "2"}, "PARLEY_REPLICAS=2 needs PostgreSQL"),
    ({"PARLEY_REPLICAS": "0", "DATABASE_URL": PG}, "PARLEY_REPLICAS must be 1 or more"),
    ({"PARLEY_REPLICAS": "two"}, "PARLEY_REPLICAS"),
    ({"PORT": "70000"}, "PORT must be between 0 and 65535"),
    ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL must be"),
    ({"LOG_FORMAT": "xml"}, "LOG_FORMAT must be text or json"),
    ({"ALERT_LEASE_SECONDS": "0"}, "ALERT_LEASE_SECONDS must be more than 0"),
    ({"ALERT_LEASE_SECONDS": "nan"}, "ALERT_LEASE_SECONDS must be more than 0"),
    ({"ALERT_SEND_TIMEOUT_SECONDS": "inf"}, "ALERT_SEND_TIMEOUT_SECONDS must be more than 0"),
    ({"ALERT_LEASE_SECONDS": "40"}, "ALERT_LEASE_SECONDS (40 s) must be at least twice"),
]


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    for name in NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no .env file
    return monkeypatch


@pytest.mark.parametrize(("env", "says"), CASES, ids=[says for _, says in CASES])
def test_each_configuration_error_is_one_clear_line(
    env: dict[str, str],
    says: str,
    clean_env: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name, value in env.items():
        clean_env.setenv(name, value)
    assert main(["migrate"]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("parley: configuration error: ")
    assert says in lines[0]
    assert "pw-9f3" not in lines[0]
    assert captured.out == ""


def test_several_replicas_on_postgresql_are_fine(clean_env: pytest.MonkeyPatch) -> None:
    from bot.config import load_settings

    clean_env.setenv("PARLEY_REPLICAS", "2")
    clean_env.setenv("DATABASE_URL", PG)
    assert load_settings().parley_replicas == 2


def test_socket_mode_needs_no_signing_secret(clean_env: pytest.MonkeyPatch) -> None:
    from bot.config import load_settings

    clean_env.setenv("SLACK_APP_TOKEN", "xapp-1-A1-1")
    clean_env.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    settings = load_settings()
    assert settings.slack_enabled and settings.slack_socket_mode


def test_a_real_process_stops_before_doing_anything(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in NAMES} | {"PARLEY_REPLICAS": "3"}
    done = subprocess.run(
        [sys.executable, "-m", "bot.main", "serve"],
        capture_output=True,
        text=True,
        env=env | {"PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "parley: configuration error: PARLEY_REPLICAS=3 needs PostgreSQL: SQLite serves one "
        "replica; set DATABASE_URL=postgresql+asyncpg://... (see docs/operations.md)"
    ]
    assert not (tmp_path / "parley.db").exists()
