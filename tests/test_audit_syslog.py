"""Shipping audit records to a real rsyslogd over each transport (tests/rsyslog.py):
what arrives is the file's line byte for byte, in an RFC 5424 message rsyslog parses into
the fields we meant."""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safeprobe.audit.chain import record_line
from safeprobe.audit.sink import AuditSink
from safeprobe.audit.syslog import SyslogShipper
from safeprobe.audit.trail import verify_chain
from safeprobe.errors import SyslogError
from safeprobe.policy.models import SyslogConfig
from tests.harness import wait_until
from tests.rsyslog import Rsyslog, free_port
from tests.syslog_listener import StreamListener, message_of

TRANSPORTS = ("unix", "udp", "tcp")


def _config(address: str, **extra: object) -> SyslogConfig:
    return SyslogConfig.model_validate({"address": address, **extra})


def _fields(marker: str, outcome: str = "ok") -> dict[str, object]:
    return {
        "ts": "2026-11-27T05:00:00.123456Z",
        "host": {"pid": os.getpid(), "hostname": "h", "argv": ["app.py"]},
        "outcome": outcome,
        "reason": marker,
    }


def _with_reason(messages: list[dict[str, str]], marker: str) -> list[dict[str, str]]:
    return [m for m in messages if m["app_name"] == "safeprobe" and marker in m["msg"]]


@pytest.mark.parametrize("via", TRANSPORTS)
def test_a_record_arrives_intact_as_rfc5424(rsyslogd: Rsyslog, tmp_path: Path, via: str) -> None:
    """The message's MSG is the audit line exactly; the header parses into our fields."""
    marker = f"m-{uuid.uuid4()}"
    log = tmp_path / "audit.jsonl"
    record = AuditSink(str(log), key=None, fsync=False).append(_fields(marker))
    shipper = SyslogShipper(_config(rsyslogd.address(via)))
    shipper.preflight()
    shipper.send(record)
    shipper.close()

    found = rsyslogd.wait_for(lambda ms: _with_reason(ms, marker), f"the record via {via}")
    [message] = _with_reason(found, marker)
    assert message["msg"] == log.read_text("utf-8").rstrip("\n")
    assert message["version"] == "1"
    assert (message["facility"], message["severity"]) == ("auth", "info")
    assert message["hostname"] == socket.gethostname()
    assert (message["procid"], message["msgid"], message["sd"]) == (str(os.getpid()), "ok", "-")
    sent = datetime.fromisoformat(str(record["ts"]))
    assert datetime.fromisoformat(message["timestamp"]) == sent


def test_facility_is_configurable_and_refusals_are_notices(
    rsyslogd: Rsyslog, tmp_path: Path
) -> None:
    marker = f"m-{uuid.uuid4()}"
    record = AuditSink(str(tmp_path / "a.jsonl"), key=None, fsync=False).append(
        _fields(marker, outcome="unauthorized")
    )
    shipper = SyslogShipper(_config(rsyslogd.address("udp"), facility="local3"))
    shipper.send(record)
    shipper.close()
    [message] = _with_reason(
        rsyslogd.wait_for(lambda ms: _with_reason(ms, marker), "the refusal"), marker
    )
    assert (message["facility"], message["severity"], message["msgid"]) == (
        "local3",
        "notice",
        "unauthorized",
    )


def test_many_records_over_tcp_stay_separate_and_the_chain_verifies_from_the_copies(
    rsyslogd: Rsyslog, tmp_path: Path
) -> None:
    """Stream framing: 50 records back to back arrive as 50 messages, and the syslog
    copies alone form a chain that verifies (with the same head as the file)."""
    marker = f"m-{uuid.uuid4()}"
    sink = AuditSink(str(tmp_path / "audit.jsonl"), key=b"k" * 32, fsync=False)
    shipper = SyslogShipper(_config(rsyslogd.address("tcp")))
    for _ in range(50):
        shipper.send(sink.append(_fields(marker)))
    shipper.close()
    found = rsyslogd.wait_for(lambda ms: len(_with_reason(ms, marker)) >= 50, "50 records")
    copies = tmp_path / "from-syslog.jsonl"
    copies.write_text("".join(m["msg"] + "\n" for m in _with_reason(found, marker)), "utf-8")
    from_syslog = verify_chain(str(copies), key=b"k" * 32)
    from_file = verify_chain(str(tmp_path / "audit.jsonl"), key=b"k" * 32)
    assert (from_syslog.records, from_syslog.head) == (50, from_file.head)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=st.text(min_size=1, max_size=200))
