"""What a run prints and writes: the progress bar, the results table, the failures, JUnit XML."""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from .model import Scenario

if TYPE_CHECKING:  # listing the catalog needs no runner, and so no SDK
    from .runner import Result

BAR_WIDTH = 28


class Progress:
    """A bar redrawn in place on a terminal; one plain line per scenario otherwise (CI logs)."""

    def __init__(self, total: int, stream: TextIO | None = None) -> None:
        self.total = total
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.done = 0
        self.failed = 0

    def start(self) -> None:
        if self.tty:
            self._draw("")

    def update(self, result: Result) -> None:
        self.done += 1
        self.failed += not result.passed
        if self.tty:
            self._draw(result.scenario.name)
        else:
            width = len(str(self.total))
            print(
                f"[{self.done:>{width}}/{self.total}] {result.outcome.upper():<5} "
                f"{result.scenario.name} ({result.seconds:.2f}s)",
                file=self.stream,
                flush=True,
            )

    def finish(self) -> None:
        if self.tty:
            self.stream.write("\r\033[K")
            self.stream.flush()

    def _draw(self, name: str) -> None:
        filled = BAR_WIDTH * self.done // max(self.total, 1)
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        failed = f" {self.failed} failed" if self.failed else ""
        self.stream.write(f"\r\033[K[{bar}] {self.done}/{self.total}{failed} {name[:40]}")
        self.stream.flush()


def dashboard_url(base_url: str, key: str) -> str:
    """The fake's dashboard opened on the tenant of `key` (`sk_test_<tenant>`)."""
    return f"{base_url}/_fake/dashboard?tenant={key.split('_', 2)[2]}"


def table(
    results: Sequence[Result], elapsed: float, where: str, base_url: str | None = None
) -> str:
    """The results table, the failures with expected vs actual, and a summary line. With the
    URL of a served fake, each failure also names its tenant's dashboard page."""
    name_w = max([len("scenario"), *(len(r.scenario.name) for r in results)])
    lines = [f"{'scenario':<{name_w}}  outcome  time", f"{'-' * name_w}  -------  ------"]
    for r in results:
        lines.append(f"{r.scenario.name:<{name_w}}  {r.outcome.upper():<7}  {r.seconds:5.2f}s")
    bad = [r for r in results if not r.passed]
    for r in bad:
        lines += [
            "",
            f"{r.outcome.upper()} {r.scenario.name} ({r.scenario.path})",
            f"  {r.scenario.description}",
        ]
        if r.key:
            lines.append(f"  tenant key: {r.key}")
            if base_url is not None:
                lines.append(f"  dashboard: {dashboard_url(base_url, r.key)}")
        lines += [f"  - {d}" for d in r.details()]
    passed = sum(r.passed for r in results)
    failed = sum(r.outcome == "fail" for r in results)
    errors = sum(r.outcome == "error" for r in results)
    lines += [
        "",
        f"{len(results)} scenarios: {passed} passed, {failed} failed, {errors} errors "
        f"in {elapsed:.2f}s ({where})",
    ]
    return "\n".join(lines)


def catalog(scenarios: Sequence[Scenario]) -> str:
    name_w = max([len("scenario"), *(len(s.name) for s in scenarios)])
    lines = [f"{'scenario':<{name_w}}  description"]
    for s in scenarios:
        tags = f" [{', '.join(s.tags)}]" if s.tags else ""
        lines.append(f"{s.name:<{name_w}}  {s.description}{tags}")
    lines.append(f"\n{len(scenarios)} scenarios")
    return "\n".join(lines)


def junit(results: Sequence[Result], elapsed: float, path: Path) -> None:
    suite = ET.Element(
        "testsuite",
        name="fake-stripe scenarios",
        tests=str(len(results)),
        failures=str(sum(r.outcome == "fail" for r in results)),
        errors=str(sum(r.outcome == "error" for r in results)),
        skipped="0",
        time=f"{elapsed:.3f}",
    )
    for r in results:
        case = ET.SubElement(
            suite,
            "testcase",
            classname="scenarios",
            name=r.scenario.name,
            file=str(r.scenario.path),
            time=f"{r.seconds:.3f}",
        )
        details = r.details()
        if r.outcome in ("fail", "error"):
            el = ET.SubElement(
                case,
                "failure" if r.outcome == "fail" else "error",
                message=details[0] if details else r.outcome,
            )
            el.text = "\n".join([r.scenario.description, *details])
    root = ET.Element("testsuites")
    root.append(suite)
    ET.indent(root)
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
