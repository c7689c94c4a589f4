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
from typing import TYPE_CHECKING, Final

from safeprobe.errors import SafeprobeError
from safeprobe.tools.cli_audit import add_commands as add_audit_commands
from safeprobe.tools.cli_live import add_commands as add_live_commands
from safeprobe.tools.cli_style import EXIT_BAD, EXIT_OK, EXIT_USAGE, command, paint

if TYPE_CHECKING:
    from safeprobe.tools.lint import Finding

__all__ = ["EXIT_BAD", "EXIT_OK", "EXIT_USAGE", "build_parser", "main", "subcommands"]

_ERROR_FIELDS: Final = ("path", "line", "field", "rule", "kind", "problem")


def _cmd_demo(args: argparse.Namespace) -> int:
    from safeprobe.tools.demo import run_demo  # noqa: PLC0415 - the demo starts processes; load on use

    return EXIT_OK if run_demo(keep=args.keep) else EXIT_BAD


def _cmd_check(args: argparse.Namespace) -> int:
    from safeprobe.policy.builtins import resolve_policy  # noqa: PLC0415
    from safeprobe.policy.dump import dump_policy  # noqa: PLC0415
    from safeprobe.policy.loading import load_policy  # noqa: PLC0415
    from safeprobe.tools.lint_evaluate import check_evaluate  # noqa: PLC0415
    from safeprobe.tools.lint_targets import unresolved_targets  # noqa: PLC0415

    policy = load_policy(args.policy)
    policy_file = resolve_policy(args.policy).path
    findings = check_evaluate(policy, policy_file, main=args.main)
    warnings = unresolved_targets(policy, policy_file, main=args.main)
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
        print(f"{args.policy}: {paint(sys.stdout, count, 'bad')}")
        return EXIT_BAD
    ok = paint(sys.stdout, "ok", "ok")
    print(f"# {args.policy}: {ok}; the effective policy, defaults marked")
    print(dump_policy(policy), end="")
    return EXIT_OK


def _print_warnings(warnings: Sequence[str]) -> None:
    """What may still be right in the host (a target not found from here): stderr only,
    and never the exit code."""
    for warning in warnings:
        print(f"{paint(sys.stderr, 'safeprobe: warning:', 'hint')} {warning}", file=sys.stderr)


def _print_findings(findings: Sequence[Finding]) -> None:
    out = sys.stdout
    for finding in findings:
        rule = paint(out, f"(rule: {finding.rule})", "quiet")
        print(f"{paint(out, finding.location + ':', 'place')} {finding.message} {rule}")
        if finding.hint:
            print(f"  {paint(out, 'hint:', 'hint')} {finding.hint}")


def _cmd_schema(_args: argparse.Namespace) -> int:
    from safeprobe.policy.models import policy_json_schema  # noqa: PLC0415

    print(json.dumps(policy_json_schema(), indent=2))
    return EXIT_OK


def _cmd_policies(_args: argparse.Namespace) -> int:
    from safeprobe.policy.builtins import builtin_dir, builtin_policies  # noqa: PLC0415

    found = builtin_policies()
    width = max(map(len, found), default=0)
    for name, summary in found.items():
        print(f"{name:<{width}}  {summary}")
    print(f"# in {builtin_dir()}; use a name wherever a policy path goes (a file wins)")
    return EXIT_OK


def _cmd_lint(args: argparse.Namespace) -> int:
    from safeprobe.policy.builtins import resolve_policy  # noqa: PLC0415
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
    policy_file = resolve_policy(args.policy).path
    findings += check_evaluate(policy, policy_file)
    warnings = unresolved_targets(policy, policy_file)
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
        print(f"{probe}: {paint(out, count, 'bad')} against {policy_name}")
        return EXIT_BAD
    print(f"{probe}: {paint(out, 'ok', 'ok')} against {policy_name}")
    return EXIT_OK


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

    demo = command(
        sub,
        "demo",
        "run the seed story end to end in a temporary folder",
        ["safeprobe demo", "safeprobe demo --keep    # keep the folder and its audit log"],
        "Start a host, kill -3 it, edit the probe, try forbidden probes, verify the audit.",
    )
    demo.add_argument("--keep", action="store_true", help="keep the temporary folder")
    demo.set_defaults(func=_cmd_demo)

    check = command(
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

    policies = command(
        sub,
        "policies",
        "list the built-in policies, usable by name wherever a policy path goes",
        ["safeprobe policies", "safeprobe run --policy threads -- app.py"],
        "List the ready-made policies shipped with safeprobe, one line each. A name works\n"
        "wherever a policy path does (install, run, check, lint, trigger --policy); a file\n"
        "that exists wins over a name. Their audit log is ./safeprobe-audit.jsonl in the\n"
        "host's working directory at install.",
    )
    policies.set_defaults(func=_cmd_policies)

    schema = command(
        sub,
        "schema",
        "print the policy's JSON Schema, for editors to complete and validate",
        ["safeprobe schema > policy.schema.json"],
        "Print the JSON Schema of a policy file. Editors that read YAML with a schema\n"
        "(yaml-language-server) complete keys and flag typos with it: put\n"
        "'# yaml-language-server: $schema=policy.schema.json' at the top of a policy.",
    )
    schema.set_defaults(func=_cmd_schema)

    lint = command(
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

    add_audit_commands(sub)
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
    print(f"{paint(sys.stderr, 'safeprobe:', 'bad')} {error}", file=sys.stderr)
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
