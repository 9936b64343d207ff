"""Comments live with the ticket they belong to (facility_access.models)."""

from gatehouse.facility_access.models import Comment

__all__ = ["Comment"]
