"""safeprobe: look inside a running Python process with a guarded, audited probe.

Importing this package only defines things: no signal handler, thread or file exists
until ``install()`` runs.
"""

from __future__ import annotations

import os
from pathlib import Path

from safeprobe.attempt import Attempt, Outcome, TriggerInfo
from safeprobe.errors import (
    AuditChainError,
    AuditError,
    AuditRecordError,
    EvaluationError,
    FactError,
    InstallError,
    NoRecord,
    NotAnnounced,
    NotRegularFile,
    PolicyError,
    PolicyMismatch,
    ProbeCompileError,
    ProbeCompileTimeout,
    ProbeDenied,
    ProbeRejected,
    ProbeStopped,
    ProgramNotFound,
    ResultFileError,
    SafeprobeError,
    SyslogError,
    UnknownProbe,
)
from safeprobe.host.runner import Runner
from safeprobe.host.trigger import install, uninstall
from safeprobe.policy.builtins import resolve_policy
from safeprobe.policy.loading import load_policy
from safeprobe.policy.models import Policy

__version__ = "0.1.0"


_runners: dict[tuple[str, str | None], Runner] = {}


def run_probe(policy_path: str | os.PathLike[str]) -> Attempt:
    """Run one attempt now, in the calling thread, and return its result (audited like any).

    ``policy_path`` is a policy file or a built-in policy's name, as for ``install``.
    Runners are kept per policy path, so the compiled probe and the last good policy are
    reused across calls exactly as they are for signals.
    """
    ref = resolve_policy(policy_path)
    path = str(Path(ref.path).absolute())
    key = (path, ref.data_dir)
    runner = _runners.get(key)
    if runner is None:
        runner = _runners.setdefault(key, Runner(path, data_dir=ref.data_dir))
    return runner.attempt()


__all__ = [
    "Attempt",
    "AuditChainError",
    "AuditError",
    "AuditRecordError",
    "EvaluationError",
    "FactError",
    "InstallError",
    "NoRecord",
    "NotAnnounced",
    "NotRegularFile",
    "Outcome",
    "Policy",
    "PolicyError",
    "PolicyMismatch",
    "ProbeCompileError",
    "ProbeCompileTimeout",
    "ProbeDenied",
    "ProbeRejected",
    "ProbeStopped",
    "ProgramNotFound",
    "ResultFileError",
    "SafeprobeError",
    "SyslogError",
    "TriggerInfo",
    "UnknownProbe",
    "install",
    "load_policy",
    "run_probe",
    "uninstall",
]
