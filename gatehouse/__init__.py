"""Gatehouse: facility (visitor) access and work-order attachments API."""

__version__ = "0.1.0"
