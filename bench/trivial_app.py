"""The ceiling for `bench/compare.py`: a trivial Starlette app under uvicorn with the settings of
`fake-stripe serve` (httptools, uvloop, no access log, no lifespan, no WebSocket, no proxy headers),
on uvicorn's own HTTP protocol; with `fake-protocol`, on the protocol `fake-stripe serve` runs
(`fake_stripe.http_server`), which costs less per request.

It answers `GET /v1/customers`, `GET /v1/customers/{id}` and `POST /v1/customers` (reading the
body) with a small JSON object and does nothing else: what any Python ASGI server on this
machine costs per request before it does any work.

Usage: python bench/trivial_app.py PORT [fake-protocol]
"""

from __future__ import annotations

import sys

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


async def list_customers(request: Request) -> JSONResponse:
    return JSONResponse({"object": "list", "data": [], "has_more": False, "url": "/v1/customers"})


async def retrieve(request: Request) -> JSONResponse:
    return JSONResponse({"id": request.path_params["id"], "object": "customer"})


async def create(request: Request) -> JSONResponse:
    await request.body()
    return JSONResponse({"id": "cus_trivial", "object": "customer"})


app = Starlette(
    routes=[
        Route("/v1/customers", list_customers, methods=["GET"]),
        Route("/v1/customers", create, methods=["POST"]),
        Route("/v1/customers/{id}", retrieve),
    ]
)

if __name__ == "__main__":
    protocol: object = "httptools"
    if sys.argv[2:] == ["fake-protocol"]:
        from fake_stripe.http_server import http_protocol

        protocol = http_protocol()
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=int(sys.argv[1]),
        log_level="warning",
        access_log=False,
        loop="uvloop",
        http=protocol,  # type: ignore[arg-type]
        lifespan="off",
        ws="none",
        proxy_headers=False,
    )
