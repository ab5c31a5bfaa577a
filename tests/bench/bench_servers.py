"""The reference servers of bench_slack.py, each started as a process of its own.

    python tests/bench/bench_servers.py plain --port P
    python tests/bench/bench_servers.py bolt --port P --api-url URL --secret S --token T

``plain``: an aiohttp handler that reads the body and answers 200 with a small
JSON body: what wrk can drive through aiohttp when the handler does nothing (the
load generator's ceiling). ``bolt``: a bare slack-bolt ``AsyncApp`` with default
settings whose ``/deadline`` listener only acks (the baseline every ratio is
measured against), on the same aiohttp adapter Parley uses. Neither writes an
access log. Both listen on 127.0.0.1 only.
"""

from __future__ import annotations

import argparse

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

PATH = "/slack/events"


def plain_app() -> web.Application:
    async def handler(request: web.Request) -> web.Response:
        await request.read()
        return web.json_response({"text": "ok"})

    app = web.Application()
    app.router.add_post(PATH, handler)
    return app


def bolt_app(*, api_url: str, secret: str, token: str) -> web.Application:
    bolt = AsyncApp(signing_secret=secret, client=AsyncWebClient(token=token, base_url=api_url))

    @bolt.command("/deadline")
    async def command(ack: AsyncAck) -> None:
        await ack()

    async def handler(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await bolt.async_dispatch(await to_bolt_request(request)))

    app = web.Application()
    app.router.add_post(PATH, handler)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("kind", choices=("plain", "bolt"))
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--api-url", default="")
    parser.add_argument("--secret", default="")
    parser.add_argument("--token", default="")
    args = parser.parse_args()
    if args.kind == "plain":
        app = plain_app()
    else:
        app = bolt_app(api_url=args.api_url, secret=args.secret, token=args.token)
    web.run_app(app, host="127.0.0.1", port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
