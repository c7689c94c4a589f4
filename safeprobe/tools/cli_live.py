"""The commands that act on live processes: ``safeprobe trigger`` and ``safeprobe run``.

Exit codes of ``trigger`` (scripts may rely on them): 0 the probe ran (outcome ok); 1 the
attempt was audited with another outcome, or the policy is bad; 2 usage, or --probe names
no probe of the policy; 3 no such process, or it does not run safeprobe; 4 not permitted
(to signal it or read its audit file); 5 no audit record within --wait. ``trigger --policy``
naming another policy than the host announced is usage (2), and nothing is sent. When the
host has not taken the request after ``--busy-after`` (1s), ``trigger`` prints the stacks
the host's stuck-host dump wrote (host busy in C) and goes on waiting. With
``--children`` the code is the first failing worker's (0 when every attempt ran ok), and 3
when neither PID nor any child of it runs safeprobe. ``run`` of
a script or module that is not there is usage (2), before anything is installed.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from safeprobe.errors import PolicyError, PolicyMismatch, ProgramNotFound

if TYPE_CHECKING:
    from safeprobe.tools.sender import TriggerResult

EXIT_NOT_OK: Final = 1
EXIT_USAGE: Final = 2
EXIT_NO_HOST: Final = 3
EXIT_FORBIDDEN: Final = 4
EXIT_NO_RECORD: Final = 5
EXIT_INTERRUPTED: Final = 130  # as a shell reports a program ended by Ctrl-C


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    trigger = sub.add_parser(
        "trigger",
        help="run a process's probe now and print the outcome and output",
        description="Check that PID runs safeprobe, send its policy's signal, wait for "
        "that attempt's audit record, and print the outcome and the probe's output (from "
        "the result file with 'output: file', or the record with "
        "'audit.include_output: true').",
        epilog="exit codes: 0 ran ok, 1 another outcome, 2 usage or unknown probe, 3 not a "
        "safeprobe process, 4 not permitted, 5 no record within --wait\n\n"
        "example:\n  safeprobe trigger 4242 --probe threads --wait 5\n"
        "  safeprobe trigger --children 4200      # every worker of a gunicorn master",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    trigger.add_argument("pid", type=int, help="the host process (safeprobe trigger checks it)")
    trigger.add_argument(
        "--probe", default="default", help="a probe the policy names under probes: (default: probe)"
    )
    trigger.add_argument(
        "--wait", type=_seconds, default=10.0, metavar="SECONDS", help="how long to wait (10)"
    )
    trigger.add_argument(
        "--policy",
        help="the host's policy file, when it cannot be discovered from the pid (when it "
        "can, the two must be the same file)",
    )
    trigger.add_argument(
        "--busy-after",
        type=_duration,
        default=1.0,
        metavar="DURATION",
        help="when the host has not started the attempt by then, show its stacks (host busy "
        "in C) and keep waiting; 0 never (default 1s)",
    )
    trigger.add_argument("--json", action="store_true", help="the record and output as JSON")
    trigger.add_argument(
        "--children",
        action="store_true",
        help="PID is a prefork master (gunicorn …): trigger each of its children that runs "
        "safeprobe, and PID too if it does, each result under a '== worker PID ==' heading "
        "(--json: one object per line); the exit code is the first failure's",
    )
    trigger.set_defaults(func=_cmd_trigger)

    run = sub.add_parser(
        "run",
        help="start a program with safeprobe installed",
        description="Run an unmodified Python program as __main__ with safeprobe "
        "installed for POLICY, like 'python -m cProfile'. Its __main__ objects can be "
        "exposed as __main__:name.",
        epilog="example:\n  safeprobe run --policy policy.yaml -- app.py --port 8080\n"
        "  python -m safeprobe run --policy policy.yaml -m http.server 8000",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument("--policy", required=True, help="the policy to install (YAML)")
    run.add_argument("-m", dest="module", action="store_true", help="run a module, not a script")
    run.add_argument("target", nargs=argparse.REMAINDER, help="script.py [args] (or module)")
    run.set_defaults(func=_cmd_run)


def _cmd_trigger(args: argparse.Namespace) -> int:
    if getattr(args, "children", False):
        return _trigger_children(args)
    from safeprobe.errors import NoRecord, NotAnnounced, UnknownProbe  # noqa: PLC0415
    from safeprobe.tools import sender  # noqa: PLC0415 - ctypes and the policy load on use

    try:
        outcome = sender.trigger(
            args.pid,
            probe=args.probe,
            wait_s=args.wait,
            policy_path=args.policy,
            busy_after_s=args.busy_after,
            on_dump=_show_dump(args.json),
        )
    except NotAnnounced as exc:
        return _fail(str(exc), EXIT_NO_HOST)
    except ProcessLookupError:
        return _fail(f"no process {args.pid}", EXIT_NO_HOST)
    except PermissionError as exc:
        where = f"{exc.filename}: " if exc.filename else f"process {args.pid}: "
        return _fail(f"{where}{exc.strerror} (run as the host's user or root)", EXIT_FORBIDDEN)
    except (UnknownProbe, PolicyMismatch) as exc:
        return _fail(str(exc), EXIT_USAGE)
    except NoRecord as exc:
        return _fail(str(exc), EXIT_NO_RECORD)
    except PolicyError as exc:
        return _fail(str(exc), EXIT_NOT_OK)
    except OSError as exc:  # e.g. EAGAIN from sigqueue (the queue is full), ELOOP
        where = f"{exc.filename}: " if exc.filename else ""
        return _fail(f"{where}{exc.strerror or exc}", EXIT_NOT_OK)
    if args.json:
        shown = {
            "output": outcome.output,
            "output_from": outcome.output_from,
            "record": outcome.record,
            "sent_with": outcome.sent_with,
            "stack_dump": outcome.stack_dump,
        }
        print(json.dumps(shown))
    else:
        _print_outcome(outcome)
    return 0 if outcome.ok else EXIT_NOT_OK


def _trigger_children(args: argparse.Namespace) -> int:
    """``trigger --children PID``: one attempt in each announced child of PID (and in PID
    when it announces), one after another, each under its heading. Their records all come
    from the audit trail each one's policy names (one file when the workers share it)."""
    from safeprobe.errors import NotAnnounced  # noqa: PLC0415
    from safeprobe.tools import sender  # noqa: PLC0415

    try:
        family = sender.announced_family(args.pid)
    except NotAnnounced as exc:
        return _fail(str(exc), EXIT_NO_HOST)
    if not family:
        return _fail(
            f"process {args.pid}: neither it nor any of its children runs safeprobe", EXIT_NO_HOST
        )
    first_failure = 0
    for pid in family:
        if not args.json:
            print(f"== {'master' if pid == args.pid else 'worker'} {pid} ==", flush=True)
        one = argparse.Namespace(**{**vars(args), "pid": pid, "children": False})
        code = _cmd_trigger(one)
        sys.stdout.flush()
        first_failure = first_failure or code
    return first_failure


