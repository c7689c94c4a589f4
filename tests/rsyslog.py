"""A real rsyslogd for the syslog tests: a private instance with its own config, listening
on a Unix socket, UDP and TCP on loopback, and writing every message it parses, field by
field, to a file the tests read.

`.ci/run` installs Debian's rsyslog and sets SAFEPROBE_REQUIRE_RSYSLOG=1, so in CI a
missing rsyslogd fails the tests instead of skipping them.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

RSYSLOGD = shutil.which("rsyslogd") or (
    "/usr/sbin/rsyslogd" if Path("/usr/sbin/rsyslogd").exists() else None
)
REQUIRED = os.environ.get("SAFEPROBE_REQUIRE_RSYSLOG") == "1"

# One JSON object per message, with rsyslog's own RFC 5424 parse of it, so the tests check
# what the daemon understood, not what we meant to send.
_CONFIG = """
global(workDirectory="{work}" maxMessageSize="64k")
module(load="imuxsock" SysSock.Use="off")
input(type="imuxsock" Socket="{sock}" CreatePath="on" UseSpecialParser="off"
      IgnoreTimestamp="off")
module(load="imudp")
input(type="imudp" address="127.0.0.1" port="{udp}")
module(load="imtcp")
input(type="imtcp" address="127.0.0.1" port="{tcp}")
template(name="fields" type="list") {{
  constant(value="{{")
  property(name="inputname" format="jsonf" outname="input")   constant(value=",")
  property(name="syslogfacility-text" format="jsonf" outname="facility") constant(value=",")
  property(name="syslogseverity-text" format="jsonf" outname="severity") constant(value=",")
  property(name="protocol-version" format="jsonf" outname="version") constant(value=",")
  property(name="timereported" dateFormat="rfc3339" format="jsonf" outname="timestamp")
  constant(value=",")
  property(name="hostname" format="jsonf" outname="hostname") constant(value=",")
  property(name="app-name" format="jsonf" outname="app_name") constant(value=",")
  property(name="procid" format="jsonf" outname="procid") constant(value=",")
  property(name="msgid" format="jsonf" outname="msgid") constant(value=",")
  property(name="structured-data" format="jsonf" outname="sd") constant(value=",")
  property(name="msg" format="jsonf" outname="msg")
  constant(value="}}\\n")
}}
*.* action(type="omfile" file="{out}" template="fields")
"""


@dataclass
class Rsyslog:
    """A running rsyslogd and where it listens."""

    process: subprocess.Popen[bytes]
    socket_path: Path
    udp_port: int
    tcp_port: int
    out: Path

    def address(self, via: str) -> str:
        """The audit.syslog address that reaches this daemon over ``via`` (unix, udp, tcp)."""
        if via == "unix":
            return str(self.socket_path)
        port = self.udp_port if via == "udp" else self.tcp_port
        return f"{via}://127.0.0.1:{port}"

    def messages(self) -> list[dict[str, str]]:
        if not self.out.exists():
            return []
        # rsyslogd may be mid-write: only whole lines count.
        text = self.out.read_text("utf-8")
        whole = text[: text.rfind("\n") + 1]
        return [json.loads(line) for line in whole.split("\n") if line]

    def wait_for(self, predicate: object, what: str, timeout: float = 20.0) -> list[dict[str, str]]:
        """Poll until some messages satisfy predicate(messages) (truthy); return them."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.messages()
            if callable(predicate) and predicate(found):
                return found
            if time.monotonic() > deadline:
                pytest.fail(f"rsyslogd did not receive {what}; it has {len(found)} messages")
            time.sleep(0.02)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def free_port(kind: socket.SocketKind) -> int:
    with socket.socket(socket.AF_INET, kind) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def start_rsyslogd(folder: Path) -> Rsyslog:
    """Start a private rsyslogd in folder and wait until all three inputs take messages."""
    if RSYSLOGD is None:
        if REQUIRED:
            pytest.fail("rsyslogd is not installed; .ci/run installs Debian's rsyslog package")
        pytest.skip("rsyslogd is not installed (apt-get install rsyslog)")
    folder.mkdir(parents=True, exist_ok=True)
    sock, out = folder / "log.sock", folder / "messages.jsonl"
    for stale in (sock, out):  # a restart in the same folder must not see the last run's
        stale.unlink(missing_ok=True)
    udp, tcp = free_port(socket.SOCK_DGRAM), free_port(socket.SOCK_STREAM)
    config = folder / "rsyslog.conf"
    config.write_text(
        _CONFIG.format(work=folder, sock=sock, udp=udp, tcp=tcp, out=out), encoding="utf-8"
    )
    with (folder / "rsyslogd.stderr").open("wb") as errors:
        process = subprocess.Popen(
            [RSYSLOGD, "-n", "-f", str(config), "-i", str(folder / "rsyslogd.pid")],
            stdout=subprocess.DEVNULL,
            stderr=errors,
        )
    daemon = Rsyslog(process, sock, udp, tcp, out)
    _wait_ready(daemon, folder)
    return daemon


def _wait_ready(daemon: Rsyslog, folder: Path) -> None:
    """Send a marker on each input until all three arrive: then every input is listening."""
    deadline = time.monotonic() + 30
    while True:
        if daemon.process.poll() is not None:
            errors = (folder / "rsyslogd.stderr").read_text("utf-8", "replace")
            pytest.fail(f"rsyslogd exited with {daemon.process.returncode}: {errors[-2000:]}")
        seen = {m["msg"] for m in daemon.messages()}
        wanted = {f"ready-{name}" for name in ("unix", "udp", "tcp")}
        if wanted <= seen:
            return
        if time.monotonic() > deadline:
            pytest.fail(f"rsyslogd did not become ready; it saw {sorted(seen)}")
        for name in wanted - seen:
            _send_marker(daemon, name.removeprefix("ready-"))
        time.sleep(0.1)


def _send_marker(daemon: Rsyslog, via: str) -> None:
    message = f"<14>1 - - marker - - - ready-{via}".encode()
    try:
        if via == "unix":
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as out:
                out.sendto(message, str(daemon.socket_path))
        elif via == "udp":
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as out:
                out.sendto(message, ("127.0.0.1", daemon.udp_port))
        else:
            with socket.create_connection(("127.0.0.1", daemon.tcp_port), timeout=1) as out:
                out.sendall(message + b"\n")
    except OSError:
        return  # not listening yet
