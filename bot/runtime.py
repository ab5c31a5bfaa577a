"""What a running Parley holds, typed by the ports, and the alert dispatcher's lifetime.

``build_runtime`` wires the core to a repository and a clock: the service,
its calendar feeds, its command observers, and the wake-up that tells a
sleeping dispatcher a deadline changed. Wake-ups are coalesced: the first
change after a quiet ``WAKE_INTERVAL`` wakes the dispatchers at once, and the
changes that follow within it share one wake-up at its end. Each wake-up costs
a claim and a look at the schedule (two transactions): adds arriving one after
another each woke the dispatcher, at about a tenth of the add's CPU time.

It knows no storage engine and no platform: the composition root (``bot.main``)
opens the repository, registers the gateways the adapters return, and runs
``running_dispatcher`` for as long as alerts should go out.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from bot.config import Settings
from bot.dispatch_policy import DispatchPolicy
from bot.feeds import Feeds
from bot.notices import NoticePolicy, NoticeSender
from bot.observe import CommandLog, CommandObservers
from bot.ports import ChatGateway, Clock, Repository
from bot.scheduler import Dispatcher
from bot.service import Parley

# Seconds between two wake-ups of the dispatchers: an alert planned by a change is
# looked at no later than this after it (real time, whatever the clock says).
WAKE_INTERVAL = 0.1


@dataclass
class Runtime:
    """Everything a running Parley holds: settings, storage, the core, its clock."""

    settings: Settings
    clock: Clock
    repository: Repository
    feeds: Feeds
    service: Parley
    observers: CommandObservers  # the service reports every command to these
    wakeups: list[Callable[[], None]] = field(default_factory=list)
    gateways: dict[str, ChatGateway] = field(default_factory=dict)  # by platform
    dispatchers: list[Dispatcher] = field(default_factory=list)  # the running ones
    _woken_at: float = -math.inf  # the event loop's time of the last wake-up
    _wake_later: asyncio.TimerHandle | None = None

    def changed(self) -> None:
        """A deadline changed: wake whoever waits on the alert schedule (coalesced)."""
        if self._wake_later is not None:
            return  # a wake-up is already planned, after this change
        loop = asyncio.get_running_loop()
        due = self._woken_at + WAKE_INTERVAL
        if loop.time() >= due:
            self._wake()
        else:
            self._wake_later = loop.call_at(due, self._wake)

    def _wake(self) -> None:
        self._wake_later = None
        self._woken_at = asyncio.get_running_loop().time()
        for wake in list(self.wakeups):
            wake()


def build_runtime(settings: Settings, *, repository: Repository, clock: Clock) -> Runtime:
    """The core on ``repository``: commands are logged, feeds served at ``PUBLIC_URL``."""

    def changed() -> None:
        runtime.changed()  # bound below, before the service runs anything

    observers = CommandObservers(CommandLog())
    gateways: dict[str, ChatGateway] = {}  # filled by the composition root as adapters mount
    feeds = Feeds(store=repository, clock=clock, public_url=settings.public_url)
    service = Parley(
        repository=repository,
        clock=clock,
        keys=repository,
        feeds=feeds,
        on_change=changed,
        observer=observers,
        gateways=gateways,
    )
    runtime = Runtime(
        settings=settings,
        clock=clock,
        repository=repository,
        feeds=feeds,
        service=service,
        observers=observers,
        gateways=gateways,
    )
    return runtime


@contextlib.asynccontextmanager
async def running_dispatcher(runtime: Runtime) -> AsyncIterator[Dispatcher]:
    """Run the alert dispatcher, and beside it the notice sender (``bot.notices``,
    woken by the same wake-ups), in the background for the duration of the block."""
    policy = DispatchPolicy(
        lease_seconds=runtime.settings.alert_lease_seconds,
        send_timeout=runtime.settings.alert_send_timeout_seconds,
    )
    dispatcher = Dispatcher(
        outbox=runtime.repository,
        deadlines=runtime.repository,
        gateways=runtime.gateways,
        clock=runtime.clock,
        policy=policy,
        event_url=runtime.service.event_url,
        escalations=runtime.repository,
    )
    notices = NoticeSender(
        outbox=runtime.repository,
        deadlines=runtime.repository,
        gateways=runtime.gateways,
        clock=runtime.clock,
        policy=NoticePolicy(lease_seconds=policy.lease_seconds),
    )
    runtime.wakeups.extend((dispatcher.wake, notices.wake))
    runtime.dispatchers.append(dispatcher)
    task = asyncio.create_task(dispatcher.run(), name="parley-dispatcher")
    telling = asyncio.create_task(notices.run(), name="parley-notices")
    try:
        yield dispatcher
    finally:
        runtime.wakeups.remove(dispatcher.wake)
        runtime.wakeups.remove(notices.wake)
        notices.stop()
        # The send in progress may finish (within drain_seconds); claims not yet
        # sent are given back for another replica. Cancel only what overstays.
        dispatcher.stop()
        _, overstaying = await asyncio.wait({task, telling}, timeout=policy.drain_seconds)
        for unfinished in overstaying:
            unfinished.cancel()
        for finished in (task, telling):
            with contextlib.suppress(asyncio.CancelledError):
                await finished
        runtime.dispatchers.remove(dispatcher)
