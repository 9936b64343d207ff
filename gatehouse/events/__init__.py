"""The event trail: one append-only table that every change writes to, in its own transaction."""
