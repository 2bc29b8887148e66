"""Run stripe-python's own generated examples against `fake-stripe serve`, as Stripe's CI runs
them against stripe-mock, and sort the failures by cause.

stripe-python's `tests/conftest.py` finds the mock at `STRIPE_MOCK_HOST`:`STRIPE_MOCK_PORT`
(and only checks that a GET of `/` gets any answer). The examples that call the API with the
SDK's default client reach the fake; those that stub the HTTP client (`stub_request`) never do.
This script starts `fake-stripe serve` on a free loopback port with the flags given, runs the
file with the Python of a scratch environment that has stripe-python's test dependencies, and
prints the pass count and each failure class.

Nothing of stripe-python is in this repository. Prepare a scratch directory outside it:

    DIR=/tmp/stripe-python-examples; mkdir -p $DIR/tests/openapi
    for f in __init__.py conftest.py http_client_mock.py stripe_mock.py request_mock.py \\
             test_generated_examples.py; do
        git -C STRIPE_PYTHON show REF:tests/$f > $DIR/tests/$f; done
    git -C STRIPE_PYTHON show REF:pyproject.toml > $DIR/pyproject.toml   # its pytest settings
    python3 -m venv $DIR/venv && $DIR/venv/bin/pip install stripe==16.1.0 'pytest<9' \\
        pytest-mock pytest-xdist 'anyio[trio]==3.6.2' httpx aiohttp requests

Usage: .venv/bin/python bench/sdk_examples.py DIR [--workers N] [-- serve flags...]
e.g.   .venv/bin/python bench/sdk_examples.py $DIR -- --fixtures-on-miss
"""

from __future__ import annotations

import argparse
import functools
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path
from typing import Any

# What a failure's message says -> its class (checked in order).
CLASSES = [
    (r"No such \w[\w. ]*: '", "names an id the fake never made"),
    (r"Unrecognized request URL", "unknown URL (404): an operation the fake does not answer"),
    (r"Received unknown parameter", "parameter newer than the recorded 2023 spec"),
    (r"Invalid \w+: must be one of", "enum value newer than the recorded 2023 spec"),
    (r"InvalidRequestError", "other invalid_request_error"),
    (r"CardError", "card_error (402) as Stripe answers it (an expired test card)"),
    (r"APIError|\b500\b", "server error of the fake"),
]
# Error codes with which Stripe refuses what some examples ask, as the fake does: an id no
# account has in the body of a write (`account_holder[customer]=cus_123`; an unknown id in a
# path or a list filter is what `--fixtures-on-miss` answers, so it is not counted here), a
# test card that expired (8/2024), a payment method type in a currency it does not take (p24 in
# usd: Stripe's docs give P24 eur and pln only). Such a failure is the fake answering as Stripe
# would.
STRIPE_REFUSES = {
    "resource_missing": "the example names an id that no account has",
    "invalid_expiry_year": "the example's test card has expired",
    "expired_card": "the example's test card has expired",
    "payment_intent_invalid_parameter": "the example's payment method type does not take its "
    "currency",
}
# A code the fake also gives for what Stripe takes counts only with this param: the fake refuses
# payment method types it does not model with payment_intent_invalid_parameter too.
ONLY_PARAM = {"payment_intent_invalid_parameter": "currency"}
_CODE = re.compile(r"stripe error code: (\w+) param: (\S+)")
_REQUESTED = re.compile(
    r"def (test_\w+)\(.*?assert_requested\(\s*\"(\w+)\",\s*path=\"([^\"]+)\"", re.DOTALL
)


def requested(examples: Path) -> dict[str, tuple[str, str]]:
    """Each example's request (method, path), from its `assert_requested`."""
    text = examples.read_text(encoding="utf-8")
    found: dict[str, tuple[str, str]] = {}
    for chunk in re.split(r"\n    (?=(?:async )?def test_)", text):
        match = _REQUESTED.search(chunk)
        if match is not None:
            found[match.group(1)] = (match.group(2).upper(), match.group(3))
    return found


@functools.cache
def _routes() -> tuple[list[Any], Any]:
    from fake_stripe.app import routes_table

    table = routes_table()
    try:
        from fake_stripe.generic.routes import GenericRoutes
    except ImportError:  # a fake from before the generic resources
        return table, None
    return table, GenericRoutes(table)


def by_hand(method: str, path: str) -> bool:
    """Whether the fake answers `method path` with a hand-modelled endpoint."""
    table, generic = _routes()
    for ep in table:
        if ep.method == method and re.match(_regex(ep.path), path):
            shadows = generic.shadowing(ep.path) if generic and "{" in ep.path else {}
            return not any(method in ms and re.match(_regex(t), path) for t, ms in shadows.items())
    return False


def _regex(template: str) -> str:
    return "^" + re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(template)) + "$"


