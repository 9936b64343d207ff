"""Shared plumbing: database, errors, wire formats, request parsing."""
