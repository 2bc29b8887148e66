"""The event types `trigger` can cause (`POST /v1/test_helpers/trigger`, `fake-stripe trigger`),
each by a real state change (`test_helpers.py`). Light: the command line lists them."""

TRIGGERS = (
    "customer.created",
    "financial_connections.account.created",
    "financial_connections.account.deactivated",
    "financial_connections.account.reactivated",
    "financial_connections.account.disconnected",
    "financial_connections.account.refreshed_balance",
    "financial_connections.account.refreshed_ownership",
    "financial_connections.account.refreshed_transactions",
    "financial_connections.account.refreshed_inferred_balances",
    "financial_connections.account.account_numbers_updated",
    "financial_connections.account.upcoming_account_number_expiry",
    "financial_connections.account.upcoming_deactivation",
    "financial_connections.account.expected_deactivation_date_updated",
    "financial_connections.authorization.upcoming_deactivation",
    "financial_connections.authorization.expected_deactivation_date_updated",
    "financial_connections.session.updated",
)
