"""The site security's deny list (SPEC §14): entries, screening of every visitor and badge holder at
create and again at check-in, and the security holds a match raises (operators only)."""
