"""Failed page sign-ins, counted per client address in a moving one-minute window.

Only failures count: once a client has failed ``per_minute`` times within the last minute,
every sign-in from it is refused (even with a good token, or guessing would just go on) until
the oldest failure leaves the window.

The counts live in this process's memory (``limits``' memory storage), not in the database:
a refused guess costs no write. With several web processes behind one address, each keeps
its own counts, so a client gets up to ``per_minute`` tries per process a minute; that still
bounds guessing at a few per second against 256-bit tokens. The client address is what the
server sees: behind a reverse proxy run uvicorn with ``--proxy-headers`` and
``--forwarded-allow-ips`` so it is the browser's, not the proxy's (else everyone shares one).
"""

from __future__ import annotations

import math
import time

from limits import RateLimitItemPerMinute
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from workflow.domain.errors import RateLimited


class FailedSignIns:
    def __init__(self, per_minute: int) -> None:
        self._limit = RateLimitItemPerMinute(per_minute)
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    def check(self, client: str) -> None:
        """Refuse a client whose failures fill the window, saying when it may try again."""
        if not self._limiter.test(self._limit, client):
            reset = self._limiter.get_window_stats(self._limit, client).reset_time
            wait = max(1, math.ceil(reset - time.time()))
            raise RateLimited(
                f"too many failed sign-ins from this address: try again in {wait} s "
                f"(登录失败次数过多，请 {wait} 秒后再试)",
                retry_after=wait,
            )

    def failed(self, client: str) -> None:
        self._limiter.hit(self._limit, client)