def test_any_reason_text_arrives_byte_for_byte(
    rsyslogd: Rsyslog, tmp_path_factory: pytest.TempPathFactory, text: str
) -> None:
    """Unicode, quotes, control characters: JSON escapes what needs escaping, and the rest
    (UTF-8 included) reaches rsyslog unchanged."""
    marker = f"m-{uuid.uuid4()}"
    fields = _fields(marker)
    fields["detail"] = text.encode("utf-8", "replace").decode("utf-8", "replace")
    log = tmp_path_factory.mktemp("hyp") / "audit.jsonl"
    record = AuditSink(str(log), key=None, fsync=False).append(fields)
    shipper = SyslogShipper(_config(rsyslogd.address("unix")))
    shipper.send(record)
    shipper.close()
    found = rsyslogd.wait_for(lambda ms: _with_reason(ms, marker), "the record")
    assert _with_reason(found, marker)[0]["msg"] == log.read_text("utf-8").rstrip("\n")


def test_an_unreachable_endpoint_fails_preflight_and_send(tmp_path: Path) -> None:
    """A socket path nobody listens on, a closed TCP port: SyslogError, naming the address."""
    record = AuditSink(str(tmp_path / "a.jsonl"), key=None, fsync=False).append(_fields("x"))
    for address in (str(tmp_path / "no.sock"), f"tcp://127.0.0.1:{free_port(socket.SOCK_STREAM)}"):
        shipper = SyslogShipper(_config(address, timeout="500ms"))
        with pytest.raises(SyslogError, match="syslog") as caught:
            shipper.preflight()
        assert address in str(caught.value)
        with pytest.raises(SyslogError):
            shipper.send(record)
        shipper.close()


@pytest.mark.slow
def test_a_shipper_reconnects_when_rsyslog_comes_back(tmp_path: Path) -> None:
    """After a failure the socket is rebuilt on the next preflight: a daemon restart does
    not leave the host refusing forever."""
    from tests.rsyslog import start_rsyslogd  # noqa: PLC0415 - only this test starts its own

    sock = tmp_path / "later" / "log.sock"
    shipper = SyslogShipper(_config(str(sock)))
    with pytest.raises(SyslogError):
        shipper.preflight()
    daemon = start_rsyslogd(tmp_path / "later")
    try:
        assert daemon.socket_path == sock
        shipper.preflight()
        marker = f"m-{uuid.uuid4()}"
        shipper.send(
            AuditSink(str(tmp_path / "a.jsonl"), key=None, fsync=False).append(_fields(marker))
        )
        daemon.wait_for(lambda ms: _with_reason(ms, marker), "the record after reconnecting")
    finally:
        shipper.close()
        daemon.stop()


def _bounded(action: Callable[[], object], limit_s: float, what: str) -> None:
    """Run action in a thread, re-raising its SyslogError; fail, naming what, if it has
    not finished within limit_s (a hang, not a timeout)."""
    failures: list[SyslogError] = []

    def run() -> None:
        try:
            action()
        except SyslogError as exc:
            failures.append(exc)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(limit_s)
    if worker.is_alive():
        pytest.fail(f"{what} still blocked after {limit_s} s")
    if failures:
        raise failures[0]


def _large_record(tmp_path: Path, marker: str, size: int = 1_000_000) -> dict[str, object]:
    fields = _fields(marker)
    fields["output"] = {"text": "x" * size}
    return AuditSink(str(tmp_path / "big.jsonl"), key=None, fsync=False).append(fields)


def test_an_unreachable_socket_path_names_the_real_reason(tmp_path: Path) -> None:
    """Nothing at the path, or a socket nobody owns any more: the error says which, not
    "Bad file descriptor" from a socket the stdlib had already closed."""
    stale = tmp_path / "stale.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as gone:
        gone.bind(str(stale))
    for path, reason in ((tmp_path / "none.sock", "No such file or directory"),
                         (stale, "Connection refused")):  # fmt: skip
        with pytest.raises(SyslogError, match=reason) as caught:
            SyslogShipper(_config(str(path))).preflight()
        assert "Bad file descriptor" not in str(caught.value)


