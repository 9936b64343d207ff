"""Mail (SPEC §10): who is told what, the templates, and the transports (SMTP or .eml files)."""
