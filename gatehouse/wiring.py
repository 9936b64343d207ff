"""What every process that changes data must have in place: the fan-outs that turn events into
outbox rows (mail, webhooks). Called by the app, the CLI and the worker, so a change made
anywhere tells the same people."""

from __future__ import annotations

from gatehouse.events import service as events


def install_fanouts() -> None:
    from gatehouse.notifications.fanout import on_event as mail_fanout
    from gatehouse.webhooks.fanout import on_event as webhook_fanout

    events.subscribe(mail_fanout)
    events.subscribe(webhook_fanout)
