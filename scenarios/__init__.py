"""Relink scenarios: TOML files played with the reference client against the fake.

`load_all` reads scenario files (the built-in catalog by default); `run_scenario`/`run_all` play
them against a `Target` (an app in-process, or a base URL); `fake-stripe scenarios` is the CLI.
The names below load on first use, so registering the CLI subcommand imports neither the
client nor the `stripe` SDK.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .model import Scenario, ScenarioFormatError, catalog_dir, discover, load, load_all
    from .runner import Result, run_all, run_scenario
    from .target import Target, served

# The SDK's back-off before a retry (0.5 s, 1 s, ... with jitter) is multiplied by this when
# the runner plays scenarios: a retried 500 costs half a millisecond, not half a second (the same
# idea as the shortened webhook retry schedule). `scenarios run --retry-time-scale 1` restores it.
DEFAULT_RETRY_TIME_SCALE = 0.001
# The most processes `scenarios run` forks by default (`processes.py`): more would each pay their
# own first requests (each loads the fake's modules and builds its models' validators once) for
# scenarios that take tens of milliseconds.
MAX_PROCESSES = 4

_WHERE = {
    "Scenario": "model",
    "ScenarioFormatError": "model",
    "catalog_dir": "model",
    "discover": "model",
    "load": "model",
    "load_all": "model",
    "Result": "runner",
    "Target": "target",
    "run_all": "runner",
    "run_scenario": "runner",
    "served": "target",
}
__all__ = [
    "Result",
    "Scenario",
    "ScenarioFormatError",
    "Target",
    "catalog_dir",
    "discover",
    "load",
    "load_all",
    "run_all",
    "run_scenario",
    "served",
]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'scenarios' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
