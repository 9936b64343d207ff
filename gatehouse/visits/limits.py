"""How often the visitor's page answers (SPEC §15: rate-limited per token and per address): a sliding
minute per token and per client address, in each process. A page a person opens a few times needs
none of it; a script guessing tokens or hammering one link meets 429 with Retry-After."""

from __future__ import annotations

from gatehouse.kit.ratelimit import SlidingLimit

PER_TOKEN = 30  # per minute
PER_ADDRESS = 120


tokens = SlidingLimit(PER_TOKEN)
addresses = SlidingLimit(PER_ADDRESS)
