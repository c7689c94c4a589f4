"""``safeprobe audit verify`` and ``safeprobe audit show``: the audit log, for people.

Promise: ``verify`` exits 0 only for an intact chain (an empty file is a fresh log and says
so); a file that is not an audit log, or a chain that breaks, is one stderr line and exit 1.
``show`` reads without changing or trusting the log. An option that cannot be read
(``--expect-head`` that is no head, ``--since yesterday``) is usage, exit 2, one line.
"""

from __future__ import annotations

import argparse
import json
import sys

from safeprobe.tools.cli_style import EXIT_BAD, EXIT_OK, EXIT_USAGE, command, paint


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The ``audit`` command and its subcommands."""
    audit = command(
        sub,
        "audit",
        "work with audit logs",
        ["safeprobe audit verify audit.jsonl", "safeprobe audit show audit.jsonl --since 1h"],
    )
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    verify = command(
        audit_sub,
        "verify",
        "recompute the hash chain of an audit log and of the logs rotated before it",
        [
            "safeprobe audit verify audit.jsonl --key-file audit.key",
            "safeprobe audit verify audit.jsonl archive/audit-2.jsonl archive/audit-1.jsonl",
        ],
    )
    verify.add_argument("log", help="the audit log (JSON lines), the newest when rotated")
    verify.add_argument(
        "older",
        nargs="*",
        help="the logs rotated away before LOG, newest first (default: LOG.1, LOG.2, … if any)",
    )
    verify.add_argument(
        "--start-here",
        action="store_true",
        help="the oldest log's predecessor was removed on purpose (retention)",
    )
    verify.add_argument(
        "--key-file", help="HMAC key file, when the policy sets audit.hmac_key_file"
    )
    verify.add_argument(
        "--expect-head",
        type=_head,
        metavar="HEAD",
        help="head hash kept elsewhere (64 hex digits); detects a cut-off end",
    )
    verify.add_argument("--json", action="store_true", help="machine-readable result")
    verify.set_defaults(func=_cmd_audit_verify)

    show = command(
        audit_sub,
        "show",
        "show audit records as a table (or JSON), with filters",
        ["safeprobe audit show audit.jsonl --since 1h --outcome denied"],
    )
    show.add_argument("log", help="the audit log (JSON lines)")
    show.add_argument(
        "--since",
        metavar="WHEN",
        help="ISO time (2026-12-03T10:00; UTC unless it names a zone) or a duration ago "
        "(45s, 30m, 1h, 2d)",
    )
    show.add_argument("--until", metavar="WHEN", help="ISO time or a duration ago, as --since")
    show.add_argument("--outcome", action="append", help="only this outcome (repeatable)")
    show.add_argument("--pid", type=int, help="only attempts in this host process")
    show.add_argument("--probe", help="only probes whose path contains this text")
    show.add_argument("--json", action="store_true", help="one JSON record per line")
    show.add_argument("--follow", action="store_true", help="keep showing new records")
    show.set_defaults(func=_cmd_audit_show)


def _head(text: str) -> str:
    """--expect-head: a head as `audit verify` prints it, else a usage error (not tampering)."""
    from safeprobe.audit.chain import is_hex_digest  # noqa: PLC0415

    if not is_hex_digest(text):
        raise argparse.ArgumentTypeError(
            "expected 64 lowercase hex digits, as 'head:' in 'safeprobe audit verify' prints"
        )
    return text


def _cmd_audit_verify(args: argparse.Namespace) -> int:
    from safeprobe.audit.sink import load_hmac_key  # noqa: PLC0415
    from safeprobe.audit.trail import rotated_siblings, verify_trail  # noqa: PLC0415

    key = load_hmac_key(args.key_file) if args.key_file else None
    older = list(args.older) if args.older else rotated_siblings(args.log)
    trail = verify_trail(
        [args.log, *older], key=key, expect_head=args.expect_head, start_here=args.start_here
    )
    report = trail.files[0]
    if args.json:
        print(
            json.dumps(
                {
                    "ok": True,
                    "records": report.records,
                    "head": report.head,
                    "torn_tail": report.torn_tail,
                    "torn_lines": list(report.torn_lines),
                    "files": [
                        {
                            "path": f.path,
                            "records": f.records,
                            "first_seq": f.first_seq,
                            "last_seq": f.last_seq,
                            "head": f.head,
                            "torn_tail": f.torn_tail,
                            "torn_lines": list(f.torn_lines),
                        }
                        for f in trail.files
                    ],
                    "links": [
                        {
                            "path": link.path,
                            "line": link.line,
                            "seq": link.seq,
                            "head": link.head,
                            "found_in": link.found_in,
                            "at_end": link.at_end,
                        }
                        for link in trail.links
                    ],
                    "unnamed": list(trail.unnamed),
                }
            )
        )
        return EXIT_OK
    ok = paint(sys.stdout, "ok", "ok")
    for n, f in enumerate(trail.files):
        where = "" if len(trail.files) == 1 else f"{f.path}: "
        fresh = " (an empty log: nothing recorded yet)" if f.records == 0 else ""
        print(f"{where}{ok}: {f.records} records{fresh}, chain intact")
        if n == 0:
            print(f"head: {f.head}")
        if f.torn_lines:
            lines = ", ".join(str(number) for number in f.torn_lines)
            print(f"torn lines (a crash mid-write, not tampering): {lines}")
        elif f.torn_tail:
            print("the last line is torn (a crash mid-write, not tampering)")
    for link in trail.links:
        if link.found_in is None:
            print(
                f"{link.path}:{link.line} continues a log that is gone (seq {link.seq}); "
                "accepted with --start-here"
            )
        else:
            where = "its last record" if link.at_end else "a record other writers went past"
            print(f"{link.path}:{link.line} continues {link.found_in} at seq {link.seq} ({where})")
    for path in trail.unnamed:
        print(f"{path}: no rotated_from in a newer log names it; linked by the order given")
    return EXIT_OK


def _cmd_audit_show(args: argparse.Namespace) -> int:
    import time  # noqa: PLC0415

    from safeprobe.audit.reader import read_records  # noqa: PLC0415
    from safeprobe.tools import review  # noqa: PLC0415

    now = time.time()
    bounds: dict[str, str | None] = {}
    for option, text in (("--since", args.since), ("--until", args.until)):
        try:
            bounds[option] = None if text is None else review.parse_when(text, now=now)
        except ValueError as exc:
            print(f"safeprobe: {option}: {exc}", file=sys.stderr)
            return EXIT_USAGE
    wanted = review.RecordFilter(
        since=bounds["--since"],
        until=bounds["--until"],
        outcomes=frozenset(args.outcome or ()),
        pid=args.pid,
        probe=args.probe,
    )

    def emit(record: dict[str, object]) -> None:
        if wanted.matches(record):
            print(json.dumps(record) if args.json else review.format_row(record), flush=True)

    def say_skipped(skipped: int) -> None:
        if skipped:
            print(
                f"safeprobe: {skipped} lines did not parse; run 'safeprobe audit verify'",
                file=sys.stderr,
            )

    try:
        if args.follow:
            # One open file, read and then followed: nothing written in between is missed.
            records = review.follow(args.log, from_start=True, on_caught_up=say_skipped)
            if not args.json:
                print(review.HEADER)
            for record in records:
                emit(record)
            return EXIT_OK
        found, skipped = read_records(args.log)
    except OSError as exc:
        print(f"safeprobe: {args.log}: {exc.strerror}", file=sys.stderr)
        return EXIT_BAD
    if not args.json:
        print(review.HEADER)
    for record in found:
        emit(record)
    say_skipped(skipped)
    return EXIT_OK
