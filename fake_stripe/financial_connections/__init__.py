"""Financial Connections: its objects, the institutions, the one state machine (`domain`), the
accounts, authorizations and sessions endpoints, the linked account as ACH sees it, and the
FC test helpers."""
