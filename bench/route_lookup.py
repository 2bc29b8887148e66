"""What a generic route lookup costs as the number of operations grows, in microseconds per
lookup (the median of --repeats rounds): the packaged routes index (every operation of the
whole API), then the same with its collections copied 10 and 100 times (`/v1/products_7/...`),
looking up the same paths each time. The lookup walks the path's segments, so the cost should
not grow with the number of operations.

Usage: .venv/bin/python bench/route_lookup.py [--repeats R] [--n N]
"""

from __future__ import annotations

import argparse
import statistics
import time

from fake_stripe.generic.routes import GenericRoutes
from fake_stripe.spec.rest import read_routes

PATHS = [
    ("GET", "/v1/products/prod_123"),
    ("POST", "/v1/invoices/in_123/finalize"),
    ("GET", "/v1/customers/cus_123/tax_ids/txi_1"),
    ("GET", "/v1/customers/search"),
    ("DELETE", "/v1/terminal/locations/tml_1"),
    ("GET", "/v1/nothing/here"),
]


def copies(operations: list[tuple[str, str]], times: int) -> list[tuple[str, str]]:
    out = list(operations)
    for n in range(1, times):
        for method, template in operations:
            parts = template.split("/")
            parts[2] = f"{parts[2]}_{n}"
            out.append((method, "/".join(parts)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--n", type=int, default=20_000, help="lookups per round")
    args = parser.parse_args()
    base = read_routes()
    for times in (1, 10, 100):
        routes = GenericRoutes([], operations=copies(base, times))
        routes.match("GET", "/v1/balance")  # builds the trie
        rounds = []
        for _ in range(args.repeats):
            started = time.perf_counter()
            for _ in range(args.n // len(PATHS)):
                for method, path in PATHS:
                    routes.match(method, path)
            rounds.append((time.perf_counter() - started) / args.n * 1e6)
        print(f"{len(routes.operations):7d} operations: {statistics.median(rounds):6.2f} us/lookup")


if __name__ == "__main__":
    main()
