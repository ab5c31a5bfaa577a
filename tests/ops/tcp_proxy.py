"""A TCP proxy on 127.0.0.1 that a test can cut and restore: a database outage on demand.

``cut()`` drops every open connection and then, until ``restore()``, either
refuses new ones (the listening socket is closed: "connection refused", as
when the server is down) or, with ``blackhole=True``, accepts them and never
answers (as when packets are lost on the way: only timeouts help).
"""

from __future__ import annotations

import asyncio
import contextlib
from types import TracebackType


class TcpProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self.blackhole = False
        self.connections = 0  # accepted and forwarded, in total
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> TcpProxy:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aenter__(self) -> TcpProxy:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @property
    def is_cut(self) -> bool:
        return self._server is None or self.blackhole

    async def cut(self, *, blackhole: bool = False) -> None:
        """Drop every connection; refuse new ones (or hold them silently)."""
        self.blackhole = blackhole
        if not blackhole and self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._writers):
            transport = writer.transport
            # An abortive close (RST), as a server or link going away would look.
            transport.abort()
        self._writers.clear()

    async def restore(self) -> None:
        """Forward again, on the same port."""
        for writer in list(self._writers):  # the held (blackholed) connections
            writer.transport.abort()
        self._writers.clear()
        self.blackhole = False
        if self._server is None:
            await self.start()

    async def close(self) -> None:
        await self.cut()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        if self.blackhole:
            return  # held open, never answered, until restore() or close()
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            self._writers.discard(writer)
            return
        self._writers.add(up_writer)
        self.connections += 1
        for source, sink in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.create_task(self._pipe(source, sink))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _pipe(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        try:
            while data := await source.read(65536):
                sink.write(data)
                await sink.drain()
        except (ConnectionError, OSError):
            pass  # the other side went away, or cut() aborted it
        finally:
            sink.transport.abort()
            self._writers.discard(sink)
