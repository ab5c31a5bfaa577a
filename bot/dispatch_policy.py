"""How the alert dispatcher (``bot.scheduler``) behaves, and what it counts.

``DispatchPolicy`` holds its limits: the lease, the send timeout (at most half
the lease), batch sizes, retries and backoff; ``DEFAULT_PACING`` how often it
may post to one conversation on each platform; ``DispatchStats`` the counters
metrics and tests read.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

# Seconds between two posts to one conversation, by platform.
DEFAULT_PACING: Mapping[str, float] = {"slack": 1.0, "teams": 1 / 7, "shell": 0.0}


@dataclass
class DispatchStats:
    """Counters for metrics and tests."""

    sent: int = 0
    failed: int = 0
    retried: int = 0
    collapsed: int = 0
    # The latest lateness samples (seconds), and how many there have been in all.
    lateness: deque[float] = field(default_factory=lambda: deque(maxlen=10_000))
    lateness_count: int = 0


@dataclass(frozen=True)
class DispatchPolicy:
    # How long a claim, or a renewal, holds an alert.
    lease_seconds: float = 120.0
    # A post not answered within this long is given up (and retried). Each post
    # ends at least this long before its lease does: the time to record it sent.
    send_timeout: float = 30.0
    batch_size: int = 250
    # Claimed alerts not yet sent, at most (their channel queues included).
    max_in_flight: int = 2000
    # Posts under way at once, at most: more would make each wait for the others'
    # turns on a busy CPU, on its lease's time.
    max_posting: int = 32
    poll_seconds: float = 30.0
    max_attempts: int = 8
    backoff_base: float = 2.0
    backoff_cap: float = 300.0
    # An alert more than this late when claimed is part of a catch-up.
    catch_up_after: timedelta = timedelta(minutes=10)
    # After stop(): how long the send in progress may take before it is cancelled.
    drain_seconds: float = 10.0

    def __post_init__(self) -> None:
        if not self.lease_seconds >= 2 * self.send_timeout > 0:
            raise ValueError(
                f"lease {self.lease_seconds} s < 2 x send timeout {self.send_timeout} s"
            )
