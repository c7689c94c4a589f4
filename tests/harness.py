"""The end-to-end harness: a real host subprocess, a real policy file, real signals, the real
audit file. Tests wait by bounded polling with generous deadlines, never sleep-then-assert."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
HOSTS = REPO / "tests" / "hosts"
DEADLINE_S = 20.0


def run_cli(
    *args: str,
    cwd: Path | None = None,
    prefix: Sequence[str] = (),
    timeout: float = 120,
    **env: str,
) -> subprocess.CompletedProcess[str]:
    """``python -m safeprobe ARGS`` as an operator runs it, stdout and stderr captured (so
    not a terminal, and NO_COLOR unset); ``prefix`` runs it under another command (setpriv)."""
    base = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    return subprocess.run(
        [*prefix, sys.executable, "-m", "safeprobe", *args],
        capture_output=True,
        text=True,
        env=dict(base, PYTHONPATH=str(REPO), **env),
        cwd=cwd,
        timeout=timeout,
        check=False,
    )


def wait_until(predicate: Callable[[], object], what: str, timeout: float = DEADLINE_S) -> object:
    """Poll until ``predicate`` returns something truthy; fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.01)


def rss_kib(pid: int) -> int:
    """A process's resident set size, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def peak_rss_kib(pid: int) -> int:
    """A process's peak resident set size so far (VmHWM), from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


def probe_peak_growth_mib(host: Host) -> tuple[dict[str, object], float]:
    """Trigger one attempt in ``host``; its audit record and how much the host's peak
    resident set size (VmHWM) grew meanwhile, in MiB."""
    before = peak_rss_kib(host.pid)
    record = host.probe()
    return record, (peak_rss_kib(host.pid) - before) / 1024


def read_records(path: Path) -> list[dict[str, object]]:
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").split("\n")  # not splitlines: U+0085, U+2028
    # The last piece has no newline yet: a record still being written (large ones are not
    # one write to a reader), so it is not read until it is whole.
    return [json.loads(line) for line in lines[:-1] if line.strip()]


def write_probe(path: Path, text: str) -> None:
    """Write a probe file as an operator would: UTF-8, readable by all, writable by its owner
    only (a probe others can write is refused)."""
    path.write_text(text, encoding="utf-8")
    path.chmod(0o644)


def write_policy(folder: Path, policy: dict[str, object], probe: str | None = None) -> Path:
    """Write ``policy`` as ``folder/policy.yaml`` and, when given, ``probe`` as
    ``folder/probe.py``; returns the policy's path."""
    if probe is not None:
        write_probe(folder / "probe.py", probe)
    path = folder / "policy.yaml"
    path.write_text(yaml.safe_dump(policy), encoding="utf-8")
    return path


def base_policy(tmp: Path, **overrides: object) -> dict[str, object]:
    policy: dict[str, object] = {
        "version": 1,
        "name": "test",
        "trigger": {"signal": "SIGQUIT", "cooldown": "0s"},
        "probe": {"path": "probe.py"},
        "expose": {
            "my_object": {"target": "__main__:my_object", "allow": ["data"]},
            "service": {
                "target": "__main__:service",
                "allow": [
                    "requests",
                    "cache",
                    "queue",
                    "settings.*",
                    "api_key",
                    "history",
                    "flags",
                    "expensive",
                    "reset",
                    "weird",
                    "weird.*",
                    "keyed",
                ],
            },
        },
        "limits": {"timeout": "2s", "max_output": "64KiB"},
        "audit": {"path": "audit.jsonl"},
    }
    policy.update(overrides)
    return policy


