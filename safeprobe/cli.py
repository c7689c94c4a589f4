"""The ``safeprobe`` command: small subcommands over the library.

Exit codes: 0 ok, 1 the thing checked is bad (policy, audit chain, demo failed), 2 usage.
Expected failures print one line, ``safeprobe: <file>:<line>: <field>: <problem>``, and no
traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Final

from safeprobe.cli_live import add_commands as add_live_commands
from safeprobe.errors import SafeprobeError

EXIT_OK: Final = 0
EXIT_BAD: Final = 1
EXIT_USAGE: Final = 2


def _cmd_demo(args: argparse.Namespace) -> int:
    from safeprobe.demo import run_demo  # noqa: PLC0415 - the demo starts processes; load on use

    return EXIT_OK if run_demo(keep=args.keep) else EXIT_BAD


def _cmd_check(args: argparse.Namespace) -> int:
    from safeprobe.policy import load_policy  # noqa: PLC0415

    policy = load_policy(args.policy)
    print(json.dumps(policy.model_dump(mode="json", by_alias=True), indent=2))
    return EXIT_OK


def _cmd_audit_verify(args: argparse.Namespace) -> int:
    from safeprobe.audit import load_hmac_key, verify_chain  # noqa: PLC0415

    key = load_hmac_key(args.key_file) if args.key_file else None
    report = verify_chain(args.log, key=key, expect_head=args.expect_head)
    if args.json:
        print(
            json.dumps(
                {
                    "ok": True,
                    "records": report.records,
                    "head": report.head,
                    "torn_tail": report.torn_tail,
                    "torn_lines": list(report.torn_lines),
                }
            )
        )
    else:
        print(f"ok: {report.records} records, chain intact\nhead: {report.head}")
        if report.torn_lines:
            lines = ", ".join(str(n) for n in report.torn_lines)
            print(f"torn lines (a crash mid-write, not tampering): {lines}")
        elif report.torn_tail:
            print("the last line is torn (a crash mid-write, not tampering)")
    return EXIT_OK


def _cmd_audit_show(args: argparse.Namespace) -> int:
    import time  # noqa: PLC0415

    from safeprobe import review  # noqa: PLC0415

    now = time.time()
    wanted = review.RecordFilter(
        since=review.parse_when(args.since, now=now) if args.since else None,
        until=review.parse_when(args.until, now=now) if args.until else None,
        outcomes=frozenset(args.outcome or ()),
        pid=args.pid,
        probe=args.probe,
    )
    try:
        records, skipped = review.read_records(args.log)
    except OSError as exc:
        print(f"safeprobe: {args.log}: {exc.strerror}", file=sys.stderr)
        return EXIT_BAD

    def emit(record: dict[str, object]) -> None:
        if wanted.matches(record):
            print(json.dumps(record) if args.json else review.format_row(record), flush=True)

    if not args.json:
        print(review.HEADER)
    for record in records:
        emit(record)
    if skipped:
        print(
            f"safeprobe: {skipped} lines did not parse; run 'safeprobe audit verify'",
            file=sys.stderr,
        )
    if args.follow:
        for record in review.follow(args.log):
            emit(record)
    return EXIT_OK


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="safeprobe",
        description="Look inside a running Python process with a guarded, audited probe.",
        epilog="exit codes: 0 ok, 1 the thing checked is bad, 2 usage",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser(
        "demo",
        help="run the seed story end to end in a temporary folder",
        description="Start a host, kill -3 it, edit the probe, try forbidden probes, "
        "verify the audit.",
        epilog="example: safeprobe demo",
    )
    demo.add_argument("--keep", action="store_true", help="keep the temporary folder")
    demo.set_defaults(func=_cmd_demo)

    check = sub.add_parser(
        "check",
        help="validate a policy and print it with defaults filled in",
        epilog="example: safeprobe check policies/app.yaml",
    )
    check.add_argument("policy")
    check.set_defaults(func=_cmd_check)

    audit = sub.add_parser("audit", help="work with audit logs")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    verify = audit_sub.add_parser(
        "verify",
        help="recompute the hash chain of an audit log",
        epilog="example: safeprobe audit verify audit.jsonl --key-file audit.key",
    )
    verify.add_argument("log")
    verify.add_argument(
        "--key-file", help="HMAC key file, when the policy sets audit.hmac_key_file"
    )
    verify.add_argument("--expect-head", help="head hash kept elsewhere; detects a cut-off end")
    verify.add_argument("--json", action="store_true", help="machine-readable result")
    verify.set_defaults(func=_cmd_audit_verify)

    show = audit_sub.add_parser(
        "show",
        help="show audit records as a table (or JSON), with filters",
        epilog="example: safeprobe audit show audit.jsonl --since 1h --outcome denied",
    )
    show.add_argument("log")
    show.add_argument("--since", help="RFC 3339 time, or a duration ago such as 10m or 2h")
    show.add_argument("--until", help="RFC 3339 time, or a duration ago")
    show.add_argument("--outcome", action="append", help="only this outcome (repeatable)")
    show.add_argument("--pid", type=int, help="only attempts in this host process")
    show.add_argument("--probe", help="only probes whose path contains this text")
    show.add_argument("--json", action="store_true", help="one JSON record per line")
    show.add_argument("--follow", action="store_true", help="keep showing new records")
    show.set_defaults(func=_cmd_audit_show)

    add_live_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return EXIT_USAGE if exc.code not in (0, None) else EXIT_OK
    try:
        code: int = args.func(args)
    except SafeprobeError as error:
        print(f"safeprobe: {error}", file=sys.stderr)
        return EXIT_BAD
    except KeyboardInterrupt:
        return EXIT_BAD
    return code
