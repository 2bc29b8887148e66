"""Every reference a reader meets resolves inside the repository: links between the pages, the
paths they name, the guess labels the code cites, and no pointer to a file, an issue or a
document that a clone does not have."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", ROOT / "scenarios" / "FORMAT.md", *sorted(ROOT.glob("docs/*.md"))]
SOURCES = [
    p
    for folder in ("fake_stripe", "client", "scenarios", "playwright", "tests", "bench")
    for p in sorted((ROOT / folder).rglob("*"))
    if p.suffix in (".py", ".js", ".html", ".css", ".toml")
    and p != Path(__file__)
    # not the virtual environments a benchmark makes (bench/.venv-peers, git-ignored)
    and not any(part.startswith(".venv") for part in p.relative_to(ROOT).parts)
]
# Names of what a clone does not have: the design notes and research the project started
# from, and issue numbers of a tracker the repository does not carry.
# The files docs/architecture.md's walk-through of adding an endpoint creates.
WALKTHROUGH = {
    "fake_stripe/resources/customer_balance_transactions.py",
    "tests/test_customer_balance.py",
}
ELSEWHERE = re.compile(
    r"DESIGN\.md|shared/reference|research file|\b[Ii]ssue \d+|\breference \d+\.\d+|§\d"
)


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def _anchors(doc: Path) -> set[str]:
    return {_slug(h) for h in re.findall(r"^#+ (.*)$", doc.read_text(), flags=re.M)}


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


@pytest.mark.parametrize("doc", PAGES, ids=_rel)
def test_every_link_of_a_page_resolves(doc: Path) -> None:
    text = doc.read_text()
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if target.startswith(("http://", "https://", "mailto:")):
            continue
        path, _, anchor = target.partition("#")
        resolved = (doc.parent / path).resolve() if path else doc
        if not resolved.exists():
            broken.append(target)
        elif anchor and resolved.suffix == ".md" and anchor not in _anchors(resolved):
            broken.append(target)
    assert broken == []


@pytest.mark.parametrize("doc", PAGES, ids=_rel)
def test_every_path_a_page_names_exists(doc: Path) -> None:
    """A path in backquotes (`tests/stores.py`, `core/formdata.py`) is in the repository or in
    the package."""
    named = re.findall(r"`([\w./-]+/[\w.-]+\.(?:py|md|js|json|toml|css|html))`", doc.read_text())
    missing = [
        p
        for p in named
        if p not in WALKTHROUGH
        and not p.startswith(("/", "test-artifacts/"))
        and not (ROOT / p).exists()
        and not (ROOT / "fake_stripe" / p).exists()
    ]
    assert missing == []


@pytest.mark.parametrize("path", [*PAGES, *SOURCES], ids=_rel)
def test_nothing_points_outside_the_repository(path: Path) -> None:
    found = [
        f"{n}: {line.strip()}"
        for n, line in enumerate(path.read_text().splitlines(), start=1)
        if ELSEWHERE.search(line)
    ]
    assert found == []


def test_the_pages_never_call_stripes_guide_the_seed() -> None:
    """`--seed` is an option; the guide the fake follows is "Stripe's relink guide"."""
    found = [
        f"{_rel(doc)}: {line.strip()}"
        for doc in PAGES
        for line in doc.read_text().splitlines()
        if re.search(r"\bthe seed('s)?\b|\bseed reason", line, flags=re.I)
    ]
    assert found == []


def test_every_guess_label_the_code_cites_is_on_the_guesses_page() -> None:
    guesses = (ROOT / "docs" / "guesses.md").read_text()
    defined = set(re.findall(r"\bD(\d+)\b", guesses))
    cited = {
        (label, _rel(source))
        for source in SOURCES
        for label in re.findall(r"GUESS \(?D(\d+)", source.read_text())
    }
    assert cited, "the code cites guess labels: the pattern above has gone stale"
    assert {(label, where) for label, where in cited if label not in defined} == set()
