"""Webhook delivery: signed POSTs with retries and the journal (no HTTP routes of its own)."""