def refused_by_stripe(message: str, request: tuple[str, str] | None) -> str | None:
    """The class of a failure Stripe answers the same way, on a hand-modelled endpoint (where the
    fake's answer is modelled on Stripe's), or None."""
    code = _CODE.search(message)
    if code is None or code.group(1) not in STRIPE_REFUSES or request is None:
        return None
    if not by_hand(*request):
        return None
    if ONLY_PARAM.get(code.group(1), code.group(2)) != code.group(2):
        return None
    in_body = request[0] == "POST" and code.group(2) not in ("None", "id")
    if code.group(1) == "resource_missing" and not in_body:
        return None
    return f"Stripe refuses this too ({code.group(1)}: {STRIPE_REFUSES[code.group(1)]})"


def classify(message: str, request: tuple[str, str] | None) -> str:
    refused = refused_by_stripe(message, request)
    if refused is not None:
        return refused
    kind = next((name for pattern, name in CLASSES if re.search(pattern, message)), None)
    if kind is None:
        return "other: " + message.split("\n", 1)[0][:120]
    modelled = request is not None and by_hand(*request)
    if kind == "parameter newer than the recorded 2023 spec" and modelled:
        return "parameter the hand-modelled endpoint does not implement"
    if kind == "names an id the fake never made":
        return kind + (" (a hand-modelled endpoint)" if modelled else " (a generic endpoint)")
    return kind


def serve(flags: list[str]) -> tuple[subprocess.Popen[str], int]:
    command = [sys.executable, "-m", "fake_stripe.cli.main", "serve", "--port", "0", "--seed", "1"]
    process = subprocess.Popen([*command, *flags], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    line = process.stdout.readline()
    found = re.search(r":(\d+)\s*$", line)
    if found is None:
        process.kill()
        raise SystemExit(f"fake-stripe serve did not start: {line!r}")
    return process, int(found.group(1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dir", type=Path, help="the scratch directory (tests/, venv/)")
    parser.add_argument("--workers", default="2", help="pytest-xdist workers (default 2)")
    parser.add_argument("--python", type=Path, default=None, help="default: DIR/venv/bin/python")
    parser.add_argument("serve_flags", nargs="*", help="flags for fake-stripe serve (after --)")
    args = parser.parse_args()
    python = args.python or args.dir / "venv/bin/python"
    junit = args.dir / "results.xml"
    process, port = serve(args.serve_flags)
    try:
        env = {**os.environ, "STRIPE_MOCK_HOST": "127.0.0.1", "STRIPE_MOCK_PORT": str(port)}
        # the plugin that records each failure's Stripe error code
        here = str(Path(__file__).resolve().parent)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [here, env.get("PYTHONPATH")]))
        subprocess.run(
            [str(python), "-m", "pytest", "tests/test_generated_examples.py", "-q", "-n",
             args.workers, "-p", "no:cacheprovider", "-p", "sdk_examples_codes",
             f"--junitxml={junit}"],
            cwd=args.dir, env=env, stdout=subprocess.DEVNULL, check=False,
        )  # fmt: skip
    finally:
        process.terminate()
        process.wait(timeout=10)
    return report(junit, args.dir / "tests/test_generated_examples.py")


def report(junit: Path, examples: Path) -> int:
    requests = requested(examples)
    cases = list(ET.parse(junit).iter("testcase"))
    failures: Counter[str] = Counter()
    example_of: dict[str, str] = {}
    modelled: Counter[bool] = Counter()  # the examples of a hand-modelled endpoint, by outcome
    failed_by_hand: list[str] = []
    refused: list[str] = []  # of those, the failures Stripe answers the same way
    for case in cases:
        test = str(case.get("name")).split("[")[0].removesuffix("_async")
        request = requests.get(test)
        failed_case = case.find("failure") is not None or case.find("error") is not None
        if "_service" not in str(case.get("name")) and request and by_hand(*request):
            modelled[not failed_case] += 1
        failed = case.find("failure")
        if failed is None:
            failed = case.find("error")
        if "_service" not in str(case.get("name")) and request and by_hand(*request):
            if failed is not None:
                text = failed.get("message", "") + "\n" + (failed.text or "")[-2000:]
                if refused_by_stripe(text, request):
                    refused.append(str(case.get("name")))
                else:
                    failed_by_hand.append(str(case.get("name")))
        if failed is None:
            continue
        message = failed.get("message", "") + "\n" + (failed.text or "")[-2000:]
        test = str(case.get("name")).split("[")[0].removesuffix("_async")
        name = classify(message, requests.get(test))
        failures[name] += 1
        example_of.setdefault(name, str(case.get("name")))
    passed = len(cases) - sum(failures.values())
    # The examples that reach the server call the SDK without stubbing its HTTP client.
    live = [c for c in cases if "_service" not in str(c.get("name"))]
    print(f"{passed} of {len(cases)} passed (sync and async; async under asyncio and trio)")
    print(f"{len(live) - sum(failures.values())} of the {len(live)} that reach the server passed")
    total = sum(modelled.values())
    print(
        f"{modelled[True]} of the {total} of a hand-modelled endpoint passed; "
        f"{modelled[True] + len(refused)} of {total} counting as passed those Stripe refuses too"
        + "".join(f"\n    refused as by Stripe: {name}" for name in sorted(refused))
        + "".join(f"\n    failed: {name}" for name in sorted(failed_by_hand))
    )
    for name, count in failures.most_common():
        print(f"  {count:4d}  {name}  (e.g. {example_of[name]})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
