"""How a body that fails its schema is reported: one `Violation` per field at fault, with a
JSON pointer, rather than jsonschema's "not valid under any of the given schemas" for a whole
``anyOf``."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .nullable import NULL_BRANCH

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError


@dataclass(frozen=True)
class Violation:
    """One way in which a response body disagrees with its schema."""

    pointer: str
    message: str
    value: object

    def __str__(self) -> str:
        return f"{self.pointer}: {self.message} (value: {self.value!r})"


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _pointer(parts: Iterable[object]) -> str:
    return "".join("/" + _escape(str(part)) for part in parts)


def pointer(parts: Iterable[object]) -> str:
    return "".join("/" + _escape(str(part)) for part in parts)


def violations(errors: Iterable[ValidationError]) -> list[Violation]:
    found: list[Violation] = []
    for error in errors:
        for leaf in _specific(error):
            found.append(
                Violation(
                    pointer=pointer(leaf.absolute_path), message=leaf.message, value=leaf.instance
                )
            )
    unique = {(v.pointer, v.message): v for v in found}
    return sorted(unique.values(), key=lambda v: (v.pointer, v.message))


def _specific(error: ValidationError) -> list[ValidationError]:
    """Replace an ``anyOf`` failure by the errors of the branch that was meant.

    "x is not valid under any of the given schemas" hides the real problem.
    When exactly one branch accepts the value's type (ignoring the synthetic
    null branch for non-null values), its errors explain the failure; when
    several do, the one with the fewest errors at this level is preferred.
    Otherwise the ``anyOf`` error is the honest answer.
    """
    if error.validator not in ("anyOf", "oneOf") or not error.context:
        return [error]
    branches = _branches(error)
    fitting = [errors for errors in branches.values() if _fits(errors)]
    if not fitting and len(branches) == 1:
        # A nullable scalar of the wrong type: the type error says it best.
        fitting = list(branches.values())
    if not fitting:
        return [error]
    ranked = sorted(fitting, key=lambda errs: (_shallow(errs), len(errs)))
    if len(ranked) > 1 and (_shallow(ranked[0]), len(ranked[0])) == (
        _shallow(ranked[1]),
        len(ranked[1]),
    ):
        return [error]
    return [leaf for sub in ranked[0] for leaf in _specific(sub)]


def _branches(error: ValidationError) -> dict[object, list[ValidationError]]:
    options = error.validator_value
    grouped: dict[object, list[ValidationError]] = {}
    for sub in error.context or ():
        index = sub.relative_schema_path[0]
        if error.instance is not None and options[index] == NULL_BRANCH:
            continue
        grouped.setdefault(index, []).append(sub)
    return grouped


def _fits(errors: Sequence[ValidationError]) -> bool:
    """Whether a branch accepted the value's type and failed only on details."""
    for sub in errors:
        if sub.relative_path:
            continue
        if sub.validator == "type":
            return False
        if sub.validator in ("anyOf", "oneOf") and not any(
            _fits(group) for group in _branches(sub).values()
        ):
            return False
    return True


def _shallow(errors: Sequence[ValidationError]) -> int:
    return sum(1 for sub in errors if not sub.relative_path)
