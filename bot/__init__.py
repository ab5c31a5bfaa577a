"""Parley's core: domain, grammar, use cases and the alert engine, free of any platform SDK."""

from bot.zones import use_packaged_rules

# Before any module of Parley (or an adapter, or storage) builds a zone: zone rules
# come from the pinned ``tzdata`` package, never from an older OS copy.
use_packaged_rules()
