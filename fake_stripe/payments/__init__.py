"""Payments on linked accounts: making `us_bank_account` PaymentMethods, SetupIntents and their
mandates."""
