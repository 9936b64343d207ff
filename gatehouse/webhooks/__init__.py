"""Outgoing webhooks (SPEC §11): Standard Webhooks 1.0, on the worker."""
