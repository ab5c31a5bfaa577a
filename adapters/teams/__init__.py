"""The Microsoft Teams adapter: Bot Framework activities -> core; messages -> Adaptive Cards 1.5.

``parse`` and ``render`` are pure. ``auth`` (signing keys, credentials) and
``connection`` (botbuilder's ``CloudAdapter``: ``POST /api/messages``,
proactive sends) are the only modules that know botbuilder's adapter and
authentication; ``handler`` runs each activity against the core (its
``mount`` wires the three); ``gateway`` gives the alert engine its way into Teams;
``package`` builds the Teams app package. Every botbuilder import stays
inside this package.
"""
