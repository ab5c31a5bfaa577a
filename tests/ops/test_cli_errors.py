"""What an operator gets wrong ends in one line on stderr, exit status 2, and no
traceback: the real `parley` command in a process, for configuration mistakes and
for import files that cannot be imported (nothing is written then)."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
SETTINGS = ("DATABASE_URL", "PORT", "ALERT_LEASE_SECONDS", "SLACK_SIGNING_SECRET",
            "SLACK_BOT_TOKEN", "MICROSOFT_APP_ID", "PARLEY_REPLICAS")  # fmt: skip


def parley(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k not in SETTINGS}
    return subprocess.run(
        [sys.executable, "-m", "bot.main", *args],
        capture_output=True,
        text=True,
        env=environment | {"PYTHONPATH": str(REPO)} | env,
        cwd=cwd,
        timeout=60,
        check=False,
    )


def one_line(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("parley: ")
    return lines[0]


# --- configuration ------------------------------------------------------------------
def test_a_sqlite_file_in_a_missing_directory(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/missing/parley.db"
    line = one_line(parley("migrate", cwd=tmp_path, DATABASE_URL=url))
    assert "missing" in line and "does not exist" in line


def test_a_database_host_that_does_not_resolve(tmp_path: Path) -> None:
    url = "postgresql+asyncpg://parley:pw-7c1@db.invalid:5432/parley"
    line = one_line(parley("migrate", cwd=tmp_path, DATABASE_URL=url))
    assert "db.invalid" in line and "resolve" in line and "pw-7c1" not in line


def test_a_port_out_of_range(tmp_path: Path) -> None:
    line = one_line(parley("serve", "--port", "99999", cwd=tmp_path))
    assert "99999" in line
    assert not (tmp_path / "parley.db").exists()


def test_a_port_in_use(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = one_line(parley("serve", "--port", str(port), cwd=tmp_path))
    assert f"127.0.0.1:{port}" in line and "in use" in line


@pytest.mark.parametrize("value", ["nan", "inf", "-1"])
def test_an_alert_lease_that_is_no_duration(tmp_path: Path, value: str) -> None:
    line = one_line(parley("migrate", cwd=tmp_path, ALERT_LEASE_SECONDS=value))
    assert "ALERT_LEASE_SECONDS" in line


# --- import -------------------------------------------------------------------------
def _export(**sections: Any) -> str:
    return json.dumps({"format": "parley-export", "version": 2, **sections})


def _deadline(**changes: Any) -> dict[str, Any]:
    row = {
        "id": 1,
        "workspace_id": "slack:T1",
        "number": 1,
        "channel_id": "C1",
        "platform": "slack",
        "title": "Signed usage agreement",
        "due_at": "2026-11-27T22:00:00+00:00",
        "tz": "America/New_York",
        "owner_id": "U1",
        "status": "open",
        "reminder_offsets": [3600],
        "created_at": "2026-11-26T17:00:00+00:00",
        "updated_at": "2026-11-26T17:00:00+00:00",
        "sequence": 0,
        "uid": "0123456789abcdef0123456789abcdef",
    }
    return row | changes


IMPORTS = {
    "not JSON": ("{x", "not JSON"),
    "empty": ("", "empty"),
    "blank": ("  \n", "empty"),
    "an id of 10**30": (_export(deadlines=[_deadline(id=10**30)]), "deadlines[0].id"),
    "a zone on Mars": (_export(deadlines=[_deadline(tz="Mars/Olympus_Mons")]), "Mars"),
    "a zone path": (_export(deadlines=[_deadline(tz="../../etc/passwd")]), "time zone"),
    "huge offsets": (_export(deadlines=[_deadline(reminder_offsets=[10**12])]), "out of range"),
    "a NUL in a title": (_export(deadlines=[_deadline(title="a\x00b")]), "U+0000"),
    "an escape in a title": (_export(deadlines=[_deadline(title="\x1b[2J")]), "U+001B"),
    "an instant in year 1": (
        _export(deadlines=[_deadline(due_at="0001-01-01T00:00:00+00:00")]),
        "between",
    ),
    "another program's JSON": ('{"hello": "world"}', "not a Parley export"),
}


@pytest.mark.parametrize("case", list(IMPORTS))
def test_an_import_that_cannot_work_writes_nothing(tmp_path: Path, case: str) -> None:
    text, says = IMPORTS[case]
    dump = tmp_path / "dump.json"
    dump.write_text(text, encoding="utf-8")
    db = tmp_path / "p.db"
    line = one_line(
        parley("import", str(dump), cwd=tmp_path, DATABASE_URL=f"sqlite+aiosqlite:///{db}")
    )
    assert says in line and "dump.json" in line
    if db.exists():
        with sqlite3.connect(db) as conn:
            assert conn.execute("SELECT count(*) FROM deadline").fetchone() == (0,)


def test_a_missing_file(tmp_path: Path) -> None:
    line = one_line(parley("import", "nowhere.json", cwd=tmp_path))
    assert "nowhere.json" in line and "No such file" in line
    assert not (tmp_path / "parley.db").exists()


def test_every_problem_of_a_file_is_one_line(tmp_path: Path) -> None:
    rows = [_deadline(id=10**30), _deadline(id=2, number=2, tz="Mars/Olympus_Mons", uid="u" * 32)]
    dump = tmp_path / "dump.json"
    dump.write_text(_export(deadlines=rows, alerts=[{"id": 1}]), encoding="utf-8")
    done = parley("import", str(dump), cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert any("deadlines[0].id" in line for line in lines)
    assert any("deadlines[1].tz" in line for line in lines)
    assert any(line.startswith("parley: ") and "alerts[0]" in line for line in lines)
    assert all(line.startswith("parley: ") for line in lines)
