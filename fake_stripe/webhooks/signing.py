"""What a webhook delivery sends: the event as the endpoint sees it, and the headers Stripe
sends with it, `Stripe-Signature` among them. The scenario runner signs the events it replays
with the same `sign`."""

from __future__ import annotations

import hashlib
import hmac
import json

from ..core.events import Event
from ..resources.webhook_endpoints import WebhookEndpoint

USER_AGENT = "Stripe/1.0 (+https://stripe.com/docs/webhooks)"


def sign(secret: str, timestamp: int, body: str) -> str:
    """The `Stripe-Signature` header: `t=<unix>,v1=<hex HMAC-SHA256(secret, "t.body")>`."""
    mac = hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def render_payload(ev: Event, ep: WebhookEndpoint) -> str:
    """The event as this endpoint sees it: at the endpoint's `api_version`, else at the event's
    (the account's default version when it happened)."""
    version = ep.payload_version(ev.api_version)
    body = ev.render_at(version) if version else ev.to_api("")
    # Stripe sends its payloads pretty-printed.
    return json.dumps(body, indent=2, ensure_ascii=False)


def headers(secret: str, timestamp: int, body: str) -> dict[str, str]:
    return {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": USER_AGENT,
        "Accept": "*/*; q=0.5, application/xml",
        "Cache-Control": "no-cache",
        "Stripe-Signature": sign(secret, timestamp, body),
    }
