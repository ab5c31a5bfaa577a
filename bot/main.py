"""Composition root and command line: the one place that wires storage, core and adapters.

``parley serve | shell | demo | migrate | export | import | worker | teams-package``.
Tests build the same runtime with ``open_runtime`` and their own clock.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.clock import SystemClock
from bot.config import Settings, load_settings
from bot.domain import Context
from bot.errors import ConfigurationError, ParleyError
from bot.feeds import Feeds
from bot.logs import configure_logging
from bot.ports import ChatGateway, Clock
from bot.scheduler import Dispatcher, DispatchPolicy
from bot.service import Parley
from bot.when import warm_up

log = logging.getLogger("parley")

DEMO_SCRIPT = (
    ("alex", "deadline", "add Signed usage agreement due Friday 17:00 America/New_York"),
    (
        "dario",
        "position",
        "D1 oppose as Anthropic No mass surveillance of Americans; "
        "human judgment in final targeting",
    ),
    ("pete", "position", 'D1 support as "Department of Defense" License for all lawful use'),
    ("alex", "position", "ask D1 @legal @policy"),
    (
        "alex",
        "deadline",
        "extend D1 to Monday 09:00 America/New_York because best and final offer under review",
    ),
)
DEMO_CHANNEL = "general"
SHELL_WORKSPACE = "shell:local"


@dataclass
class Runtime:
    """Everything a running Parley holds: settings, storage, the core, its clock."""

    settings: Settings
    clock: Clock
    repository: Any  # storage.repository.SqlRepository
    service: Parley
    wakeups: list[Callable[[], None]] = field(default_factory=list)
    gateways: dict[str, ChatGateway] = field(default_factory=dict)
    dispatchers: list[Dispatcher] = field(default_factory=list)  # running ones (for metrics)

    def changed(self) -> None:
        """A deadline changed: wake whoever waits on the alert schedule."""
        for wake in self.wakeups:
            wake()


@contextlib.asynccontextmanager
async def open_runtime(
    settings: Settings, *, clock: Clock | None = None, migrate: bool | None = None
) -> AsyncIterator[Runtime]:
    """Build the runtime; SQLite databases are migrated automatically (``migrate=None``)."""
    from storage.db import is_sqlite, make_engine, run_migrations
    from storage.repository import SqlRepository

    if migrate or (migrate is None and is_sqlite(settings.database_url)):
        await run_migrations(settings.database_url)
    engine = make_engine(settings.database_url)
    repository = SqlRepository(engine)
    the_clock = clock or SystemClock()
    runtime_ref: list[Runtime] = []
    service = Parley(
        repository=repository,
        clock=the_clock,
        feeds=Feeds(store=repository, clock=the_clock, public_url=settings.public_url),
        on_change=lambda: runtime_ref[0].changed() if runtime_ref else None,
    )
    runtime = Runtime(settings=settings, clock=the_clock, repository=repository, service=service)
    runtime_ref.append(runtime)
    try:
        yield runtime
    finally:
        await repository.close()


@contextlib.asynccontextmanager
async def running_dispatcher(runtime: Runtime) -> AsyncIterator[Dispatcher]:
    """Run the alert dispatcher in the background for the duration of the block."""
    policy = DispatchPolicy(lease_seconds=runtime.settings.alert_lease_seconds)
    dispatcher = Dispatcher(
        outbox=runtime.repository,
        deadlines=runtime.repository,
        gateways=runtime.gateways,
        clock=runtime.clock,
        policy=policy,
        event_url=runtime.service.event_url,
    )
    runtime.wakeups.append(dispatcher.wake)
    runtime.dispatchers.append(dispatcher)
    task = asyncio.create_task(dispatcher.run(), name="parley-dispatcher")
    try:
        yield dispatcher
    finally:
        runtime.wakeups.remove(dispatcher.wake)
        # The send in progress may finish (within drain_seconds); claims not yet
        # sent are given back for another replica. Cancel only what overstays.
        dispatcher.stop()
        done, _ = await asyncio.wait({task}, timeout=policy.drain_seconds)
        if not done:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        runtime.dispatchers.remove(dispatcher)


def local_timezone() -> str:
    """The machine's IANA zone (TZ, /etc/timezone or /etc/localtime), else UTC."""
    if os.environ.get("TZ", "").count("/"):
        return os.environ["TZ"].lstrip(":")
    with contextlib.suppress(OSError):
        name = Path("/etc/timezone").read_text().strip()
        if name:
            return name
    with contextlib.suppress(OSError):
        target = os.readlink("/etc/localtime")
        if "zoneinfo/" in target:
            return target.split("zoneinfo/", 1)[1]
    return "UTC"


# --- commands --------------------------------------------------------------
async def cmd_shell(settings: Settings, args: argparse.Namespace) -> int:
    from adapters.shell.console import ShellGateway, run_shell

    warm_up()
    async with open_runtime(settings) as runtime:
        runtime.gateways["shell"] = ShellGateway(out=sys.stdout, clock=runtime.clock)
        async with running_dispatcher(runtime):
            await run_shell(
                service=runtime.service, channel=args.channel, user=args.user, tz=args.tz
            )
    return 0


