"""One attempt, end to end: policy, probe file, compile, run, audit, output.

Promise: ``Runner.attempt`` never raises into host code; every attempt ends as an
``Attempt`` with an ``Outcome`` and a reason naming file, line and rule, and exactly one
audit record. The audit sink is checked before anything of the probe is read, and the
probe's output is released only after its record is written, so if the record cannot be
written the operator sees a refusal and nothing of the probe (fail-closed).
Threat model: SECURITY.md, "Audit integrity" and "Fail-closed".

This module orchestrates and builds the record; the stages are elsewhere: reading and
running the probe (execution.py), appending and shipping the record (recording.py), showing
the output (reporting.py), and judging the time the host let pass (timing.py).
"""

from __future__ import annotations

import hashlib
import os
import socket
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from safeprobe.attempt import API_TRIGGER, Attempt, Outcome, TriggerInfo
from safeprobe.audit.chain import output_digest
from safeprobe.audit.record import (
    AuditRecord,
    HostRecord,
    IsolationRecord,
    OutputRecord,
    PolicyRecord,
    ProbeRecord,
    TriggerRecord,
    child_record,
    utc_timestamp,
)
from safeprobe.audit.sink import AuditSink
from safeprobe.errors import (
    AuditError,
    PolicyError,
    SafeprobeError,
    SyslogError,
)
from safeprobe.files import settled_stat
from safeprobe.host.execution import Result, policy_redactor, read_and_run
from safeprobe.host.recording import RecordShipper, sink_for
from safeprobe.host.reporting import report_output, unaudited, write_host_stderr
from safeprobe.host.source import ProbeSource
from safeprobe.host.timing import late_finish, late_start, queued_ms
from safeprobe.policy.loading import parse_policy_bytes, read_policy_bytes
from safeprobe.policy.models import Policy, ProbeSpec
from safeprobe.probe.budget import OutputBuffer
from safeprobe.probe.compiler import CodeCache
from safeprobe.probe.redaction import Redactor

# argv is recorded so security can tell hosts apart; more than this many arguments, or
# longer ones, add nothing to that and could carry data.
_MAX_ARGV: Final = 16
_MAX_ARG_CHARS: Final = 200
# Bounds an audit reason, whatever the probe named.
_MAX_REASON_CHARS: Final = 1000


