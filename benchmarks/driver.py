"""Starting benchmark hosts and measurement processes, and talking to them.

A host's stderr is read on the caller's thread with ``select`` and timestamped the moment
a chunk arrives, so a latency measured from ``os.kill`` to a line on stderr includes no
reader-thread wake-up of ours.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent


def child_env() -> dict[str, str]:
    """The environment for our child processes: this checkout first on the path."""
    env = dict(os.environ, PYTHONPATH=str(REPO), PYTHONUNBUFFERED="1")
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def write_probe(path: Path, text: str, *, mtime: float | None = None) -> None:
    """Write a probe file as safeprobe requires it (0644); optionally set its mtime, so a
    reloaded module is recompiled even when two versions fall in the same second."""
    path.write_text(text, encoding="utf-8")
    path.chmod(0o644)
    if mtime is not None:
        os.utime(path, (mtime, mtime))


def write_policy(path: Path, policy: dict[str, object]) -> Path:
    path.write_text(yaml.safe_dump(policy), encoding="utf-8")
    return path


def run_measure(figure: str, *args: str, timeout_s: float = 900.0) -> dict[str, object]:
    """Run ``python -m benchmarks.measure FIGURE ARGS`` in a fresh process; its JSON result."""
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.measure", figure, *args],
        capture_output=True,
        text=True,
        env=child_env(),
        cwd=REPO,
        timeout=timeout_s,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"measure {figure} failed: {result.stderr[-2000:]}")
    value: dict[str, object] = json.loads(result.stdout)
    return value


class HostProcess:
    """One ``benchmarks.host`` process: its pid, its stdin commands, its stderr lines."""

    def __init__(self, mode: str, where: Path, folder: Path) -> None:
        self.mode = mode
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.host", mode, str(where)],
            cwd=folder,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=child_env(),
        )
        assert self.proc.stdout is not None
        assert self.proc.stderr is not None
        self._stderr_fd = self.proc.stderr.fileno()
        os.set_blocking(self._stderr_fd, False)
        self._pending = b""
        self.lines: list[tuple[float, str]] = []  # (arrival time, line) of stderr
        self.stderr_bytes = 0
        self.retries = 0  # signals sent again after a busy refusal
        ready = self.proc.stdout.readline().decode()
        if not ready.startswith("ready"):
            self.proc.kill()
            raise RuntimeError(f"host did not start: {ready!r} {self._drain_text()}")
        self.pid = self.proc.pid

    # -- stderr ------------------------------------------------------------------------------

    def _read_available(self, wait_s: float) -> bool:
        """Read what stderr has (waiting up to ``wait_s``); False at EOF."""
        ready, _, _ = select.select([self._stderr_fd], [], [], max(wait_s, 0.0))
        if not ready:
            return True
        try:
            chunk = os.read(self._stderr_fd, 1 << 20)
        except BlockingIOError:
            return True
        arrived = time.monotonic()
        if not chunk:
            return False
        self.stderr_bytes += len(chunk)
        data = self._pending + chunk
        *complete, self._pending = data.split(b"\n")
        self.lines.extend((arrived, line.decode("utf-8", "replace")) for line in complete)
        return True

    def wait_line(
        self, predicate: Callable[[str], bool], *, after: int, timeout_s: float
    ) -> tuple[float, str]:
        """The first stderr line from index ``after`` on that matches, and its arrival time."""
        deadline = time.monotonic() + timeout_s
        checked = after
        while True:
            for index in range(checked, len(self.lines)):
                arrived, line = self.lines[index]
                if predicate(line):
                    return arrived, line
            checked = len(self.lines)
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{self.mode} host: no matching line ({self._tail()})")
            if not self._read_available(left):
                raise RuntimeError(f"{self.mode} host exited: {self._tail()}")

    def drain(self, seconds: float = 0.0) -> None:
        """Read stderr for ``seconds`` (at least once), so the host never blocks on it."""
        deadline = time.monotonic() + seconds
        while self._read_available(max(deadline - time.monotonic(), 0.0)):
            if time.monotonic() >= deadline:
                return

    def _drain_text(self) -> str:
        assert self.proc.stderr is not None
        try:
            return self.proc.stderr.read().decode("utf-8", "replace")[-2000:]
        except (OSError, ValueError, TypeError):
            return ""

    def _tail(self) -> str:
        return " | ".join(line for _, line in self.lines[-5:])

    # -- commands and signals ----------------------------------------------------------------

    def ask(self, command: str) -> str:
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        self.proc.stdin.write(command.encode() + b"\n")
        self.proc.stdin.flush()
        return self.proc.stdout.readline().decode().strip()

    def signal(self, signum: int = signal.SIGQUIT) -> float:
        """Send a signal; the monotonic time just before it was sent."""
        sent = time.monotonic()
        os.kill(self.pid, signum)
        return sent

    def beats(self, start: float, end: float) -> tuple[int, float]:
        count, gap_ms = self.ask(f"beats {start!r} {end!r}").split()
        return int(count), float(gap_ms)

    def alive(self) -> bool:
        if self.proc.poll() is not None:
            return False
        try:
            return self.ask("alive") == "alive"
        except (BrokenPipeError, OSError):
            return False

    def rss_kib(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS")

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                self.ask("quit")
                self.proc.wait(timeout=5)
            except (BrokenPipeError, OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait(timeout=5)
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()


def wait_for(predicate: Callable[[], bool], what: str, timeout_s: float = 30.0) -> None:
    """Poll until ``predicate`` holds; fail naming ``what``."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.005)
