"""Where scenarios run: the fake as an app in-process, or at a base URL (`served` starts one)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import stripe

from . import DEFAULT_RETRY_TIME_SCALE
from .relink_client import RelinkClient


@dataclass
class Target:
    """Where the fake runs: an ASGI app (in-process, no socket) or a base URL."""

    app: Any = None
    url: str | None = None
    http_client: stripe.HTTPClient | None = None  # shared by every scenario (in-process)
    retry_time_scale: float = DEFAULT_RETRY_TIME_SCALE

    @property
    def label(self) -> str:
        return self.url or "in-process"

    @classmethod
    def in_process(cls, app: Any, retry_time_scale: float = DEFAULT_RETRY_TIME_SCALE) -> Target:
        from fake_stripe.sdk import http_client

        return cls(app=app, http_client=http_client(app), retry_time_scale=retry_time_scale)

    def connect(
        self, key: str, stripe_version: str, clock: Callable[[], int] | None = None
    ) -> RelinkClient:
        return RelinkClient.connect(
            self.url if self.url is not None else self.app,
            key,
            stripe_version=stripe_version,
            http_client=self.http_client,
            clock=clock,
            retry_time_scale=self.retry_time_scale,
        )

    def close(self) -> None:
        if self.http_client is not None:
            self.http_client.close()  # type: ignore[no-untyped-call]


@contextmanager
def served(app: Any) -> Iterator[str]:
    """`app` under uvicorn on a free loopback port, in a thread; yields its base URL."""
    from fake_stripe.http_server import ServerThread

    with ServerThread(app) as url:
        yield url