def test_a_healthy_tcp_connection_is_kept_across_preflights(tmp_path: Path) -> None:
    """Five preflights and sends use one connection, and checking it does not wait out
    the timeout: five preflights together take less than one timeout."""
    sink = AuditSink(str(tmp_path / "a.jsonl"), key=None, fsync=False)
    with StreamListener.tcp() as listener:
        shipper = SyslogShipper(_config(listener.address, timeout="5s"))
        checking = 0.0
        for _ in range(5):
            started = time.monotonic()
            shipper.preflight()
            checking += time.monotonic() - started
            shipper.send(sink.append(_fields("kept")))
        wait_until(lambda: len(listener.frames()) == 5, "five frames")
        shipper.close()
        assert listener.accepted() == 1
    assert checking < 5.0


def test_a_tcp_connection_the_peer_closed_is_replaced(tmp_path: Path) -> None:
    """The receiver drops the connection: the next preflight connects anew, and the next
    record arrives whole on the new connection."""
    sink = AuditSink(str(tmp_path / "a.jsonl"), key=None, fsync=False)
    with StreamListener.tcp() as listener:
        shipper = SyslogShipper(_config(listener.address))
        shipper.preflight()
        wait_until(lambda: listener.accepted() == 1, "the first connection")
        listener.close_connections()
        # The peer's close reaches us asynchronously; each preflight keeps the old
        # connection until it has.
        wait_until(lambda: shipper.preflight() or listener.accepted() == 2, "a new connection")
        record = sink.append(_fields("replaced"))
        shipper.send(record)
        wait_until(listener.frames, "the record on the new connection")
        shipper.close()
        first, second = listener.received()
        assert first == b""
        assert message_of(second.rstrip(b"\n")) == record_line(record).rstrip(b"\n")
        assert listener.accepted() == 2


@pytest.mark.parametrize("via", ["unix", "tcp"])
def test_a_large_record_reaches_a_stream_socket_whole(tmp_path: Path, via: str) -> None:
    """A 1 MB record is far more than one send takes: all of it arrives, as one frame."""
    record = _large_record(tmp_path, "large")
    if via == "unix":
        listener = StreamListener.unix(tmp_path / "stream.sock")
    else:
        listener = StreamListener.tcp()
    with listener:
        shipper = SyslogShipper(_config(listener.address, timeout="10s"))
        shipper.preflight()
        shipper.send(record)
        wait_until(listener.frames, "the large frame")
        shipper.close()
        [frame] = listener.frames()
    assert message_of(frame) == record_line(record).rstrip(b"\n")
    assert len(frame) > 1_000_000


def test_a_large_record_to_a_stream_receiver_that_stops_reading_fails_loudly(
    tmp_path: Path,
) -> None:
    """The receiver takes part of it and then nothing: the send fails within about the
    timeout, instead of counting a truncated record as sent."""
    record = _large_record(tmp_path, "stuck")
    with StreamListener.unix(tmp_path / "stream.sock", read=False) as listener:
        shipper = SyslogShipper(_config(listener.address, timeout="200ms"))
        shipper.preflight()
        with pytest.raises(SyslogError, match="timed out"):
            _bounded(lambda: shipper.send(record), 2.0, "the send")
        shipper.close()


def test_a_record_too_large_for_a_datagram_fails_loudly(tmp_path: Path) -> None:
    """A datagram goes whole or not at all: 1 MB on a local datagram socket is refused."""
    path = tmp_path / "dgram.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as receiver:
        receiver.bind(str(path))
        shipper = SyslogShipper(_config(str(path)))
        shipper.preflight()
        with pytest.raises(SyslogError, match="Message too long"):
            shipper.send(_large_record(tmp_path, "dgram"))
        shipper.close()


def test_a_datagram_receiver_that_never_reads_fails_the_send_within_the_timeout(
    tmp_path: Path,
) -> None:
    """Its queue fills and a send blocks: the send gives up at the timeout and does not
    reconnect and block again (the stdlib's emit would, with no timeout at all)."""
    path = tmp_path / "full.sock"
    sink = AuditSink(str(tmp_path / "a.jsonl"), key=None, fsync=False)
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as receiver:
        receiver.bind(str(path))
        shipper = SyslogShipper(_config(str(path), timeout="200ms"))
        shipper.preflight()

        def fill() -> None:
            for sent in range(10_000):
                shipper.send(sink.append(_fields(f"fill-{sent}")))

        # The first sends fill the queue at once; the one that blocks has 200 ms.
        with pytest.raises(SyslogError, match="timed out"):
            _bounded(fill, 2.0, "a send into the full queue")
        shipper.close()
