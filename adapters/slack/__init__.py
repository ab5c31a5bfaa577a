"""Slack adapter: slack-bolt AsyncApp mounted on Parley's aiohttp server.

``render`` (Message -> Block Kit) and ``parse`` (Slack payload -> core input)
are pure. ``app`` holds the listeners and ``mount``; ``delivery`` routes
every outgoing message by audience, for replies and, through ``gateway``
(the ``ChatGateway`` for alerts), outside a request; ``oauth`` is the
multi-workspace install, on the ``Installations`` port through
``installation_store``; ``timezones`` caches users' zones; ``home`` is the
App Home tab; ``tasks`` keeps the background tasks.
"""