async def cmd_demo(settings: Settings, args: argparse.Namespace) -> int:
    from adapters.shell.render import render_message

    warm_up()
    async with open_runtime(settings) as runtime:
        existing = await runtime.repository.find_deadlines_by_title(
            workspace_id=SHELL_WORKSPACE, prefix="Signed usage agreement"
        )
        if existing:
            print(
                "The demo negotiation is already loaded (see `parley shell`, then /deadline list)."
            )
            return 0
        for user, command, text in DEMO_SCRIPT:
            ctx = Context(
                workspace_id=SHELL_WORKSPACE,
                channel_id=DEMO_CHANNEL,
                user_id=user,
                user_name=user,
                tz=args.tz,
                platform="shell",
            )
            print(f"@{user}> /{command} {text}")
            for message in await runtime.service.handle(ctx=ctx, command=command, text=text):
                print(render_message(message, now=runtime.clock.now()))
            print()
    print(
        "Demo loaded into #general. Try next:\n"
        "  parley shell\n"
        "  /deadline list\n"
        "  /deadline show D1\n"
        "  /position list D1\n"
        "  /position D1 conditional as Legal Only with an audit clause"
    )
    return 0


async def cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    from storage.db import run_migrations

    await run_migrations(settings.database_url)
    print("Database is up to date.")
    return 0


async def cmd_export(settings: Settings, args: argparse.Namespace) -> int:
    async with open_runtime(settings) as runtime:
        data = await runtime.repository.export_all()
    text = json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False)
    if args.output and args.output != "-":
        await asyncio.to_thread(Path(args.output).write_text, text + "\n", encoding="utf-8")
    else:
        sys.stdout.write(text + "\n")
    return 0


async def cmd_import(settings: Settings, args: argparse.Namespace) -> int:
    data = json.loads(await asyncio.to_thread(Path(args.file).read_text, encoding="utf-8"))
    async with open_runtime(settings) as runtime:
        await runtime.repository.import_all(data)
    print(f"Imported {len(data.get('deadlines', []))} deadlines from {args.file}.")
    return 0


async def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    from adapters.web import serve

    warm_up()
    async with open_runtime(settings) as runtime:
        await serve(runtime, host=args.host, port=args.port, scheduler=not args.no_scheduler)
    return 0


async def cmd_worker(settings: Settings, args: argparse.Namespace) -> int:
    from adapters.web import serve

    async with open_runtime(settings) as runtime:
        log.info("Parley worker dispatching alerts")
        await serve(runtime, host="", port=0, scheduler=True, listen=False)
    return 0


async def cmd_teams_package(settings: Settings, args: argparse.Namespace) -> int:
    from adapters.teams.package import write_package

    path = write_package(settings, output=Path(args.output))
    print(f"Wrote {path}: upload it in Teams (Apps > Manage your apps > Upload an app).")
    return 0


def build_parser(settings: Settings) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="parley", description="Negotiation deadlines and positions in Slack and Teams."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the HTTP server (Slack, Teams, calendar feeds)")
    serve.add_argument("--host", default=settings.host)
    serve.add_argument("--port", type=int, default=settings.port)
    serve.add_argument(
        "--no-scheduler", action="store_true", help="do not send alerts from this process"
    )
    shell = sub.add_parser("shell", help="type commands as a user in a channel")
    shell.add_argument("--channel", default=DEMO_CHANNEL)
    shell.add_argument("--user", default=os.environ.get("USER") or "you")
    shell.add_argument("--tz", default=local_timezone(), help="your IANA time zone")
    demo = sub.add_parser("demo", help="load the example negotiation")
    demo.add_argument("--tz", default=local_timezone())
    sub.add_parser("migrate", help="apply database migrations")
    sub.add_parser("worker", help="only the alert dispatcher (no HTTP server)")
    export = sub.add_parser("export", help="write all data as JSON")
    export.add_argument("-o", "--output", default="-")
    restore = sub.add_parser("import", help="restore a JSON export into an empty database")
    restore.add_argument("file")
    package = sub.add_parser("teams-package", help="write the Teams app package (zip) to upload")
    package.add_argument("-o", "--output", default="parley-teams.zip")
    return parser


COMMANDS = {
    "serve": cmd_serve,
    "shell": cmd_shell,
    "demo": cmd_demo,
    "migrate": cmd_migrate,
    "export": cmd_export,
    "import": cmd_import,
    "worker": cmd_worker,
    "teams-package": cmd_teams_package,
}


def main(argv: list[str] | None = None) -> int:
    try:
        settings = load_settings()
    except ConfigurationError as error:
        print(f"parley: configuration error: {error}", file=sys.stderr)
        return 2
    args = build_parser(settings).parse_args(argv)
    if args.command in ("shell", "demo") and "LOG_LEVEL" not in os.environ:
        # The console is the user's conversation: only problems are logged into it.
        settings = settings.model_copy(update={"log_level": "WARNING"})
    configure_logging(settings)  # LOG_FORMAT text or json; secrets redacted at every level
    if settings.log_level.upper() != "DEBUG":
        # Migration progress is noise at start; errors still show.
        logging.getLogger("alembic").setLevel(logging.WARNING)
    try:
        return asyncio.run(COMMANDS[args.command](settings, args))
    except KeyboardInterrupt:
        return 130
    except ParleyError as error:
        print(f"parley: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
