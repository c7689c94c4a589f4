"""The exceptions safeprobe raises on purpose.

    SafeprobeError
    ├── PolicyError        the policy file is missing or invalid (file, line, field)
    ├── ProbeRejected      the probe file was refused before compiling (file, rule)
    ├── ProbeCompileError  the probe does not compile under our rules (file, line)
    │   └── ProbeCompileTimeout  compiling ran past the attempt's deadline
    ├── EvaluationError    host code the policy names under evaluate raised (path, class)
    ├── AuditError         the audit record cannot be written (fail-closed)
    ├── AuditChainError    an audit file does not verify (line, kind)
    ├── AuditRecordError   an audit line is not a record safeprobe writes (field)
    ├── NotRegularFile     a path opened without following links holds no regular file
    ├── PolicyMismatch     trigger --policy is not the policy the host announced
    ├── ProgramNotFound    safeprobe run names a script or module that is not there
    └── InstallError       install()/uninstall() cannot do what was asked

No message includes a value read from the host: errors name files, lines, fields
and rules, so they can go to stderr and into the audit log without leaking.
"""

from __future__ import annotations


class SafeprobeError(Exception):
    """Root of every error safeprobe raises on purpose."""


class PolicyError(SafeprobeError):
    """The policy is invalid; says where, so the operator can fix it."""

    def __init__(self, path: str, line: int | None, field: str, problem: str) -> None:
        self.path, self.line, self.field, self.problem = path, line, field, problem
        where = path if line is None else f"{path}:{line}"
        super().__init__(f"{where}: {field}: {problem}")


class ProbeRejected(SafeprobeError):
    """The probe file was refused before it was compiled (symlink, owner, mode, size, pin)."""

    def __init__(self, path: str, rule: str, problem: str) -> None:
        self.path, self.rule, self.problem = path, rule, problem
        super().__init__(f"{path}: {rule}: {problem}")


class ProbeCompileError(SafeprobeError):
    """The probe does not compile under RestrictedPython and our additions."""

    def __init__(self, path: str, line: int | None, problem: str) -> None:
        self.path, self.line, self.problem = path, line, problem
        where = path if line is None else f"{path}:{line}"
        super().__init__(f"{where}: compile: {problem}")


class ProbeCompileTimeout(ProbeCompileError):
    """Compiling the probe ran past the attempt's deadline (the timeout covers compiling)."""

    def __init__(self, path: str) -> None:
        self.path, self.line = path, None
        self.problem = "still compiling at the deadline"
        SafeprobeError.__init__(self, f"{path}: limits.timeout: {self.problem}")


class EvaluationError(SafeprobeError):
    """A property or method named under ``evaluate`` raised; names the path and the
    exception's class, never its message (which could hold a host value)."""

    def __init__(self, path: str, kind: str) -> None:
        self.path, self.kind = path, kind
        super().__init__(f"{path} raised {kind}")


class AuditError(SafeprobeError):
    """The audit record cannot be written; the attempt must not run."""

    def __init__(self, path: str, problem: str) -> None:
        self.path, self.problem = path, problem
        super().__init__(f"{path}: audit: {problem}")


class AuditChainError(SafeprobeError):
    """An audit file does not verify; names the first bad line and what is wrong."""

    def __init__(self, path: str, line: int, kind: str, problem: str) -> None:
        self.path, self.line, self.kind, self.problem = path, line, kind, problem
        super().__init__(f"{path}:{line}: {kind}: {problem}")


class AuditRecordError(SafeprobeError):
    """An audit line is not a record as safeprobe writes it; names the field, not its value."""

    def __init__(self, field: str, problem: str) -> None:
        self.field, self.problem = field, problem
        super().__init__(
            f"audit record: {field}: {problem}" if field else f"audit record: {problem}"
        )


class InstallError(SafeprobeError):
    """install() or uninstall() cannot do what was asked (wrong thread, already installed)."""


class FactError(SafeprobeError):
    """A fact could not be taken; the attempt fails as an internal error, audited."""


class ProbeStopped(BaseException):
    """The probe ran out of a budget. A BaseException so ``except Exception`` does not
    swallow it; and sticky, so ``except BaseException`` does not either."""

    def __init__(self, outcome: str, rule: str, problem: str) -> None:
        self.outcome, self.rule, self.problem = outcome, rule, problem
        super().__init__(f"{rule}: {problem}")


class ProbeDenied(SafeprobeError):
    """A guard refused something the probe asked for; names the rule, never a host value."""

    def __init__(self, rule: str, problem: str) -> None:
        self.rule, self.problem = rule, problem
        super().__init__(f"{rule}: {problem}")


class SyslogError(AuditError):
    """A record could not be handed to syslog."""


class UnknownProbe(SafeprobeError):
    """--probe names no probe in the host's policy."""


class NoRecord(SafeprobeError):
    """No audit record of the attempt appeared in time."""


class ResultFileError(SafeprobeError):
    """A result file could not be written; the message names the folder and why."""


class NotRegularFile(SafeprobeError):
    """A path opened without following links holds no regular file (a directory, FIFO,
    device or socket); the caller says which rule that breaks (files.py)."""

    def __init__(self, path: str, mode: int) -> None:
        self.path, self.mode = path, mode
        super().__init__(f"{path}: not a regular file")


class NotAnnounced(SafeprobeError):
    """The process does not exist, or no trustworthy announcement says it runs safeprobe."""


class PolicyMismatch(SafeprobeError):
    """``trigger --policy`` names another policy than the one the host announced; nothing
    was sent, since the audit file, signal and probes would be the wrong ones."""

    def __init__(self, pid: int, announced: str, given: str) -> None:
        self.pid, self.announced, self.given = pid, announced, given
        super().__init__(
            f"process {pid} runs {announced}, not {given}: nothing sent "
            "(drop --policy, or pass the one it runs)"
        )


class ProgramNotFound(SafeprobeError):
    """``safeprobe run`` names a script or module that is not there; nothing was installed."""

    def __init__(self, name: str, problem: str) -> None:
        self.name, self.problem = name, problem
        super().__init__(f"{name}: {problem}")
