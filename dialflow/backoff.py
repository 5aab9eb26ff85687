"""Backoff for background work that keeps failing (a timer pass, queued messages, a sweep).

A pass that failed is tried again after a delay that doubles with each failure in a row, up
to a cap, instead of every interval: a database that is down is not asked again every half
second, and the log is not filled with one warning per pass. The streak is said twice: one
warning when the work starts failing (``dialflow.db.log_failure``: one line for a database
failure a retry cures, else the traceback) and one line when it works again, with how many
attempts failed over how long; both are warnings, so whoever sees the first sees the second.
Attempts in between are logged at DEBUG.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable

from dialflow.db import log_failure

DEFAULT_CAP = 300.0  # seconds: a sweep that keeps failing is tried at least every 5 minutes


class Backoff:
    """The failure streak of one kind of background work and when to try it next.

    ``first`` is the delay after the first failure; each further failure doubles it, up to
    ``cap``. ``monotonic`` is the clock the delays are counted on (a fake one in tests)."""

    def __init__(
        self,
        what: str,
        logger: logging.Logger,
        *,
        first: float,
        cap: float = DEFAULT_CAP,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.what = what
        self.log = logger
        self.first = first
        self.cap = max(cap, first)
        self.monotonic = monotonic
        self.failures = 0
        self.failing_since = 0.0
        self.retry_at = 0.0
        self._doublings_to_cap = math.ceil(math.log2(self.cap / first)) if first > 0 else 0

    def ready(self) -> bool:
        """Whether the work may be tried now (not failing, or its delay has run out)."""
        return self.failures == 0 or self.monotonic() >= self.retry_at

    def failed(self, exc: BaseException) -> float:
        """Count a failure; the delay before the next attempt, in seconds."""
        now = self.monotonic()
        self.failures += 1
        # the exponent stops growing once the cap is reached: 2.0 ** 1024 overflows a float
        doublings = min(self.failures - 1, self._doublings_to_cap)
        delay = min(self.cap, self.first * 2**doublings)
        self.retry_at = now + delay
        if self.failures == 1:
            self.failing_since = now
            log_failure(
                self.log,
                f"{self.what} failed; trying again in {delay:g} s, then at growing intervals "
                f"(at most {self.cap:g} s) while it fails",
                exc,
            )
        else:
            self.log.debug(
                "%s failed again (%s in a row: %s); next attempt in %g s",
                self.what,
                self.failures,
                exc,
                delay,
            )
        return delay

    def succeeded(self) -> None:
        """The work ran: end the streak (and say so, once, if there was one)."""
        if self.failures:
            self.log.warning(
                "%s works again after %s failed attempts over %.0f s",
                self.what,
                self.failures,
                self.monotonic() - self.failing_since,
            )
            self.failures = 0
            self.retry_at = 0.0