def _print_outcome(outcome: TriggerResult) -> None:
    record = outcome.record
    probe = record.get("probe")
    name = probe.get("name") if isinstance(probe, dict) else None
    print(
        f"#{record.get('seq')} {name} in process {outcome.pid}: {record.get('outcome')}"
        f" in {record.get('duration_ms')} ms"
    )
    if record.get("outcome") != "ok":
        print(f"reason: {record.get('reason')}")
    if outcome.output is not None:
        sys.stdout.write(outcome.output)
        if outcome.output and not outcome.output.endswith("\n"):
            print()
    elif outcome.output_from == "missing":
        print("(no result file appeared; the host's stderr says why)")
    else:
        print(
            "(the output went to the host's stderr; set 'output: file' or "
            "'audit.include_output: true' in the policy to see it here)"
        )


def _cmd_run(args: argparse.Namespace) -> int:
    from safeprobe.host.launcher import run_program  # noqa: PLC0415

    target = list(args.target)
    if target[:1] == ["--"]:
        target = target[1:]
    if not target:
        return _fail("run: name a script (or -m module) after the options", EXIT_USAGE)
    try:
        run_program(args.policy, target, module=args.module)
    except ProgramNotFound as exc:
        return _fail(f"run: {exc}", EXIT_USAGE)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    return 0


def _show_dump(as_json: bool) -> Callable[[str], None]:
    """Show a busy host's stacks at once: on stdout, or on stderr beside --json's object
    (which carries them too), so the operator sees them before the attempt ends."""

    def show(text: str) -> None:
        stream = sys.stderr if as_json else sys.stdout
        stream.write(text if text.endswith("\n") else text + "\n")
        stream.flush()

    return show


def _duration(text: str) -> float:
    from safeprobe.policy.units import parse_duration  # noqa: PLC0415

    try:
        return parse_duration(text if not text.replace(".", "", 1).isdigit() else float(text))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _seconds(text: str) -> float:
    value = float(text)
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds")
    return value


def _fail(message: str, code: int) -> int:
    print(f"safeprobe: {message}", file=sys.stderr)
    return code
