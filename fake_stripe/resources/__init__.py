"""Stripe resources that stand on their own: customers, payment methods once made, events,
webhook endpoints, and the generic test helpers (the tenant clock, injected faults)."""
