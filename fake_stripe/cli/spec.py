"""`fake-stripe spec show | validate FILE... | record SOURCE`: the recorded Stripe spec."""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

from ..spec import record as recording
from ..spec.load import PACKAGED_SPEC, PROVENANCE_KEY, SPEC_ENV, Spec, load_spec, spec_path
from ..spec.recordings import RecordingFormatError, check, read_recordings
from ..spec.rest import load_whole
from .common import USAGE, fail
from .coverage import table_of


def _load(args: argparse.Namespace, command: str) -> Spec | None:
    path = Path(args.spec) if getattr(args, "spec", None) else None
    spec = load_spec(path)
    if spec is None:
        where = path if path is not None else spec_path()
        print(
            f"fake-stripe {command}: no OpenAPI file at {where}; fix {SPEC_ENV} or --spec "
            f"(unset, the packaged spec is used)",
            file=sys.stderr,
        )
    return spec


def show(args: argparse.Namespace) -> int:
    from ..app import routes_table  # the server, imported only by the commands that read it
    from ..spec.coverage import implemented_operations, is_implemented

    spec = _load(args, "spec show")
    if spec is None:
        return USAGE
    out = sys.stdout
    info = spec.document.get("info", {})
    source = spec.source if spec.source is not None else "(in memory)"
    out.write(f"spec file: {source}\n")
    out.write(f"version: {str(info.get('version', '?')).split(';')[0]}\n")
    if spec.provenance:
        p = spec.provenance
        out.write(f"recorded from: {p.get('source')} on {p.get('recorded_on')}\n")
        out.write(f"source version: {p.get('source_version')}\n")
        for commit in p.get("source_commits") or ["(none named)"]:
            out.write(f"source commit: {commit}\n")
        for added in p.get("added_from") or []:
            out.write(
                f"added from: {added.get('source')} ({added.get('source_version')}): "
                f"{len(added.get('operations', []))} operations, "
                f"{len(added.get('components', []))} components\n"
            )
            for commit in added.get("source_commits") or []:
                out.write(f"added from commit: {commit}\n")
        out.write(f"prose: {p.get('prose')}; nullable: {p.get('nullable')}\n")
    else:
        out.write("recorded from: (not a recorded file: read as Stripe published it)\n")
    table = routes_table()
    operations = spec.operations()
    by_method = Counter(method for method, _ in operations)
    done = sum(1 for method, path in operations if is_implemented(table, method, path))
    methods = ", ".join(f"{n} {m}" for m, n in sorted(by_method.items()))
    out.write(f"operations: {len(operations)} ({methods}); the fake implements {done}\n")
    whole = load_whole() if getattr(args, "spec", None) is None else None
    if whole is not None:
        rest = whole.rest_provenance
        out.write(
            f"rest of the API: {rest.get('source')} ({rest.get('source_version')}): "
            f"{len(whole.operations()) - len(operations)} more operations, "
            f"{len(whole.examples)} example objects, answered generically\n"
        )
    out.write(f"fake endpoints: {len(implemented_operations(table))}\n\n")
    out.write(table_of(spec, whole=whole is not None))
    return 0


def validate(args: argparse.Namespace) -> int:
    spec = _load(args, "spec validate")
    if spec is None:
        return USAGE
    checked = violations = unknown = 0
    for name in args.files:
        try:
            for recording in read_recordings(Path(name)):
                result = check(spec, recording)
                checked += 1
                where = f"{recording.where}: {recording.method} {recording.path} {recording.status}"
                if result.template is None:
                    unknown += 1
                    print(f"{where}: not an operation of the spec (not checked)", file=sys.stderr)
                    continue
                for violation in result.violations:
                    violations += 1
                    print(f"{where}: {violation}")
        except (OSError, RecordingFormatError) as err:
            return fail("spec validate", " ".join(str(err).split()))
    print(
        f"{checked} recordings, {violations} violations, {unknown} not in the spec",
        file=sys.stderr,
    )
    return 1 if violations else 0


def record(args: argparse.Namespace) -> int:
    out = Path(args.out) if args.out else PACKAGED_SPEC
    if args.operation and not args.add_from:
        return fail("spec record", "--operation needs --add-from OTHER")
    if args.rest and not args.add_from:
        return fail("spec record", "--rest needs --add-from OTHER")
    try:
        additions: list[recording.Addition] = []
        if args.add_from:
            additions.append(_addition(args))
        header = recording.record_file(
            Path(args.source), out, args.source_commit or None, args.date, additions
        )
    except (OSError, ValueError) as err:
        return fail("spec record", " ".join(str(err).split()))
    print(f"recorded {args.source} ({header['source_version']}) to {out}")
    for added in header.get("added_from", []):
        print(
            f"added from {added['source']} ({added['source_version']}): "
            f"{len(added['operations'])} operations, {len(added['components'])} components"
        )
        for operation in added["operations"]:
            print(f"  {operation}")
    if args.rest:
        return _record_rest(args, out, additions)
    return 0


