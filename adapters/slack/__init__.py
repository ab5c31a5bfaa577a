"""Slack adapter: slack-bolt AsyncApp mounted on Parley's aiohttp server.

``render`` (Message -> Block Kit) and ``parse`` (Slack payload -> core input)
are pure; ``app`` is the only module that does I/O (listeners, OAuth, App Home);
``gateway`` delivers messages outside a request (alerts) as a ``ChatGateway``.
"""
