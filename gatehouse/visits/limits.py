"""How often the visitor's page answers (SPEC §15: rate-limited per token and per address): a sliding
minute per token and per client address, in each process. A page a person opens a few times needs
none of it; a script guessing tokens or hammering one link meets 429 with Retry-After."""

from __future__ import annotations

import time
from collections import deque

PER_TOKEN = 30  # per minute
PER_ADDRESS = 120
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


tokens = SlidingLimit(PER_TOKEN)
addresses = SlidingLimit(PER_ADDRESS)
