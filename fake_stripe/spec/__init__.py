"""Stripe's recorded OpenAPI spec: loading and response validation, the parameters it declares,
and the coverage table."""
