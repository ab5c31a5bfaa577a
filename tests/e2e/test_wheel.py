"""Parley as a deployment installs it: the wheel is built, installed into a fresh virtualenv
outside the checkout, and every console command runs from a directory that is not the
checkout, so nothing can be read from the source tree by accident.

The virtualenv gets Parley from the wheel alone. Its dependencies are this test
environment's, reached through a ``.pth`` line (a plain path, so the checkout's own
editable install there stays inert), which keeps the test from downloading anything;
the build uses the pip cache.
"""

from __future__ import annotations

import asyncio
import email.parser
import json
import os
import signal
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from trove_classifiers import classifiers as known_classifiers

from tests.data.schemas import teams_manifest_validator, violations

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
PACKAGES = ("bot", "adapters", "storage")
# Only what a shell on a fresh machine has: no PYTHONPATH, no Parley settings.
PASSED_ON = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")
VIEWS = "/deadline list all\n/deadline show D1\n/position list D1\n"
APP_ID = "3f2a1b0c-9d8e-4f7a-8b6c-5d4e3f2a1b0c"


@dataclass(frozen=True)
class Installed:
    """The wheel, the virtualenv it went into, and a working directory outside the checkout."""

    wheel: Path
    venv: Path
    home: Path

    def environment(self, **settings: str) -> dict[str, str]:
        passed = {name: os.environ[name] for name in PASSED_ON if name in os.environ}
        return passed | {"TZ": "America/New_York"} | settings

    def command(self, *args: str) -> list[str]:
        return [str(self.venv / "bin" / "parley"), *args]

    def run(self, *args: str, stdin: str = "", **settings: str) -> str:
        """``parley ARGS`` with ``settings`` as its environment; its output, once it succeeded."""
        done = subprocess.run(
            self.command(*args),
            cwd=self.home,
            input=stdin,
            capture_output=True,
            text=True,
            env=self.environment(**settings),
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, f"parley {' '.join(args)} failed:\n{done.stderr}"
        return done.stdout


def pip(*args: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pip", *args], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, f"pip {' '.join(args)}:\n{done.stdout}\n{done.stderr}"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    work = tmp_path_factory.mktemp("wheel")
    pip("wheel", "--no-deps", "--wheel-dir", str(work / "dist"), str(source_copy(work)))
    [wheel] = (work / "dist").glob("parley_bot-*.whl")
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    # Before the .pth below: pip must not see the checkout's editable install.
    pip("--python", str(python), "install", "--no-deps", "--no-index", str(wheel))
    site_packages = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    dependencies = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}
    (Path(site_packages) / "parley-test-dependencies.pth").write_text(
        "".join(f"{path}\n" for path in sorted(dependencies)), encoding="utf-8"
    )
    home = work / "home"
    home.mkdir()
    return Installed(wheel=wheel, venv=venv, home=home)


def source_copy(work: Path) -> Path:
    """The files a build reads, copied, so that building writes nothing into the checkout."""
    copy = work / "source"
    copy.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        (copy / name).write_bytes((ROOT / name).read_bytes())
    for package in PACKAGES:
        for path in package_files(ROOT / package):
            target = copy / path.relative_to(ROOT)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(path.read_bytes())
    return copy


def package_files(folder: Path) -> Iterator[Path]:
    for path in sorted(folder.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            yield path


# --- the wheel itself ----------------------------------------------------------------
def test_the_wheel_holds_every_file_of_the_packages(installed: Installed) -> None:
    with zipfile.ZipFile(installed.wheel) as wheel:
        shipped = {name for name in wheel.namelist() if ".dist-info/" not in name}
    in_checkout = {
        path.relative_to(ROOT).as_posix()
        for package in PACKAGES
        for path in package_files(ROOT / package)
    }
    assert in_checkout - shipped == set(), "add these to [tool.setuptools.package-data]"
    assert shipped - in_checkout == set()


def test_the_wheel_carries_complete_metadata(installed: Installed) -> None:
    with zipfile.ZipFile(installed.wheel) as wheel:
        info = f"parley_bot-{PROJECT['version']}.dist-info"
        metadata = email.parser.Parser().parsestr(wheel.read(f"{info}/METADATA").decode())
        licence = wheel.read(f"{info}/licenses/LICENSE").decode()
    assert metadata["Name"] == "parley-bot"
    assert metadata["Version"] == PROJECT["version"]
    assert metadata["License-Expression"] == "MIT"
    assert metadata["License-File"] == "LICENSE" and licence.startswith("MIT License")
    assert metadata["Requires-Python"] == ">=3.11"
    classifiers = metadata.get_all("Classifier", [])
    assert classifiers and set(classifiers) <= known_classifiers
    urls = {
        label: url
        for label, _, url in (e.partition(", ") for e in metadata.get_all("Project-URL", []))
    }
    assert {"Homepage", "Source", "Issues", "Documentation"} <= urls.keys()
    assert all(url.startswith("https://") for url in urls.values())
    required = [r for r in metadata.get_all("Requires-Dist", []) if "extra ==" not in r]
    assert len(required) == len(PROJECT["dependencies"])
    assert metadata["Summary"] and "parley demo" in metadata.get_payload()


def test_parley_runs_from_the_wheel_and_prints_its_version(installed: Installed) -> None:
    assert installed.run("--version").strip() == f"parley {PROJECT['version']}"
    where = subprocess.run(
        [installed.venv / "bin" / "python", "-c", "import bot, adapters, storage\n"
         "print(*(m.__file__ for m in (bot, adapters, storage)), sep='\\n')"],
        cwd=installed.home, env=installed.environment(), capture_output=True, text=True,
        check=True,
    ).stdout.split()  # fmt: skip
    assert len(where) == 3
    assert all(Path(path).is_relative_to(installed.venv) for path in where), where


# --- the console commands --------------------------------------------------------------
@pytest.fixture(scope="module")
def demo(installed: Installed) -> tuple[Path, str]:
    """``parley demo`` on SQLite, exported: the dump and what the shell then shows."""
    database = f"sqlite+aiosqlite:///{installed.home / 'demo.db'}"
    assert "parley shell" in installed.run("demo", DATABASE_URL=database)
    views = installed.run("shell", stdin=VIEWS, DATABASE_URL=database)
    assert "D1 Signed usage agreement" in views
    assert "Department of Defense: sealed (commitment" in views
    dump = installed.home / "demo.json"
    installed.run("export", "-o", str(dump), DATABASE_URL=database)
    assert json.loads(dump.read_text(encoding="utf-8"))["format"] == "parley-export"
    return dump, views


def test_shell_takes_a_scripted_session(installed: Installed) -> None:
    database = f"sqlite+aiosqlite:///{installed.home / 'shell.db'}"
    script = (
        "/deadline add Signed usage agreement due Friday 17:00 America/New_York\n"
        "/position D1 oppose as Anthropic No mass surveillance of Americans\n"
        "/position list D1\n"
    )
    out = installed.run("shell", stdin=script, DATABASE_URL=database)
    assert "D1 Signed usage agreement" in out and "17:00 EST" in out
    assert "Anthropic: oppose — No mass surveillance of Americans" in out


def test_migrate_then_import_on_sqlite_shows_what_was_exported(
    installed: Installed, demo: tuple[Path, str]
) -> None:
    dump, views = demo
    database = f"sqlite+aiosqlite:///{installed.home / 'restored.db'}"
    assert "up to date" in installed.run("migrate", DATABASE_URL=database)
    assert "Imported 1 deadlines" in installed.run("import", str(dump), DATABASE_URL=database)
    assert installed.run("shell", stdin=VIEWS, DATABASE_URL=database) == views


async def test_migrate_then_import_on_postgresql_shows_what_was_exported(
    installed: Installed, demo: tuple[Path, str], pg_empty_url: str
) -> None:
    dump, views = demo
    run = installed.run
    assert "up to date" in await asyncio.to_thread(run, "migrate", DATABASE_URL=pg_empty_url)
    imported = await asyncio.to_thread(run, "import", str(dump), DATABASE_URL=pg_empty_url)
    assert "Imported 1 deadlines" in imported
    assert await asyncio.to_thread(run, "shell", stdin=VIEWS, DATABASE_URL=pg_empty_url) == views


def test_teams_package_writes_a_manifest_microsoft_accepts(installed: Installed) -> None:
    output = installed.home / "out" / "parley-teams.zip"
    installed.run(
        "teams-package",
        "-o",
        str(output),
        MICROSOFT_APP_ID=APP_ID,
        MICROSOFT_APP_PASSWORD="secret",
        PUBLIC_URL="https://parley.example.com",
    )
    with zipfile.ZipFile(output) as archive:
        assert sorted(archive.namelist()) == ["color.png", "manifest.json", "outline.png"]
        manifest: dict[str, Any] = json.loads(archive.read("manifest.json"))
    assert violations(teams_manifest_validator(manifest["manifestVersion"]), manifest) == []
    assert manifest["id"] == APP_ID and manifest["validDomains"] == ["parley.example.com"]


async def started(
    installed: Installed, *args: str, ready: str
) -> tuple[asyncio.subprocess.Process, dict[str, Any]]:
    """``parley ARGS`` running, once it logged a line containing ``ready``; and that line."""
    process = await asyncio.create_subprocess_exec(
        *installed.command(*args),
        cwd=installed.home,
        env=installed.environment(
            DATABASE_URL=f"sqlite+aiosqlite:///{installed.home / 'serve.db'}",
            LOG_FORMAT="json",
            LOG_LEVEL="INFO",
        ),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stderr is not None
    seen: list[str] = []
    try:
        async with asyncio.timeout(60):
            while ready not in (line := (await process.stderr.readline()).decode()):
                assert line, f"parley {' '.join(args)} ended:\n{''.join(seen)}"
                seen.append(line)
    except BaseException:
        process.kill()
        await process.wait()
        raise
    entry: dict[str, Any] = json.loads(line)
    return process, entry


async def stopped_by_sigterm(process: asyncio.subprocess.Process) -> int:
    process.send_signal(signal.SIGTERM)
    try:
        async with asyncio.timeout(45):
            assert process.stderr is not None
            await process.stderr.read()  # keep the pipe drained until it exits
            return await process.wait()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def test_serve_answers_healthz_then_stops_on_sigterm(installed: Installed) -> None:
    process, listening = await started(
        installed, "serve", "--host", "127.0.0.1", "--port", "0", ready="listening on"
    )
    port = int(listening["message"].rsplit(":", 1)[1])
    try:
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"http://127.0.0.1:{port}/healthz") as response,
        ):
            assert response.status == 200
            assert await response.json() == {"status": "ok"}
    finally:
        code = await stopped_by_sigterm(process)
    assert code == 0


async def test_worker_starts_its_dispatcher_then_stops_on_sigterm(installed: Installed) -> None:
    process, _ = await started(installed, "worker", ready="worker dispatching alerts")
    assert await stopped_by_sigterm(process) == 0
