"""The worker: outbox deliveries (at least once, leased, retried on a schedule) and periodic jobs."""
