"""The fake Stripe.js: the script, the modal authentication flow (`static/`) and its endpoints."""

# Where the Stripe.js endpoints live, and the CORS headers every answer of theirs carries (the
# edge adds them to the errors it answers there itself): here, so that the edge needs nothing
# else of the package.
PREFIX = "/_stripejs"
CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
    "Access-Control-Allow-Headers": "Authorization, Content-Type, Stripe-Version",
    "Access-Control-Max-Age": "600",
}
