"""The ``safeprobe`` command: small subcommands over the library.

Exit codes: 0 ok, 1 the thing checked is bad (policy, probe, audit chain, demo failed),
2 usage. Expected failures print one line, ``safeprobe: <file>:<line>: <field>: <problem>``,
and no traceback; with ``--json`` the same failure is also a JSON document on stdout.
Colour only when the stream is a terminal and ``NO_COLOR`` is unset (https://no-color.org).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Final, TextIO

from safeprobe.errors import SafeprobeError
from safeprobe.tools.cli_live import add_commands as add_live_commands

if TYPE_CHECKING:
    from safeprobe.tools.lint import Finding

EXIT_OK: Final = 0
EXIT_BAD: Final = 1
EXIT_USAGE: Final = 2

_STYLES: Final = {"bad": "31", "ok": "32", "place": "1", "quiet": "2", "hint": "36"}
_ERROR_FIELDS: Final = ("path", "line", "field", "rule", "kind", "problem")


def _paint(stream: TextIO, text: str, style: str) -> str:
    """``text`` in ``style`` when ``stream`` is a terminal and NO_COLOR is unset."""
    if os.environ.get("NO_COLOR") or not stream.isatty():
        return text
    return f"\033[{_STYLES[style]}m{text}\033[0m"


def _cmd_demo(args: argparse.Namespace) -> int:
    from safeprobe.tools.demo import run_demo  # noqa: PLC0415 - the demo starts processes; load on use

    return EXIT_OK if run_demo(keep=args.keep) else EXIT_BAD


def _cmd_check(args: argparse.Namespace) -> int:
    from safeprobe.policy.dump import dump_policy  # noqa: PLC0415
    from safeprobe.policy.loading import load_policy  # noqa: PLC0415
    from safeprobe.tools.lint_evaluate import check_evaluate  # noqa: PLC0415
    from safeprobe.tools.lint_targets import unresolved_targets  # noqa: PLC0415

    policy = load_policy(args.policy)
    findings = check_evaluate(policy, args.policy, main=args.main)
    warnings = unresolved_targets(policy, args.policy, main=args.main)
    _print_warnings(warnings)
    if args.json:
        dumped = policy.model_dump(mode="json", by_alias=True)
        report = {
            "ok": not findings,
            "path": args.policy,
            "policy": dumped,
            "findings": [f.as_dict() for f in findings],
            "warnings": warnings,
        }
        print(json.dumps(report, indent=2))
        return EXIT_BAD if findings else EXIT_OK
    if findings:
        _print_findings(findings)
        count = f"{len(findings)} problem{'s' if len(findings) > 1 else ''}"
        print(f"{args.policy}: {_paint(sys.stdout, count, 'bad')}")
        return EXIT_BAD
    ok = _paint(sys.stdout, "ok", "ok")
    print(f"# {args.policy}: {ok}; the effective policy, defaults marked")
    print(dump_policy(policy), end="")
    return EXIT_OK


def _print_warnings(warnings: Sequence[str]) -> None:
    """What may still be right in the host (a target not found from here): stderr only,
    and never the exit code."""
    for warning in warnings:
        print(f"{_paint(sys.stderr, 'safeprobe: warning:', 'hint')} {warning}", file=sys.stderr)


def _print_findings(findings: Sequence[Finding]) -> None:
    out = sys.stdout
    for finding in findings:
        rule = _paint(out, f"(rule: {finding.rule})", "quiet")
        print(f"{_paint(out, finding.location + ':', 'place')} {finding.message} {rule}")
        if finding.hint:
            print(f"  {_paint(out, 'hint:', 'hint')} {finding.hint}")


def _cmd_schema(_args: argparse.Namespace) -> int:
    from safeprobe.policy.models import policy_json_schema  # noqa: PLC0415

    print(json.dumps(policy_json_schema(), indent=2))
    return EXIT_OK


def _cmd_lint(args: argparse.Namespace) -> int:
    from safeprobe.policy.loading import load_policy  # noqa: PLC0415
    from safeprobe.tools.lint import lint_probe  # noqa: PLC0415
    from safeprobe.tools.lint_evaluate import check_evaluate  # noqa: PLC0415
    from safeprobe.tools.lint_targets import unresolved_targets  # noqa: PLC0415

    policy = load_policy(args.policy)
    spec = policy.probe_for(args.named)
    if spec is None:
        known = ", ".join(["default", *sorted(policy.probes)])
        print(
            f"safeprobe: {args.policy}: probes: no probe named {args.named!r} (known: {known})",
            file=sys.stderr,
        )
        return EXIT_USAGE
    probe: str = args.probe or spec.path
    policy_name = Path(args.policy).name
    findings = lint_probe(probe, policy, policy_name=policy_name, spec=spec)
    findings += check_evaluate(policy, args.policy)
    warnings = unresolved_targets(policy, args.policy)
    _print_warnings(warnings)
    if args.json:
        report = {
            "ok": not findings,
            "probe": probe,
            "policy": args.policy,
            "findings": [f.as_dict() for f in findings],
            "warnings": warnings,
        }
        print(json.dumps(report, indent=2))
        return EXIT_BAD if findings else EXIT_OK
    _print_findings(findings)
    out = sys.stdout
    if findings:
        count = f"{len(findings)} problem{'s' if len(findings) > 1 else ''}"
        print(f"{probe}: {_paint(out, count, 'bad')} against {policy_name}")
        return EXIT_BAD
    print(f"{probe}: {_paint(out, 'ok', 'ok')} against {policy_name}")
    return EXIT_OK


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
    ok = _paint(sys.stdout, "ok", "ok")
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


def _command(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    summary: str,
    examples: Sequence[str],
    description: str | None = None,
) -> argparse.ArgumentParser:
    """A subcommand whose help ends with examples an operator can copy."""
    lines = "\n".join(f"  {example}" for example in examples)
    return sub.add_parser(
        name,
        help=summary,
        description=description or summary[:1].upper() + summary[1:] + ".",
        epilog=f"example:\n{lines}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def _head(text: str) -> str:
    """--expect-head: a head as `audit verify` prints it, else a usage error (not tampering)."""
    from safeprobe.audit.chain import is_hex_digest  # noqa: PLC0415

    if not is_hex_digest(text):
        raise argparse.ArgumentTypeError(
            "expected 64 lowercase hex digits, as 'head:' in 'safeprobe audit verify' prints"
        )
    return text


def build_parser() -> argparse.ArgumentParser:
    """The whole command line, subcommands included (tests and the reference walk it)."""
    from safeprobe import __version__  # noqa: PLC0415 - the package above tools/, read once

    parser = argparse.ArgumentParser(
        prog="safeprobe",
        description="Look inside a running Python process with a guarded, audited probe.",
        epilog="exit codes: 0 ok, 1 the thing checked is bad, 2 usage\n\n"
        "example:\n  safeprobe lint probes/bar.py --policy policies/seed.yaml",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"safeprobe {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    demo = _command(
        sub,
        "demo",
        "run the seed story end to end in a temporary folder",
        ["safeprobe demo", "safeprobe demo --keep    # keep the folder and its audit log"],
        "Start a host, kill -3 it, edit the probe, try forbidden probes, verify the audit.",
    )
    demo.add_argument("--keep", action="store_true", help="keep the temporary folder")
    demo.set_defaults(func=_cmd_demo)

    check = _command(
        sub,
        "check",
        "validate a policy and print it with defaults filled in",
        ["safeprobe check policies/app.yaml", "safeprobe check policies/app.yaml --json"],
        "Validate a policy. Print the effective policy as YAML (defaults filled in and "
        "marked,\npaths resolved), or name the file, line and field of the first problem.",
    )
    check.add_argument("policy", help="the policy file (YAML)")
    check.add_argument(
        "--main",
        metavar="SCRIPT",
        help="the host's script, to check evaluate entries of __main__: targets (read, never run)",
    )
    check.add_argument(
        "--json", action="store_true", help="the policy in seconds and bytes, as JSON"
    )
    check.set_defaults(func=_cmd_check)

    schema = _command(
        sub,
        "schema",
        "print the policy's JSON Schema, for editors to complete and validate",
        ["safeprobe schema > policy.schema.json"],
        "Print the JSON Schema of a policy file. Editors that read YAML with a schema\n"
        "(yaml-language-server) complete keys and flag typos with it: put\n"
        "'# yaml-language-server: $schema=policy.schema.json' at the top of a policy.",
    )
    schema.set_defaults(func=_cmd_schema)

    lint = _command(
        sub,
        "lint",
        "report what the host would refuse in a probe, before it runs",
        [
            "safeprobe lint probes/bar.py --policy policies/seed.yaml",
            "safeprobe lint --policy policies/seed.yaml --json   # the policy's own probe",
            "safeprobe lint --policy policies/app.yaml --named threads",
        ],
        "Check a probe against a policy as the host would: the file checks, the host's\n"
        "compiler, names the policy does not expose, builtins the sandbox leaves out,\n"
        "attribute paths outside the allowlist, writes to host objects. Exit 1 if any.",
    )
    lint.add_argument("probe", nargs="?", help="the probe file (default: the policy's probe)")
    lint.add_argument("--policy", required=True, help="the policy the host runs it under")
    lint.add_argument(
        "--named",
        default="default",
        metavar="NAME",
        help="lint under the rules of the policy's probe NAME (from probes:); default: probe",
    )
    lint.add_argument("--json", action="store_true", help="the findings as one JSON document")
    lint.set_defaults(func=_cmd_lint)

    audit = _command(
        sub,
        "audit",
        "work with audit logs",
        ["safeprobe audit verify audit.jsonl", "safeprobe audit show audit.jsonl --since 1h"],
    )
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    verify = _command(
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

    show = _command(
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

    add_live_commands(sub)
    return parser


def subcommands() -> list[str]:
    """Every subcommand, nested ones as "audit verify", for tests and docs to walk."""
    names: list[str] = []

    def walk(parser: argparse.ArgumentParser, prefix: str) -> None:
        # argparse has no public way to list subparsers; _actions is stable since 3.2.
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, child in action.choices.items():
                    names.append(f"{prefix}{name}")
                    walk(child, f"{prefix}{name} ")

    walk(build_parser(), "")
    return names


def _report(error: SafeprobeError, *, as_json: bool) -> None:
    print(f"{_paint(sys.stderr, 'safeprobe:', 'bad')} {error}", file=sys.stderr)
    if as_json:
        fields = {name: getattr(error, name) for name in _ERROR_FIELDS if hasattr(error, name)}
        print(json.dumps({"ok": False, "error": {"message": str(error), **fields}}, indent=2))


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return EXIT_USAGE if exc.code not in (0, None) else EXIT_OK
    try:
        code: int = args.func(args)
        sys.stdout.flush()
    except SafeprobeError as error:
        _report(error, as_json=getattr(args, "json", False))
        return EXIT_BAD
    except KeyboardInterrupt:
        return EXIT_BAD
    except BrokenPipeError:
        # The reader went away (`safeprobe schema | head`): stop quietly, and point stdout
        # at /dev/null so the interpreter's last flush does not raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BAD
    return code
