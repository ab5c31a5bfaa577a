"""Parley's core: domain, grammar, use cases and the alert engine, free of any platform SDK."""
