"""The audit trail out (SPEC §9): the API for accounts and operators, and the admin export."""
