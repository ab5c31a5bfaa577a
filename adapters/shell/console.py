"""The shell's I/O: read command lines from stdin, print replies and alerts to stdout."""

from __future__ import annotations

import asyncio
import sys
from typing import TextIO

from adapters.shell.render import render_message
from bot.domain import Context
from bot.grammar import COMMAND_WORDS
from bot.messages import Message
from bot.ports import Clock
from bot.service import Parley

WORKSPACE = "shell:local"
GREETING = (
    "Parley shell — you are @{user} in #{channel} (times in {tz}).\n"
    "Type /deadline help or /position help; Ctrl-D to quit."
)


class ShellGateway:
    """Delivers alerts by printing them (the shell's ChatGateway)."""

    def __init__(self, *, out: TextIO, clock: Clock) -> None:
        self.out = out
        self.clock = clock

    async def send(self, *, workspace_id: str, channel_id: str, message: Message) -> str | None:
        text = render_message(message, now=self.clock.now())
        where = f"@{message.user_id}" if message.user_id else f"#{channel_id}"
        self.out.write(f"[alert to {where}]\n{text}\n")
        self.out.flush()
        return None


def is_direct(channel: str) -> bool:
    """A channel named ``dm:…`` or ``@…`` stands for a direct message with Parley."""
    return channel.startswith(("dm:", "@"))


def split_command(line: str) -> tuple[str, str] | None:
    """``"/deadline add x"`` -> ``("deadline", "add x")``; None for other lines."""
    word, _, rest = line.strip().partition(" ")
    name = word.lstrip("/").lower()
    if name in COMMAND_WORDS:
        return name, rest.strip()
    return None


async def run_shell(
    *,
    service: Parley,
    channel: str,
    user: str,
    tz: str,
    stdin: TextIO = sys.stdin,
    out: TextIO = sys.stdout,
) -> None:
    """Read lines until end of input; each ``/deadline`` or ``/position`` line is run."""
    ctx = Context(
        workspace_id=WORKSPACE,
        channel_id=channel,
        user_id=user,
        user_name=user,
        tz=tz,
        platform="shell",
        direct=is_direct(channel),
    )
    interactive = stdin.isatty()
    if interactive:
        out.write(GREETING.format(user=user, channel=channel, tz=tz) + "\n")
    loop = asyncio.get_running_loop()
    while True:
        if interactive:
            out.write(f"#{channel}> ")
            out.flush()
        # Read in a thread so alerts can print while we wait for the user.
        line = await loop.run_in_executor(None, stdin.readline)
        if not line:
            break
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = split_command(line)
        if parts is None:
            out.write("Commands start with /deadline or /position. Try /deadline help.\n")
            continue
        command, text = parts
        if not interactive:
            out.write(f"> {line.strip()}\n")
        for message in await service.handle(ctx=ctx, command=command, text=text):
            out.write(render_message(message, now=service.clock.now(), tz=tz) + "\n")
        out.flush()
