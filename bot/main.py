"""Composition root and command line: the one place that wires storage, core and adapters.

``parley serve | shell | demo | migrate | export | import | worker | teams-package``.

``open_runtime`` opens the repository and builds the core on it
(``bot.runtime``); ``build_app`` builds the HTTP application, handing each
adapter only what it uses and registering the gateways they return; the
commands below own the alert dispatcher's lifetime. Nothing imports this
module but the ``parley`` console script and tests, which build the same
runtime and application with their own clock and settings.

A database that is not migrated on start (PostgreSQL) is compared with this
code's migrations first. While it is behind, every statement on it is refused
(``storage.db.SchemaGate``): commands answer that the database needs
``parley migrate``, ``/readyz`` says so, one-off commands stop with that line
(``one_off_runtime``), and ``serve`` and ``worker`` log it once, hold the alert dispatcher back and
look again every ``SCHEMA_RECHECK_SECONDS``, starting it once the migration
has run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import socket
import sys
from collections.abc import AsyncIterator
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from bot.clock import SystemClock
from bot.config import Settings, load_settings
from bot.domain import Context
from bot.errors import ConfigurationError, MigrationNeeded, ParleyError
from bot.logs import configure_logging
from bot.ports import ChatGateway, Clock
from bot.runtime import Runtime, build_runtime, running_dispatcher
from bot.when import warm_up

if TYPE_CHECKING:
    from aiohttp import web

    from storage.db import SchemaGate

log = logging.getLogger("parley")

# The seed negotiation: two parties with their reps, the best and final offer, and a
# sealed deadline whose silent parties oppose by silence.
DEMO_SCRIPT = (
    ("alex", "party", "add Anthropic @dario"),
    ("alex", "party", 'add "Department of Defense" @pete'),
    (
        "alex",
        "deadline",
        "add Signed usage agreement due Friday 17:00 America/New_York sealed silence oppose",
    ),
    (
        "pete",
        "offer",
        "D1 Best and final offer https://example.com/bafo.pdf from Department of Defense",
    ),
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
SCHEMA_RECHECK_SECONDS = 5.0


@contextlib.asynccontextmanager
async def open_runtime(
    settings: Settings, *, clock: Clock | None = None, migrate: bool | None = None
) -> AsyncIterator[Runtime]:
    """Build the runtime; SQLite databases are migrated automatically (``migrate=None``),
    others refuse every statement while they are behind (see the module docstring)."""
    async with _opened(settings, clock=clock, migrate=migrate) as (runtime, _):
        yield runtime


@contextlib.asynccontextmanager
async def one_off_runtime(settings: Settings) -> AsyncIterator[Runtime]:
    """The runtime of a command that runs once (shell, demo, export, import): a
    database behind the migrations stops it at once, with the reason."""
    async with _opened(settings, clock=None, migrate=None) as (runtime, schema):
        if schema is not None and isinstance(schema.refusal, MigrationNeeded):
            raise schema.refusal
        yield runtime


@contextlib.asynccontextmanager
async def _opened(
    settings: Settings, *, clock: Clock | None, migrate: bool | None
) -> AsyncIterator[tuple[Runtime, SchemaGate | None]]:
    """The runtime, and the gate of a database found behind (None: it is current)."""
    from storage.db import SchemaGate, is_sqlite, make_engine, run_migrations
    from storage.repository import SqlRepository

    migrated = migrate or (migrate is None and is_sqlite(settings.database_url))
    if migrated:
        await run_migrations(settings.database_url)
    engine = make_engine(settings.database_url)
    schema = None if migrated else SchemaGate(engine)
    repository = SqlRepository(engine)
    try:
        if schema is not None and await schema.check() is None:
            schema = None
        runtime = build_runtime(settings, repository=repository, clock=clock or SystemClock())
        yield runtime, schema
    finally:
        await repository.close()


def build_app(runtime: Runtime, *, receive: bool = True) -> web.Application:
    """Parley's HTTP application on ``runtime``: health, metrics, calendar feeds, briefs and
    each configured platform, whose gateway the alert dispatcher uses while the app runs.
    ``receive``: also connect to Slack through Socket Mode when SLACK_APP_TOKEN is set
    (``parley serve``; the worker only posts alerts)."""
    from adapters import metrics
    from adapters.brief.http import mount as mount_brief
    from adapters.feeds import mount as mount_feeds
    from adapters.replay import ReplayGuard
    from adapters.web import create_app

    settings = runtime.settings
    app = create_app(database=runtime.repository)
    # Several replicas share what they handled through the database; one keeps it in memory.
    shared = runtime.repository if settings.parley_replicas > 1 else None
    replay = ReplayGuard(clock=runtime.clock, shared=shared)
    watch = metrics.install(
        app, dispatchers=runtime.dispatchers, alerts=runtime.repository, clock=runtime.clock
    )
    runtime.observers.add(watch)
    mount_feeds(app, runtime.feeds)
    mount_brief(app, feeds=runtime.feeds, store=runtime.repository, clock=runtime.clock)
    gateways: dict[str, ChatGateway] = {}
    if settings.slack_enabled:
        from adapters.slack.app import mount as mount_slack

        gateways["slack"] = mount_slack(
            app,
            service=runtime.service,
            clock=runtime.clock,
            settings=settings,
            deadlines=runtime.repository,
            replay=replay,
            installations=runtime.repository,
        )
        if settings.slack_socket_mode and receive:
            from adapters.slack.app import SLACK
            from adapters.slack.socket_mode import connect

            connect(app, app[SLACK], app_token=settings.slack_app_token)
    if settings.teams_served:
        from adapters.teams.handler import mount as mount_teams

        gateways["teams"] = mount_teams(
            app,
            service=runtime.service,
            clock=runtime.clock,
            settings=settings,
            conversations=runtime.repository,
            replay=replay,
        )
    runtime.gateways.update(gateways)

    async def detach(_app: web.Application) -> None:
        runtime.observers.remove(watch)
        for platform, gateway in gateways.items():
            if runtime.gateways.get(platform) is gateway:
                del runtime.gateways[platform]

    app.on_cleanup.append(detach)
    return app


async def serve(
    runtime: Runtime,
    *,
    host: str,
    port: int,
    scheduler: bool,
    listen: bool,
    schema: SchemaGate | None = None,
) -> None:
    """Run the application until SIGINT or SIGTERM, and the alert dispatcher (with
    ``scheduler``) from when the database schema is current (``schema`` is None)."""
    from adapters.web import serving

    app = build_app(runtime, receive=listen)
    async with serving(app, host=host, port=port, listen=listen) as server:
        stopped = asyncio.create_task(server.until_stopped())
        current = asyncio.create_task(until_schema_current(schema))
        try:
            await asyncio.wait({stopped, current}, return_when=asyncio.FIRST_COMPLETED)
            if current.done():
                current.result()  # raises what kept the schema from being checked
            if scheduler and not stopped.done():
                async with running_dispatcher(runtime):
                    if not listen:
                        log.info("Parley worker dispatching alerts")
                    await stopped
            else:
                await stopped
        finally:
            for task in (current, stopped):
                task.cancel()
            await asyncio.gather(current, stopped, return_exceptions=True)


async def until_schema_current(
    schema: SchemaGate | None, *, every: float = SCHEMA_RECHECK_SECONDS
) -> None:
    """Return once the database schema is current, looking again every ``every``
    seconds. Meanwhile, what is wrong is logged once (again only if it changes)."""
    said = ""
    while schema is not None and (refusal := schema.refusal) is not None:
        behind = isinstance(refusal, MigrationNeeded)
        problem = str(refusal) if behind else "database unreachable: Parley waits for it"
        if problem != said:
            log.log(logging.ERROR if behind else logging.WARNING, "%s", problem)
            said = problem
        await asyncio.sleep(every)
        await schema.check()
    if said:
        log.info("the database schema is current: Parley is ready")


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
    async with one_off_runtime(settings) as runtime:
        runtime.gateways["shell"] = ShellGateway(out=sys.stdout, clock=runtime.clock)
        async with running_dispatcher(runtime):
            await run_shell(
                service=runtime.service, channel=args.channel, user=args.user, tz=args.tz
            )
    return 0


async def cmd_demo(settings: Settings, args: argparse.Namespace) -> int:
    from adapters.shell.render import render_message

    warm_up()
    async with one_off_runtime(settings) as runtime:
        existing = await runtime.repository.find_deadlines_by_title(
            workspace_id=SHELL_WORKSPACE, channel_id=DEMO_CHANNEL, prefix="Signed usage agreement"
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
        "Demo loaded into #general: positions on D1 are sealed until its deadline. Try next:\n"
        "  parley shell\n"
        "  /deadline list\n"
        "  /deadline show D1\n"
        "  /position list D1\n"
        "  /offer list D1\n"
        "  /position D1 conditional Only with an audit clause\n"
        "  /position verify D1\n"
        "  /deadline done D1 because signed with both red lines   (reveals every position)"
    )
    return 0


async def cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    from storage.db import run_migrations

    await run_migrations(settings.database_url)
    print("Database is up to date.")
    return 0


async def cmd_export(settings: Settings, args: argparse.Namespace) -> int:
    async with one_off_runtime(settings) as runtime:
        data = await runtime.repository.export_all()
    text = json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False)
    if args.output and args.output != "-":
        await asyncio.to_thread(Path(args.output).write_text, text + "\n", encoding="utf-8")
    else:
        sys.stdout.write(text + "\n")
    return 0


async def cmd_import(settings: Settings, args: argparse.Namespace) -> int:
    """Check the whole file first (one line per problem, nothing written), then import."""
    from storage.transfer import read_export, slack_workspaces

    text = await asyncio.to_thread(read_export_file, args.file)
    try:
        data = json.loads(text)
    except ValueError as error:
        raise ExportFileError([f"{args.file}: not JSON: {error}"]) from None
    except RecursionError:
        raise ExportFileError([f"{args.file}: not JSON: nested too deep"]) from None
    _, problems = read_export(data)
    if problems:
        raise ExportFileError([f"{args.file}: {problem}" for problem in problems])
    async with one_off_runtime(settings) as runtime:
        await runtime.repository.import_all(data)
    print(f"Imported {len(data.get('deadlines', []))} deadlines from {args.file}.")
    teams = slack_workspaces(data)
    if teams:
        print(
            f"Slack bot tokens are not exported: install Parley again in {', '.join(teams)} "
            "(with SLACK_CLIENT_ID, at PUBLIC_URL/slack/install; with SLACK_BOT_TOKEN, "
            "set the token). Teams conversations came along."
        )
    return 0


class ExportFileError(Exception):
    """An import file that cannot be imported: one line per problem."""

    PROBLEMS_SHOWN = 20

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems

    def lines(self) -> list[str]:
        shown = self.problems[: self.PROBLEMS_SHOWN]
        hidden = len(self.problems) - len(shown)
        return shown + ([f"... and {hidden} more problems"] if hidden else [])


def read_export_file(name: str) -> str:
    """The text of an export file; ``ExportFileError`` saying why there is none."""
    try:
        text = Path(name).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ExportFileError([f"{name}: not UTF-8 text: not a Parley export"]) from None
    except OSError as error:
        raise ExportFileError([f"{name}: cannot read it: {error.strerror or error}"]) from None
    if not text.strip():
        raise ExportFileError([f"{name}: empty: expected a Parley export (from parley export)"])
    return text


async def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    warm_up()
    async with _opened(settings, clock=None, migrate=None) as (runtime, schema):
        await serve(
            runtime,
            host=args.host,
            port=args.port,
            scheduler=not args.no_scheduler,
            listen=True,
            schema=schema,
        )
    return 0


async def cmd_worker(settings: Settings, args: argparse.Namespace) -> int:
    async with _opened(settings, clock=None, migrate=None) as (runtime, schema):
        await serve(runtime, host="", port=0, scheduler=True, listen=False, schema=schema)
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
    parser.add_argument("--version", action="version", version=f"parley {version('parley-bot')}")
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
    if args.command == "serve" and not 0 <= args.port <= 65535:
        print(f"parley: configuration error: --port must be 0 to 65535 (got {args.port})",
              file=sys.stderr)  # fmt: skip
        return 2
    try:
        return asyncio.run(COMMANDS[args.command](settings, args))
    except KeyboardInterrupt:
        return 130
    except ExportFileError as error:
        for line in error.lines():
            print(f"parley: {line}", file=sys.stderr)
        return 2
    except ConfigurationError as error:
        print(f"parley: configuration error: {error}", file=sys.stderr)
        return 2
    except (ParleyError, OSError) as error:
        unresolved = _unresolved_host(error)
        if unresolved is not None:
            host = urlsplit(settings.database_url).hostname
            print(
                f"parley: configuration error: DATABASE_URL: cannot resolve the host "
                f"{host!r} ({unresolved.strerror})",
                file=sys.stderr,
            )
            return 2
        if isinstance(error, ParleyError):
            print(f"parley: {error}", file=sys.stderr)
            return 1
        raise


def _unresolved_host(error: BaseException) -> socket.gaierror | None:
    """The failed name lookup behind ``error``, if that is what it was."""
    seen: set[int] = set()
    cause: BaseException | None = error
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, socket.gaierror):
            return cause
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    return None


if __name__ == "__main__":
    sys.exit(main())
