"""A sliding window of hits per key (a token, a client address), in each process: what a person
using a page never meets, and what a script hammering one meets as 429 with Retry-After. Used by the
visitor's page (SPEC §15) and the console's single sign-on, which anyone may call."""

from __future__ import annotations

import time
from collections import deque

WINDOW = 60.0
_MAX_KEYS = 50_000


class SlidingLimit:
    def __init__(self, limit: int, window: float = WINDOW) -> None:
        self.limit, self.window = limit, window
        self.hits: dict[str, deque[float]] = {}

    def retry_after(self, key: str, now: float | None = None) -> int | None:
        """Count a hit; None when allowed, else the seconds until one is."""
        now = time.monotonic() if now is None else now
        if len(self.hits) > _MAX_KEYS:
            self.hits.clear()  # a flood of distinct keys: start over rather than grow without bound
        seen = self.hits.setdefault(key, deque())
        while seen and now - seen[0] > self.window:
            seen.popleft()
        if len(seen) >= self.limit:
            return max(1, int(self.window - (now - seen[0])) + 1)
        seen.append(now)
        return None
