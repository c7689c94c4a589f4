"""Ship audit records to syslog as RFC 5424 messages, with the standard library's handler.

The file is the audit trail of record; syslog is a copy kept where the host cannot edit
it. Each message's MSG is the record's line exactly as the file holds it (without the
newline), so a reviewer can match a syslog copy to its file line byte for byte, and the
hash chain can be recomputed from the copies alone.

Message: ``<PRI>1 TIMESTAMP HOSTNAME safeprobe PID OUTCOME - MSG``. TIMESTAMP is the
record's own ``ts``; MSGID is its outcome; there is no structured data. Over TCP each
message ends with a newline (RFC 6587 non-transparent framing: a record line never holds
one), as on a stream socket at a path. Severity: info for ``ok``, notice for the others.

Failures. ``preflight`` connects now and raises ``SyslogError``: with ``required: true``
the runner then refuses the attempt before the probe is read. ``send`` raises
``SyslogError`` when the whole message could not be handed to the socket within the
timeout; it never reconnects and sends again (the next preflight connects), so a receiver
that stopped reading costs one timeout, not the runner thread. Handed over is not
delivered: a UDP send succeeds whether or not anything listens, and a TCP peer that goes
away after the last check loses what was sent since without an error here. Those are
the protocols' limits, named in SECURITY.md.
"""

from __future__ import annotations

import errno
import logging
import logging.handlers
import os
import select
import socket
from collections.abc import Callable, Mapping
from typing import Final

from safeprobe.audit.chain import record_line
from safeprobe.errors import SyslogError
from safeprobe.policy.models import SyslogConfig
from safeprobe.policy.syslog_address import parse_syslog_address

APP_NAME: Final = "safeprobe"
_NILVALUE: Final = "-"


class _Handler(logging.handlers.SysLogHandler):
    """The standard library's SysLogHandler for what it does well: the UDP socket (through
    getaddrinfo), the facility and severity names behind ``<PRI>`` (``encodePriority``),
    and closing under its lock. We override the rest:

    - ``createSocket``: every connect has the policy's timeout. The stdlib connects a
      socket path and TCP without one, and a listener whose backlog is full (or a
      black-holed host) would hold the runner thread indefinitely. It also swallows a
      socket path's connect error (as syslog(3) does) and leaves a closed socket behind,
      so the cause reached us as "Bad file descriptor"; ours raises the real reason.
    - ``emit`` is not used: ``send_frame`` replaces it. The stdlib sends on a socket path
      with ``send``, not ``sendall``, so a large record on a stream socket could go out in
      part and count as sent; and when a send fails it reconnects without a timeout and
      sends again, which blocks indefinitely if the receiver's queue is full.
      ``send_frame`` hands over the whole message within the timeout or raises, and never
      reconnects: the runner's next preflight does.
    - ``still_connected`` is ours: the stdlib never asks.
    """

    def __init__(self, config: SyslogConfig) -> None:
        self.timeout_s = config.timeout_s
        address, socktype = _parse_address(config.address)
        super().__init__(address, facility=config.facility, socktype=socktype)

    def createSocket(self) -> None:
        """Connect now, within the timeout; OSError with the reason when we cannot."""
        if isinstance(self.address, str):
            self.unixsocket = True
            self.socket = self._connect_path(self.address)
        elif self.socktype == socket.SOCK_STREAM:
            self.unixsocket = False
            self.socket = socket.create_connection(self.address, timeout=self.timeout_s)
        else:
            super().createSocket()  # UDP: getaddrinfo and an unconnected socket
        self.socket.settimeout(self.timeout_s)

    def _connect_path(self, path: str) -> socket.socket:
        """Datagram first, then stream, as syslog(3) and the stdlib do; the stream
        attempt's error when neither connects."""
        try:
            return self._connect_path_as(path, socket.SOCK_DGRAM)
        except OSError:
            return self._connect_path_as(path, socket.SOCK_STREAM)

    def _connect_path_as(self, path: str, kind: socket.SocketKind) -> socket.socket:
        sock = socket.socket(socket.AF_UNIX, kind)
        sock.settimeout(self.timeout_s)
        try:
            sock.connect(path)
        except OSError:
            sock.close()
            raise
        self.socktype = kind
        return sock

    def emit(self, record: logging.LogRecord) -> None:
        raise NotImplementedError("SysLogHandler.emit is not used: see send_frame")

    def send_frame(self, frame: bytes) -> None:
        """Hand over the whole frame within the timeout, or raise OSError."""
        sock = self.socket
        if sock is None:
            raise OSError(errno.ENOTCONN, os.strerror(errno.ENOTCONN))
        if self.socktype == socket.SOCK_STREAM:
            sock.sendall(frame)  # the timeout bounds the whole call, not each chunk
            return
        sent = sock.send(frame) if self.unixsocket else sock.sendto(frame, self.address)
        if sent != len(frame):  # a datagram goes whole or not at all; checked all the same
            raise OSError(errno.EMSGSIZE, os.strerror(errno.EMSGSIZE))

    def still_connected(self) -> bool:
        sock = self.socket
        if sock is None or self.unixsocket:
            return False  # a socket path is cheap to connect again, and only that tells
        if self.socktype != socket.SOCK_STREAM:
            return True  # UDP cannot tell
        # Nothing is ever sent to us, so a TCP socket with anything to report (end of
        # stream, a reset, an error) has lost its peer. A poll with timeout 0 never waits;
        # a recv would first wait out the socket's timeout.
        poller = select.poll()
        poller.register(sock, select.POLLIN | select.POLLPRI)
        return not poller.poll(0)


