"""The command line as a new user runs it: real `parley` processes on a fresh SQLite file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

MUST_SHOW = (
    "/deadline add Signed usage agreement due Friday 17:00 America/New_York\n"
    "/deadline list\n"
    "/position D1 oppose as Anthropic No mass surveillance of Americans\n"
    "/position list D1\n"
)


def parley(*args: str, db: Path, stdin: str = "", env: dict[str, str] | None = None) -> str:
    environment = (
        os.environ
        | {
            "DATABASE_URL": f"sqlite+aiosqlite:///{db}",
            "TZ": "America/New_York",
        }
        | (env or {})
    )
    done = subprocess.run(
        [sys.executable, "-m", "bot.main", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=environment,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_piped_shell_session_shows_deadline_list_and_matrix(tmp_path: Path) -> None:
    out = parley("shell", db=tmp_path / "p.db", stdin=MUST_SHOW)
    added, listed, _, matrix = out.split("> /")[1:]
    assert "D1 Signed usage agreement" in added
    assert "17:00 EST" in added and "left" in added
    assert "D1 Signed usage agreement" in listed and "17:00 EST" in listed
    assert "Anthropic: oppose — No mass surveillance of Americans" in matrix


@pytest.mark.slow
def test_demo_then_export_and_import_reproduce_every_view(tmp_path: Path) -> None:
    first, second = tmp_path / "first.db", tmp_path / "second.db"
    demo = parley("demo", db=first)
    assert "parley shell" in demo
    views = "/deadline list all\n/deadline show D1\n/position list D1\n"
    before = parley("shell", db=first, stdin=views)
    assert "Department of Defense: sealed (commitment" in before
    dump = tmp_path / "dump.json"
    parley("export", "-o", str(dump), db=first)
    assert json.loads(dump.read_text())["format"] == "parley-export"
    parley("import", str(dump), db=second)
    assert parley("shell", db=second, stdin=views) == before


@pytest.mark.slow
def test_import_refuses_a_database_that_is_not_empty(tmp_path: Path) -> None:
    db = tmp_path / "p.db"
    parley("demo", db=db)
    dump = tmp_path / "dump.json"
    parley("export", "-o", str(dump), db=db)
    env = os.environ | {"DATABASE_URL": f"sqlite+aiosqlite:///{db}"}
    done = subprocess.run(
        [sys.executable, "-m", "bot.main", "import", str(dump)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert "empty" in done.stderr


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"DATABASE_URL": "mysql://x"}, "DATABASE_URL"),
        ({"PUBLIC_URL": "parley.example.com"}, "PUBLIC_URL"),
        ({"SLACK_SIGNING_SECRET": "s", "SLACK_CLIENT_ID": "1.2"}, "SLACK_CLIENT_SECRET"),
    ],
)
def test_configuration_errors_stop_with_one_clear_line(env: dict[str, str], says: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bot.main", "migrate"],
        capture_output=True,
        text=True,
        env=os.environ | env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and says in lines[0]
