"""Issue 20 #21: the portal says the API's problems in the form's own words."""

from __future__ import annotations

import pytest

from gatehouse.console.pages.new_request import _beside
from gatehouse.kit.errors import ErrorDetail


@pytest.mark.parametrize(("message", "said"), [
    ("Payload '[0].sites[0].locations' must have at least 1 item.", "needs at least one: tick one."),
    ("Payload '[0].escortFirstName' is mandatory for an escorted visitor (visitorType true).",
     "is needed for an escorted visitor."),
    ("Payload '[0].isExtendedVisitorBadge' is mandatory for an unescorted visitor (visitorType false).",
     "is needed for an unescorted visitor."),
    ("Payload '[0].sites[0].locations[0].accessStartDate' (2026-01-01) must be within the badge dates 2026-02-01 to "
     "2026-02-02", "(2026-01-01) must be within the badge dates 2026-02-01 to 2026-02-02"),
    ("Payload '[0].visitorBadgeEndDate' (2026-01-01) must not be before visitorBadgeStartDate (2026-01-02).",
     "(2026-01-01) must not be before Badge from (2026-01-02)."),
])
def test_api_words_become_form_words(message: str, said: str) -> None:
    text = _beside(ErrorDetail(field="x", code="C", message=message))
    assert text == said
    for api in ("visitorType", "isExtendedVisitorBadge", "visitorBadgeStartDate", "1 item", "Payload"):
        assert api not in text
