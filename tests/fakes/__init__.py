"""Fakes that sit at the wire: local servers and request builders shared by the test suites."""
