"""Screening a person against the watchlist (SPEC §14): the email exactly, the name normalised (case,
accents, spacing, order) exactly, then fuzzily with rapidfuzz (score >= 90). Each process keeps the
list as an index in memory and reloads it when the list's version counter moved, so a screening
costs one key read plus the matching (a 100k-entry list: SPEC §7 allows 5 ms)."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from rapidfuzz import fuzz, process
from sqlalchemy import select

from gatehouse.watchlist.models import WatchlistEntry, WatchlistVersion

THRESHOLD = 90

VERSION = select(WatchlistVersion.value)  # its one row
ENTRIES = select(WatchlistEntry.id, WatchlistEntry.first_name, WatchlistEntry.last_name, WatchlistEntry.email,
                 WatchlistEntry.site_code, WatchlistEntry.expires_on, WatchlistEntry.reason)


def normalise(first: str, last: str) -> str:
    """"José  de la Cruz" and "cruz, jose de la" alike: accents off, case folded, words sorted."""
    text = unicodedata.normalize("NFKD", f"{first} {last}")
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    words = "".join(c if c.isalnum() else " " for c in text).split()
    return " ".join(sorted(words))


@dataclass(frozen=True)
class Entry:
    id: str
    site: str | None
    expires_on: date | None
    reason: str

    def applies(self, site: str, today: date) -> bool:
        return (self.site is None or self.site == site) and (self.expires_on is None or self.expires_on >= today)


@dataclass(frozen=True)
class Hit:
    entry: Entry
    matched_on: str  # email | name | similar name (93)


class Index:
    def __init__(self, rows: Iterable[dict[str, Any]]) -> None:
        self.by_email: dict[str, list[Entry]] = {}
        by_name: dict[str, list[Entry]] = {}
        for r in rows:
            expires = r["expires_on"]
            entry = Entry(r["id"], r["site_code"], date.fromisoformat(expires) if isinstance(expires, str) else expires,
                          r["reason"])
            if r["email"]:
                self.by_email.setdefault(r["email"].strip().lower(), []).append(entry)
            by_name.setdefault(normalise(r["first_name"], r["last_name"]), []).append(entry)
        self.by_name = by_name
        # names by length: a score >= 90 (Indel) allows lengths within 10% of the pair's total, so a
        # screening compares a third of a list of ordinary names, not all of it (half the time, measured)
        self.by_length: dict[int, list[str]] = {}
        for name in by_name:
            self.by_length.setdefault(len(name), []).append(name)

    def __len__(self) -> int:
        return len(self.by_name)

    def _similar(self, name: str) -> list[tuple[str, float]]:
        la, found = len(name), []
        for lb in range(la * 9 // 11, la * 11 // 9 + 2):
            if lb in self.by_length and abs(la - lb) * 100 <= (100 - THRESHOLD) * (la + lb):
                found += [(choice, score) for choice, score, _ in process.extract(
                    name, self.by_length[lb], scorer=fuzz.ratio, score_cutoff=THRESHOLD, limit=5)]
        return sorted(found, key=lambda f: -f[1])

    def screen(self, first: str, last: str, email: str | None, site: str, today: date) -> Hit | None:
        """The best match that applies at this site today, or None."""
        for entry in self.by_email.get((email or "").strip().lower(), ()):
            if entry.applies(site, today):
                return Hit(entry, "email")
        name = normalise(first, last)
        for entry in self.by_name.get(name, ()):
            if entry.applies(site, today):
                return Hit(entry, "name")
        if not name:
            return None
        for choice, score in self._similar(name):
            for entry in self.by_name[choice]:
                if entry.applies(site, today):
                    return Hit(entry, f"similar name ({int(score)})")
        return None


_cached: dict[str, tuple[int, Index]] = {}


async def current_index(runner: Any, cache_key: str) -> Index:
    """The list as it is now: `runner` is the lean reader or an ORM session's SessionRows (then the
    transaction's own view); `cache_key` names the database it reads."""
    found = await runner.rows(VERSION)
    version = int(found[0]["value"]) if found else 0
    hit = _cached.get(cache_key)
    if hit is not None and hit[0] == version:
        return hit[1]
    index = Index(await runner.rows(ENTRIES))
    _cached[cache_key] = (version, index)
    return index