class Host:
    """One host process under test, with its policy, probe and audit file in a folder."""

    def __init__(
        self,
        folder: Path,
        policy: dict[str, object],
        probe: str,
        script: str,
        prefix: Sequence[str] = (),
    ) -> None:
        """``prefix`` runs the host under another command (unshare, setpriv), which must
        exec it, so the host keeps the pid the test signals."""
        self.folder = folder
        self.policy_path = folder / "policy.yaml"
        self.probe_path = folder / "probe.py"
        self.audit_path = folder / "audit.jsonl"
        write_policy(folder, policy, probe)
        env = dict(os.environ, PYTHONPATH=str(REPO), PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen(
            [*prefix, sys.executable, str(HOSTS / script), str(self.policy_path)],
            cwd=folder,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        self._stderr: list[str] = []
        self._drain = threading.Thread(target=self._drain_stderr, daemon=True)
        self._drain.start()
        assert self.proc.stdout is not None
        first = self.proc.stdout.readline()
        if not first.startswith("ready"):
            self.proc.kill()
            self.proc.wait(timeout=5)
            self._drain.join(timeout=5)
            error = self.stderr()
            for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
                if stream is not None:
                    with contextlib.suppress(OSError):
                        stream.close()
            pytest.fail(f"host did not start: {first!r} {error}")
        self.pid = self.proc.pid

    def _drain_stderr(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self._stderr.append(line)

    def stderr(self) -> str:
        return "".join(self._stderr)

    def write_probe(self, text: str) -> None:
        write_probe(self.probe_path, text)

    def ask(self, command: str) -> str:
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        return self.proc.stdout.readline().strip()

    def records(self) -> list[dict[str, object]]:
        return read_records(self.audit_path)

    def send(self, signum: int = signal.SIGQUIT) -> None:
        os.kill(self.pid, signum)

    def probe(self, signum: int = signal.SIGQUIT) -> dict[str, object]:
        """Send one signal and return the audit record it produced."""
        before = len(self.records())
        self.send(signum)
        wait_until(lambda: len(self.records()) > before, "an audit record")
        records = self.records()
        assert len(records) == before + 1, "exactly one audit record per signal"
        # The report on stderr names the record's seq and comes right after it.
        seq = records[-1]["seq"]
        wait_until(lambda: f"#{seq} " in self.stderr(), f"the host's report of #{seq}")
        return records[-1]

    def report(self, seq: object) -> str:
        """The host's stderr from the report of attempt ``seq`` on."""
        text = self.stderr()
        start = text.find(f"#{seq} ")
        start = text.rfind("\n", 0, start) + 1
        return text[start:]

    def alive(self) -> bool:
        return self.proc.poll() is None and self.ask("alive") == "alive"

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                self.ask("quit")
                self.proc.wait(timeout=5)
            except (BrokenPipeError, subprocess.TimeoutExpired, OSError):
                self.proc.kill()
                self.proc.wait(timeout=5)
        self._drain.join(timeout=5)
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()


def copy_example(name: str, target: Path) -> Path:
    """A copy of examples/<name> in ``target``, with the modes a checkout may not keep
    (probe files 0644, as safeprobe requires) and no audit file of an earlier run."""
    folder = target / name
    shutil.copytree(
        REPO / "examples" / name,
        folder,
        ignore=shutil.ignore_patterns("__pycache__", "audit.jsonl"),
    )
    for path in folder.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    return folder


class ExampleApp:
    """An example started the way its README says, its stderr (where safeprobe reports)
    collected as it comes."""

    def __init__(self, argv: list[str], cwd: Path, **extra_env: str) -> None:
        env = dict(os.environ, PYTHONPATH=str(REPO), PYTHONUNBUFFERED="1", **extra_env)
        self.proc = subprocess.Popen(
            [sys.executable, *argv],
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            start_new_session=True,  # its workers too can be stopped as one group
        )
        self._stderr: list[str] = []
        self._drain = threading.Thread(target=self._drain_stderr, daemon=True)
        self._drain.start()

    def _drain_stderr(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self._stderr.append(line)

    def stderr(self) -> str:
        return "".join(self._stderr)

    def wait_for(self, pattern: str, count: int = 1) -> list[re.Match[str]]:
        """The first ``count`` matches of ``pattern`` in stderr, waiting for them."""

        def found() -> list[re.Match[str]] | None:
            matches = list(re.finditer(pattern, self.stderr()))
            return matches[:count] if len(matches) >= count else None

        matches = wait_until(found, f"{pattern!r} on the example's stderr")
        assert isinstance(matches, list)
        return matches

    def report(self, seq: object) -> str:
        """safeprobe's framed report of attempt ``seq``, waiting for its last line."""
        end = f"--- end safeprobe #{seq} ---\n"
        wait_until(lambda: end in self.stderr(), f"the report of attempt #{seq}")
        text = self.stderr()
        start = text.rfind("--- safeprobe ", 0, text.find(end))
        return text[start : text.find(end) + len(end)]

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self._drain.join(timeout=5)
        if self.proc.stderr is not None:
            self.proc.stderr.close()
