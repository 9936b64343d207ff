"""events/types.py is the one vocabulary: the trail, the webhook list, the mail table and the
metrics agree with it (issue 21)."""

from __future__ import annotations

from gatehouse.events import service as events
from gatehouse.events.types import MAILED, WEBHOOK, EventType
from gatehouse.notifications.fanout import TICKET_EVENTS
from gatehouse.notifications.recipients import MAIL_TABLE
from gatehouse.webhooks.service import SUBSCRIBABLE


def test_every_list_of_event_types_derives_from_the_vocabulary():
    assert events.TYPES == frozenset(EventType)
    assert SUBSCRIBABLE == WEBHOOK and WEBHOOK <= frozenset(EventType)
    assert set(MAIL_TABLE) == set(MAILED) == set(TICKET_EVENTS)
    # security events are never sent to customers' receivers
    assert not {t for t in WEBHOOK if t.startswith(("auth.", "app.", "webhook.", "grant."))}


def test_every_recorded_type_in_the_code_is_in_the_vocabulary():
    """A type written as a string where an event is recorded must be one of EventType's."""
    import re
    from pathlib import Path

    root = Path(events.__file__).parents[1]
    found = set()
    for path in root.rglob("*.py"):
        found |= set(re.findall(r"""record\(\s*session,\s*["']([a-z_]+\.[a-z_]+)["']""", path.read_text()))
    assert found and found <= {t.value for t in EventType}, found - {t.value for t in EventType}
