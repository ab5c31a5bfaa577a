"""Use cases that outgrew ``bot.service``: plain functions of keyword arguments.

``bot.service.Parley`` stays the one entry point (``handle``, ``execute``,
``press``); it resolves references and calls these with what they need.
"""
