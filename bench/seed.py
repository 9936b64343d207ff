"""Bulk-seed tickets straight into the tables (with their counters), so a million take minutes."""

from __future__ import annotations


import sqlite3
from datetime import date, datetime, timedelta

import asyncpg

ACCOUNT, MASTER, SITE, LOCATION = "0011A00001AaAB1ABC", "100123", "IAD024", "ABC Cage F150-B"
STATUSES = ["Approved", "Pending Approval", "Completed", "Cancelled"]


def _rows(n: int, user_id: int, location_id: int, start_id: int):  # type: ignore[no-untyped-def]
    base = datetime(2025, 1, 1)
    today = date.today()
    for i in range(n):
        wo = f"WO{start_id + i:07d}"
        created = base + timedelta(seconds=i * 7)
        status = STATUSES[i % len(STATUSES)]
        closed = created if status in ("Completed", "Cancelled") else None
        title = f"Visitor{i} Doe going to visit {SITE} - {LOCATION} on {today.strftime('%m/%d/%Y')}"
        ticket = (wo, ACCOUNT, MASTER, SITE, status, user_id, "Random User", None, created, created, closed,
                  "Random User", f"Visitor{i}", "Doe", f"v{i}@example.com", "1234567890", True, "Jane", "Doe",
                  "John", "Doe", "ABC Company", "DEF Company", today, today, False, False, "", "Bench",
                  "", title, LOCATION, None, None)
        location = (wo, location_id, LOCATION, today, today)
        yield ticket, location, status


TICKET_COLS = ("id, account_id, master_account_id, site_code, status, created_by_user_id, requester, created_app_id, "
               "created_at, updated_at, closed_at, modified_by, visitor_first_name, visitor_last_name, visitor_email, "
               "visitor_phone, escorted, escort_first_name, escort_last_name, host_first_name, host_last_name, "
               "host_company, company, badge_start, badge_end, extended_badge, bulk_request, email_notifications, "
               "notes, customer_external_reference, title, location_summary, cancel_reason, badge_number")
LOC_COLS = "work_order_id, location_id, location_name, access_start, access_end"


def seed_sqlite(path: str, n: int, user_id: int, location_id: int, start_id: int = 1_000_000) -> None:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    counts: dict[str, int] = {}
    batch_t, batch_l = [], []
    marks = ",".join("?" * 34)

    def flush() -> None:
        conn.executemany(f"INSERT INTO work_orders ({TICKET_COLS}) VALUES ({marks})",
                         [tuple(v.strftime("%Y-%m-%d %H:%M:%S.%f") if isinstance(v, datetime) else v for v in t) for t in batch_t])
        conn.executemany(f"INSERT INTO work_order_locations ({LOC_COLS}) VALUES (?,?,?,?,?)", batch_l)
        batch_t.clear()
        batch_l.clear()

    for ticket, location, status in _rows(n, user_id, location_id, start_id):
        batch_t.append(ticket)
        batch_l.append(location)
        counts[status] = counts.get(status, 0) + 1
        if len(batch_t) >= 20_000:
            flush()
    flush()
    for status, k in counts.items():
        conn.execute("INSERT INTO ticket_counts (account_id, site_code, status, requester, n) VALUES (?,?,?,?,?) "
                     "ON CONFLICT (account_id, site_code, status, requester, shard) DO UPDATE SET n = n + excluded.n",
                     (ACCOUNT, SITE, status, "Random User", k))
    conn.commit()
    conn.execute("ANALYZE")
    conn.close()


async def seed_postgres(url: str, n: int, user_id: int, location_id: int, start_id: int = 1_000_000) -> None:
    conn = await asyncpg.connect(url)
    try:
        counts: dict[str, int] = {}
        batch_t, batch_l = [], []
        cols_t = [c.strip() for c in TICKET_COLS.split(",")]
        cols_l = [c.strip() for c in LOC_COLS.split(",")]

        async def flush() -> None:
            await conn.copy_records_to_table("work_orders", records=batch_t, columns=cols_t)
            await conn.copy_records_to_table("work_order_locations", records=batch_l, columns=cols_l)
            batch_t.clear()
            batch_l.clear()

        for ticket, location, status in _rows(n, user_id, location_id, start_id):
            batch_t.append(ticket)
            batch_l.append(location)
            counts[status] = counts.get(status, 0) + 1
            if len(batch_t) >= 50_000:
                await flush()
        await flush()
        for status, k in counts.items():
            await conn.execute(
                "INSERT INTO ticket_counts (account_id, site_code, status, requester, n) VALUES ($1,$2,$3,$4,$5) "
                "ON CONFLICT (account_id, site_code, status, requester, shard) DO UPDATE SET n = ticket_counts.n + excluded.n",
                ACCOUNT, SITE, status, "Random User", k)
        await conn.execute("ANALYZE")
    finally:
        await conn.close()




WATCHLIST_COLS = ("id", "first_name", "last_name", "email", "reason", "site_code", "created_by", "created_at",
                  "updated_at")


def _watchlist_rows(n: int):  # type: ignore[no-untyped-def]
    """`n` random names (none a bench visitor's: those are "Visitor<i> Doe"), every site."""
    import random
    import string

    rnd = random.Random(7)

    def word() -> str:
        return "".join(rnd.choice(string.ascii_lowercase) for _ in range(rnd.randint(4, 9))).title()

    now = datetime(2026, 1, 1)
    for i in range(n):
        yield (f"WLB{i:09d}", word(), word(), f"listed{i}@bench.example", "bench", None, "bench", now, now)


def seed_watchlist_sqlite(path: str, n: int) -> None:
    conn = sqlite3.connect(path)
    conn.executemany(f"INSERT INTO watchlist_entries ({', '.join(WATCHLIST_COLS)}) VALUES ({','.join('?' * 9)})",
                     [tuple(v.strftime("%Y-%m-%d %H:%M:%S.%f") if isinstance(v, datetime) else v for v in r)
                      for r in _watchlist_rows(n)])
    conn.execute("UPDATE watchlist_version SET value = value + 1")
    conn.commit()
    conn.close()


async def seed_watchlist_postgres(url: str, n: int) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.copy_records_to_table("watchlist_entries", records=list(_watchlist_rows(n)),
                                         columns=list(WATCHLIST_COLS))
        await conn.execute("UPDATE watchlist_version SET value = value + 1")
    finally:
        await conn.close()
