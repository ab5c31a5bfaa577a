"""The Microsoft Teams adapter: Bot Framework activities -> core; messages -> Adaptive Cards 1.5.

``parse`` and ``render`` are pure; ``bot`` is the only module that talks to the
Bot Framework (the ``POST /api/messages`` endpoint and proactive sends);
``gateway`` gives the alert engine its way into Teams; ``package`` builds the
Teams app package. Every botbuilder import stays inside this package.
"""