def _record_rest(args: argparse.Namespace, out: Path, additions: list[recording.Addition]) -> int:
    """`--rest FIXTURES`: every other operation of OTHER, with the example objects, next to
    the recorded spec; and the routes index of the two."""
    from ..spec import rest

    rest_out = Path(args.rest_out) if args.rest_out else rest.PACKAGED_REST
    routes_out = Path(args.routes_out) if args.routes_out else rest.PACKAGED_ROUTES
    try:
        recorded = json.loads(out.read_text(encoding="utf-8"))
        fixtures = json.loads(Path(args.rest).read_text(encoding="utf-8"))
        document = rest.record_rest(
            recorded,
            additions[0],
            fixtures,
            Path(args.rest).name,
            args.fixtures_commit,
            recorded.get(PROVENANCE_KEY, {}).get("recorded_on"),
        )
    except (OSError, ValueError) as err:
        return fail("spec record", " ".join(str(err).split()))
    rest.write_rest(document, rest_out)
    rest.write_routes(rest.routes_index(recorded, document), routes_out)
    header = document[PROVENANCE_KEY]
    print(
        f"recorded the rest of {header['source']} to {rest_out}: {header['operations']} "
        f"operations, {header['components']} components, {len(document[rest.EXAMPLES_KEY])} "
        f"example objects ({len(header['examples']['synthesized'])} without a fixture)"
    )
    print(f"routes index: {routes_out}")
    return 0


def _addition(args: argparse.Namespace) -> recording.Addition:
    """`--add-from OTHER` with the `--operation`s named, or else every operation the fake
    implements (its own test helpers aside) that SOURCE lacks and OTHER has."""
    from ..app import routes_table

    other = recording.read_source(Path(args.add_from))
    if args.operation:
        operations = [recording.parse_operation(text) for text in args.operation]
    else:
        source = recording.read_source(Path(args.source))
        wanted = [(ep.method, ep.path) for ep in routes_table() if "/test_helpers/" not in ep.path]
        operations = recording.missing_operations(source, other, wanted)
        if not operations:
            raise ValueError(
                f"{args.add_from} has no operation the fake implements that "
                f"{args.source} lacks; name them with --operation"
            )
    return recording.Addition(other, Path(args.add_from).name, operations, args.add_from_commit)


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("spec", help="the recorded Stripe spec: show, validate, record")
    actions = parser.add_subparsers(dest="spec_command", required=True)
    spec_help = f"an OpenAPI file instead of the packaged spec (default: ${SPEC_ENV}, if set)"

    s = actions.add_parser("show", help="version, provenance, operation counts, coverage table")
    s.add_argument("--spec", default=None, help=spec_help)
    s.set_defaults(func=show)

    v = actions.add_parser(
        "validate",
        help="check recorded responses ({method, path, status, body}: JSON or JSON lines)",
    )
    v.add_argument("files", nargs="+", metavar="FILE")
    v.add_argument("--spec", default=None, help=spec_help)
    v.set_defaults(func=validate)

    r = actions.add_parser(
        "record", help="derive the packaged spec from a Stripe OpenAPI file (drops the prose)"
    )
    r.add_argument(
        "source", metavar="SOURCE", help="a Stripe OpenAPI file (.json, .yaml, optionally .gz)"
    )
    r.add_argument("--out", default=None, help=f"where to write (default: {PACKAGED_SPEC})")
    r.add_argument(
        "--source-commit",
        action="append",
        default=[],
        metavar="SHA",
        help="the stripe/openapi commit SOURCE comes from (default: those its info names)",
    )
    r.add_argument("--date", default=None, help="recording date (default: today)")
    r.add_argument(
        "--add-from",
        default=None,
        metavar="OTHER",
        help="a second Stripe OpenAPI file to take operations SOURCE lacks from, with the "
        "components they need that SOURCE lacks (YAML needs the `record` extra)",
    )
    r.add_argument(
        "--operation",
        action="append",
        default=[],
        metavar="'METHOD /path'",
        help="an operation to take from OTHER (repeatable; default: every operation the fake "
        "implements that SOURCE lacks)",
    )
    r.add_argument(
        "--add-from-commit",
        action="append",
        default=[],
        metavar="SHA",
        help="the stripe/openapi commit OTHER comes from (default: those its info names)",
    )
    r.add_argument(
        "--rest",
        default=None,
        metavar="FIXTURES",
        help="also record every other operation of OTHER, with one example object per "
        "resource from FIXTURES (Stripe's fixtures3.json), as the rest of the API the "
        "generic resources answer",
    )
    r.add_argument(
        "--rest-out", default=None, help="where the rest goes (default: the packaged file)"
    )
    r.add_argument(
        "--routes-out",
        default=None,
        help="where the routes index goes (default: the packaged file)",
    )
    r.add_argument(
        "--fixtures-commit",
        action="append",
        default=[],
        metavar="SHA",
        help="the stripe/openapi commit FIXTURES comes from",
    )
    r.set_defaults(func=record)
