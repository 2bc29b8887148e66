"""A pytest plugin for `bench/sdk_examples.py`: adds the Stripe error code of a failed example
and the parameter it names (`StripeError.code`, `.param`: the exception's message leaves them
out) to its report, where the
script reads it from the JUnit XML."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest

MARK = "stripe error code: "


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, Any, None]:
    outcome = yield
    report = outcome.get_result()
    error = call.excinfo.value if call.excinfo is not None else None
    code, param = getattr(error, "code", None), getattr(error, "param", None)
    longrepr = report.longrepr
    if isinstance(code, str) and hasattr(longrepr, "addsection"):
        longrepr.addsection("stripe error", f"{MARK}{code} param: {param}")