class Runner:
    """Runs attempts for one policy file; one at a time; caches policy and code by digest."""

    def __init__(
        self,
        policy_path: str | os.PathLike[str],
        *,
        data_dir: str | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        write_stderr: Callable[[str], None] | None = None,
    ) -> None:
        self.policy_path = str(Path(policy_path).absolute())
        self.data_dir = data_dir  # a built-in policy's (policy/builtins.py), fixed at install
        self._clock = clock
        self._wall_clock = wall_clock
        self._write_stderr = write_stderr or write_host_stderr
        self._lock = threading.Lock()
        self._policies: dict[str, Policy] = {}
        self._policy_digest: str | None = None
        self._policy_stat: tuple[int, ...] | None = None
        self.last_good: Policy | None = None
        self.records = RecordShipper(self._write_stderr)
        self._syslog = self.records.syslog
        self.code_cache = CodeCache()

    # -- policy -----------------------------------------------------------------------------

    def load(self) -> Policy:
        """Read and validate the policy now; raises PolicyError. Cached by content digest,
        and not read again while the file's stat is as it was at a read of a settled file
        (``files.settled_stat``)."""
        seen = settled_stat(self.policy_path, self._wall_clock())
        if seen is not None and seen == self._policy_stat and self.last_good is not None:
            return self.last_good
        data = read_policy_bytes(self.policy_path)
        digest = hashlib.sha256(data).hexdigest()
        policy = self._policies.get(digest)
        if policy is None:
            policy = parse_policy_bytes(data, path=self.policy_path, data_dir=self.data_dir)
            self._policies = {digest: policy}
        self._policy_digest = digest
        # The stat taken before the read: a change after it moves the stat again.
        self._policy_stat = seen
        self.last_good = policy
        return policy

    # -- attempts ---------------------------------------------------------------------------

    def attempt(
        self, trigger: TriggerInfo = API_TRIGGER, *, on_recorded: Callable[[], None] | None = None
    ) -> Attempt:
        """Run one attempt. Never raises (KeyboardInterrupt and SystemExit aside, after
        auditing: they reach ``run_probe``'s caller in the main thread, recorded).
        ``on_recorded`` is called once its record is written, before its output is
        delivered: the trigger takes the next request from then on."""
        with self._lock:
            started = self._clock()
            self.records.start_attempt()
            try:
                return self._attempt(trigger, on_recorded)
            except (KeyboardInterrupt, SystemExit) as exc:
                # SIGINT (or a SIGTERM handler that exits) while run_probe() runs in the main
                # thread: the attempt still gets its one record before the host sees it.
                if not self.records.recorded and not self.records.landed(self.last_good):
                    self._record_interrupt(trigger, exc, started)
                raise
            except Exception as exc:  # noqa: BLE001 - the host boundary: nothing gets through
                self._write_stderr(f"safeprobe: internal error: {type(exc).__name__}: {exc}\n")
                return unaudited(Outcome.ERROR, f"internal error: {type(exc).__name__}")

    def _record_interrupt(self, trigger: TriggerInfo, exc: BaseException, started: float) -> None:
        """The record of an attempt an interrupt ended, with the last good policy's sink."""
        policy = self.last_good
        reason = f"interrupted ({type(exc).__name__})"
        if policy is None:
            self._write_stderr(f"safeprobe: {reason}; no valid policy to audit with\n")
            return
        self._audit_refusal(
            policy,
            sink_for(policy),
            trigger,
            Result(Outcome.ERROR, reason),
            (self._clock() - started) * 1000.0,
            said=f"error: {reason}",
        )

    def refuse(
        self, trigger: TriggerInfo, outcome: Outcome, reason: str, *, count: int = 1
    ) -> Attempt:
        """Audit requests refused before running (busy, rate limited, unauthorized); ``count``
        coalesced requests share one record."""
        with self._lock:
            policy = self.last_good
            if policy is None:
                return unaudited(outcome, reason)
            return self._audit_refusal(
                policy,
                sink_for(policy),
                trigger,
                Result(outcome, reason),
                0.0,
                said=f"{outcome}: {reason}",
                requests=count,
            )

    def _attempt(
        self, trigger: TriggerInfo, on_recorded: Callable[[], None] | None = None
    ) -> Attempt:
        started = self._clock()
        try:
            policy = self.load()
        except PolicyError as error:
            return self._finish_without_policy(trigger, error, started)
        try:
            sink = sink_for(policy)
            sink.preflight()
        except (AuditError, SafeprobeError) as exc:
            self._write_stderr(f"safeprobe: {exc}; probe not run (fail-closed)\n")
            return unaudited(Outcome.REJECTED, f"audit: {exc}")
        try:
            self._syslog.preflight(policy.audit.syslog)
        except SyslogError as exc:
            return self._refuse_for_syslog(policy, sink, trigger, exc, started)

        source: ProbeSource | None = None
        output = OutputBuffer(policy.limits.max_output_bytes)
        steps = 0
        probe, spec = _requested(policy, trigger)
        queue_ms = queued_ms(trigger, started)
        timeout_ms = policy.limits.timeout_s * 1000.0
        late = late_start(queue_ms, timeout_ms)
        # Redacted once an attempt, for the probe's facts and for its record alike.
        argv = tuple(_safe_argv(policy_redactor(policy)))
        if spec is None:
            rule = f"probes: request {trigger.request} names no probe in the policy"
            result = Result(Outcome.REJECTED, f"{self.policy_path}: {rule}")
        elif late is not None:
            result = late
        else:
            result, steps, source = read_and_run(
                policy,
                spec,
                output,
                argv=argv,
                clock=self._clock,
                code_cache=self.code_cache,
            )
        duration_ms = (self._clock() - started) * 1000.0
        result = late_finish(result, duration_ms, timeout_ms)
        fields = self._fields(
            policy,
            trigger,
            source,
            result,
            duration_ms,
            steps,
            output,
            key=sink.key,
            probe=probe,
            queue_ms=queue_ms,
            argv=argv,
        )
        try:
            record = self._append(policy, sink, fields)
        except (AuditError, SafeprobeError) as exc:
            self._write_stderr(f"safeprobe: {exc}; probe output withheld (fail-closed)\n")
            return unaudited(Outcome.REJECTED, f"audit: {exc}")
        if on_recorded is not None:
            on_recorded()
        if not self._syslog.ship(policy.audit.syslog, record):
            # Withheld, fail-closed: nothing of the probe, not even its error text, and
            # no result file; SyslogCopy.ship has said why on stderr.
            return Attempt(
                outcome=result.outcome,
                reason="output withheld: syslog",
                output="",
                output_truncated=False,
                duration_ms=duration_ms,
                steps=steps,
                probe_path=probe.path,
                probe_sha256=source.sha256 if source else None,
                seq=_seq(record),
                audited=True,
            )
        report_output(
            policy,
            record,
            probe_name=probe.name,
            probe_path=probe.path,
            result=result,
            output=output,
            duration_ms=duration_ms,
            write_stderr=self._write_stderr,
        )
        return Attempt(
            outcome=result.outcome,
            reason=result.reason,
            output=output.text(),
            output_truncated=output.truncated,
            duration_ms=duration_ms,
            steps=steps,
            probe_path=source.path if source else probe.path,
            probe_sha256=source.sha256 if source else None,
            seq=_seq(record),
            audited=True,
        )

    def _finish_without_policy(
        self, trigger: TriggerInfo, error: PolicyError, started: float
    ) -> Attempt:
        """The policy file is broken: audit with the last good policy's sink, if any."""
        result = Result(Outcome.REJECTED, str(error))
        policy = self.last_good
        if policy is None:
            self._write_stderr(
                f"safeprobe: {error}; no valid policy to audit with, probe not run\n"
            )
            return unaudited(result.outcome, result.reason)
        duration_ms = (self._clock() - started) * 1000.0
        return self._audit_refusal(
            policy,
            sink_for(policy),
            trigger,
            result,
            duration_ms,
            said=f"rejected: {error}",
            policy_error=True,
        )

    def preflight_audit(self, policy: Policy) -> None:
        """Prove the policy's audit log can be written now (AuditError otherwise), and that
        syslog can be reached when the policy requires it (SyslogError)."""
        sink_for(policy).preflight()
        self._syslog.preflight(policy.audit.syslog)

    # -- syslog -----------------------------------------------------------------------------

    def _refuse_for_syslog(
        self,
        policy: Policy,
        sink: AuditSink,
        trigger: TriggerInfo,
        error: SyslogError,
        started: float,
    ) -> Attempt:
        """Required syslog is unreachable: the probe is not read or run; the file (which
        works) gets the attempt's one record, and syslog no copy."""
        result = Result(Outcome.REJECTED, f"audit: {error.problem} (audit.syslog.required)")
        duration_ms = (self._clock() - started) * 1000.0
        said = f"rejected: {error}; probe not run (fail-closed)"
        return self._audit_refusal(
            policy, sink, trigger, result, duration_ms, said=said, ship=False
        )

    def _audit_refusal(
        self,
        policy: Policy,
        sink: AuditSink,
        trigger: TriggerInfo,
        result: Result,
        duration_ms: float,
        *,
        said: str,
        policy_error: bool = False,
        requests: int = 1,
        ship: bool = True,
    ) -> Attempt:
        """The one record of an attempt refused before its probe ran; ``said`` goes to the
        host's stderr after the attempt's number."""
        fields = self._fields(
            policy,
            trigger,
            None,
            result,
            duration_ms,
            0,
            None,
            policy_error=policy_error,
            requests=requests,
        )
        try:
            record = self._append(policy, sink, fields)
        except (AuditError, OSError, SafeprobeError) as exc:
            self._write_stderr(f"safeprobe: {said}; and {exc}; not audited\n")
            return unaudited(result.outcome, result.reason)
        if ship:
            self._syslog.ship(policy.audit.syslog, record)
        self._write_stderr(f"safeprobe: attempt #{record['seq']} {said}\n")
        return Attempt(
            outcome=result.outcome,
            reason=result.reason,
            output="",
            output_truncated=False,
            duration_ms=duration_ms,
            steps=0,
            probe_path=None,
            probe_sha256=None,
            seq=_seq(record),
            audited=True,
        )

    def _append(
        self, policy: Policy, sink: AuditSink, fields: dict[str, object]
    ) -> dict[str, object]:
        """Append one record (recording.py: rotation noticed, interrupts accounted for)."""
        return self.records.append(policy, sink, fields)

    # -- running the probe --------------------------------------------------------------------

    # -- audit and output ---------------------------------------------------------------------

    def _fields(
        self,
        policy: Policy,
        trigger: TriggerInfo,
        source: ProbeSource | None,
        result: Result,
        duration_ms: float,
        steps: int,
        output: OutputBuffer | None,
        *,
        policy_error: bool = False,
        requests: int = 1,
        key: bytes | None = None,
        probe: _ProbeRef | None = None,
        queue_ms: float | None = None,
        argv: tuple[str, ...] | None = None,
    ) -> dict[str, object]:
        """The record's fields; ``key`` (the sink's) keys the output digest; ``probe`` is
        the probe asked for (the default one when not given); ``argv`` the host's argv as
        this attempt redacted it (redacted here when not given)."""
        if probe is None:  # a refusal: name what the request asked for
            probe, _spec = _requested(policy, trigger)
        if argv is None:
            argv = tuple(_safe_argv(policy_redactor(policy)))
        out = OutputRecord(bytes=0, digest=None, truncated=False)
        if output is not None:
            data = output.getvalue()
            out = OutputRecord(
                bytes=len(data),
                digest=output_digest(data, key),
                truncated=output.truncated,
                text=output.text() if policy.audit.include_output else None,
            )
        record = AuditRecord(
            ts=utc_timestamp(self._wall_clock()),
            host=HostRecord(
                pid=os.getpid(),
                hostname=socket.gethostname(),
                argv=argv,
            ),
            trigger=TriggerRecord(
                signal=trigger.signal,
                sender_pid=trigger.sender_pid,
                sender_uid=trigger.sender_uid,
                sender_verified=trigger.sender_verified,
                received=trigger.received,
                request=trigger.request,
                requests=requests,
            ),
            policy=PolicyRecord(
                path=self.policy_path,
                sha256=None if policy_error else self._policy_digest,
                name=policy.name,
            ),
            probe=ProbeRecord(
                name=probe.name,
                path=source.path if source else probe.path,
                sha256=source.sha256 if source else None,
                bytes=source.size_bytes if source else None,
                owner=source.owner_uid if source else None,
                mode=f"{source.mode:04o}" if source else None,
            ),
            outcome=result.outcome,
            reason=_bounded(result.reason),
            duration_ms=round(duration_ms, 3),
            # Signal received to attempt started; duration_ms is the attempt itself.
            queue_ms=None if queue_ms is None else round(queue_ms, 3),
            steps=steps,
            output=out,
            isolation=IsolationRecord(mode=policy.isolation, child=child_record(result.child)),
            evaluated=tuple(result.evaluated.items()) if result.evaluated else None,
        )
        return record.fields()


