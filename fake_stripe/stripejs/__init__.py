"""The fake Stripe.js: the script, the modal authentication flow (`static/`) and its endpoints."""
