"""Idle keep-alive connections are closed after a bounded time (aiohttp's own
default keeps them an hour): a real server on a port, a raw client socket."""

from __future__ import annotations

import asyncio

from aiohttp import web

from adapters.web import KEEPALIVE_TIMEOUT, serving


async def test_an_idle_keep_alive_connection_is_closed() -> None:
    assert KEEPALIVE_TIMEOUT <= 120
    app = web.Application()

    async def hello(request: web.Request) -> web.Response:
        return web.Response(text="hi")

    app.router.add_get("/", hello)
    async with serving(app, host="127.0.0.1", port=0, keepalive_timeout=0.2) as server:
        port = server.runner.addresses[0][1]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n")
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert head.startswith(b"HTTP/1.1 200")
        assert await asyncio.wait_for(reader.readexactly(2), 5) == b"hi"
        # Nothing more is sent: the server ends the connection on its own.
        assert await asyncio.wait_for(reader.read(), 10) == b""
        writer.close()