class SyslogShipper:
    """One connection to one syslog endpoint; not thread-safe (the runner serialises)."""

    def __init__(self, config: SyslogConfig) -> None:
        self.config = config
        self._handler: _Handler | None = None
        self._hostname = _hostname()

    def preflight(self) -> None:
        """Prove the endpoint is there now; SyslogError when it cannot be reached.

        A socket path is connected afresh (a datagram socket learns that its peer went
        away only by connecting); a TCP connection is kept while it is healthy and
        replaced when the peer has closed it; UDP cannot tell, and passes."""
        if self._handler is not None and not self._handler.still_connected():
            self.close()
        self._connected()

    def send(self, record: Mapping[str, object]) -> None:
        """Send one record; SyslogError when it could not be handed over whole. The
        socket is then closed and not retried here: the next preflight connects again."""
        handler = self._connected()
        severity = "info" if record.get("outcome") == "ok" else "notice"
        priority = handler.encodePriority(handler.facility, severity)
        frame = f"<{priority}>{self.message(record)}".encode()  # RFC 5424: no NUL after it
        if handler.socktype == socket.SOCK_STREAM:
            frame += b"\n"  # RFC 6587 non-transparent framing; a record line has no newline
        try:
            handler.send_frame(frame)
        except OSError as exc:
            self.close()
            raise SyslogError(
                self.config.address, f"syslog: sending a record: {_describe(exc)}"
            ) from None

    def message(self, record: Mapping[str, object]) -> str:
        """The message after <PRI>: RFC 5424 header, then the record's line."""
        line = record_line(record).decode("utf-8").rstrip("\n")
        stamp = record.get("ts")
        host = record.get("host")
        pid = host.get("pid") if isinstance(host, Mapping) else None
        outcome = record.get("outcome")
        header = " ".join(
            (
                "1",
                stamp if isinstance(stamp, str) else _NILVALUE,
                self._hostname,
                APP_NAME,
                str(pid) if isinstance(pid, int) else _NILVALUE,
                _msgid(outcome),
                _NILVALUE,
            )
        )
        return f"{header} {line}"

    def close(self) -> None:
        if self._handler is not None:
            self._handler.close()
            self._handler = None

    def _connected(self) -> _Handler:
        if self._handler is None:
            try:
                self._handler = _Handler(self.config)
            except OSError as exc:
                raise SyslogError(self.config.address, f"syslog: {_describe(exc)}") from None
        return self._handler


def _parse_address(address: str) -> tuple[str | tuple[str, int], socket.SocketKind | None]:
    """The policy's address as SysLogHandler takes it. A socket path lets the handler pick
    datagram, falling back to stream, as C's syslog(3) does."""
    parsed = parse_syslog_address(address)  # the policy's own grammar: validated there
    if parsed.socket_path is not None:
        return parsed.socket_path, None
    kind = socket.SOCK_DGRAM if parsed.transport == "udp" else socket.SOCK_STREAM
    return (parsed.host, parsed.port), kind


def _msgid(outcome: object) -> str:
    # MSGID is 1 to 32 printable ASCII characters without spaces (RFC 5424, 6).
    if isinstance(outcome, str) and 0 < len(outcome) <= 32 and _printable_ascii(outcome):
        return outcome
    return _NILVALUE


def _printable_ascii(text: str) -> bool:
    return all(33 <= ord(c) <= 126 for c in text)


def _hostname() -> str:
    # HOSTNAME is 1 to 255 printable ASCII characters (RFC 5424, 6.2.4).
    name = socket.gethostname()
    if name and len(name) <= 255 and _printable_ascii(name):
        return name
    return _NILVALUE


def _describe(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    if isinstance(exc, TimeoutError):
        return "timed out"  # a socket timeout carries no strerror
    return type(exc).__name__


class SyslogCopy:
    """The runner's syslog connection, following the policy's ``audit.syslog`` as it
    changes; one connection at a time. Not thread-safe (the runner serialises)."""

    def __init__(self, write_stderr: Callable[[str], None]) -> None:
        self._write_stderr = write_stderr
        self._shipper: SyslogShipper | None = None

    def preflight(self, config: SyslogConfig | None) -> None:
        """Reconnect if syslog went away since the last attempt (a daemon restart).
        SyslogError only when a required syslog cannot be reached: refuse the attempt."""
        shipper = self._for(config)
        if shipper is None:
            return
        try:
            shipper.preflight()
        except SyslogError:
            if shipper.config.required:
                raise

    def ship(self, config: SyslogConfig | None, record: Mapping[str, object]) -> bool:
        """Send a written record. False when it could not be sent and the policy requires
        it: the caller withholds the probe's output. An optional copy only warns."""
        shipper = self._for(config)
        if shipper is None:
            return True
        try:
            shipper.send(record)
        except SyslogError as exc:
            seq = record.get("seq")
            if shipper.config.required:
                self._write_stderr(
                    f"safeprobe: attempt #{seq} output withheld (fail-closed): {exc}\n"
                )
                return False
            self._write_stderr(f"safeprobe: attempt #{seq}: {exc}; kept in the audit file only\n")
        return True

    def _for(self, config: SyslogConfig | None) -> SyslogShipper | None:
        current = self._shipper
        if current is not None and current.config != config:
            current.close()  # the policy changed
            current = self._shipper = None
        if config is None:
            return None
        if current is None:
            current = self._shipper = SyslogShipper(config)
        return current