@dataclass(frozen=True, slots=True)
class _ProbeRef:
    """The probe an attempt asked for: its name in the policy (None when the request
    named none) and its path there."""

    name: str | None
    path: str | None


def _requested(policy: Policy, trigger: TriggerInfo) -> tuple[_ProbeRef, ProbeSpec | None]:
    """The probe a request's code names in the policy, or (name None) none."""
    name = policy.probe_named_by(trigger.request)
    spec = policy.probe_for(name) if name is not None else None
    return _ProbeRef(name, spec.path if spec is not None else None), spec


def _safe_argv(redactor: Redactor) -> list[str]:
    """The host's argv with values of secret-looking options replaced."""
    shown: list[str] = []
    hide_next = False
    for arg in sys.argv[:_MAX_ARGV]:
        if hide_next:
            shown.append("<redacted>")
            hide_next = False
            continue
        flag, eq, _value = arg.partition("=")
        if redactor.hides(flag.lstrip("-")):
            if eq:
                shown.append(f"{flag}=<redacted>")
            else:
                shown.append(arg)
                hide_next = arg.startswith("-")
            continue
        shown.append(arg[:_MAX_ARG_CHARS])
    # argv may hold bytes that are not UTF-8 (as surrogates); the audit line must be JSON.
    return [a.encode("utf-8", "surrogatepass").decode("utf-8", "backslashreplace") for a in shown]


def _bounded(reason: str) -> str:
    """Reasons quote probe identifiers; a record stays small whatever the probe named."""
    if len(reason) <= _MAX_REASON_CHARS:
        return reason
    return reason[:_MAX_REASON_CHARS] + f"…(+{len(reason) - _MAX_REASON_CHARS} chars)"


def _seq(record: Mapping[str, object]) -> int | None:
    seq = record.get("seq")
    return seq if isinstance(seq, int) else None
