"""Stand-in syslog receivers, for what a real rsyslogd cannot be made to do on cue: listen
on a stream socket at a path (rsyslog's imuxsock takes datagrams only), count the TCP
connections it was given, drop each connection as soon as it is accepted, or stop reading.
They keep the bytes exactly as they arrived, so a test sees torn frames too."""

from __future__ import annotations

import contextlib
import socket
import threading
from pathlib import Path
from types import TracebackType

# The accept and read loops wake this often to see whether the test is done with them.
_POLL_S = 0.05


class StreamListener:
    """A stream socket (a path, or TCP on loopback) accepting in a thread of its own.

    Each connection is read to its end into ``received()`` (``read=True``), left unread
    (``read=False``: the sender's buffers fill), or closed as soon as it is accepted
    (``drop=True``)."""

    def __init__(self, sock: socket.socket, address: str, *, read: bool, drop: bool) -> None:
        self.address = address  # as a policy writes it
        self._listener = sock
        self._read, self._drop = read, drop
        self._lock = threading.Lock()
        self._data: list[bytearray] = []
        self._open: list[socket.socket] = []
        self._readers: list[threading.Thread] = []
        self._done = threading.Event()
        self._listener.settimeout(_POLL_S)
        self._acceptor = threading.Thread(target=self._accept, daemon=True)
        self._acceptor.start()

    @classmethod
    def unix(cls, path: Path, *, read: bool = True, drop: bool = False) -> StreamListener:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.bind(str(path))
        sock.listen(16)
        return cls(sock, str(path), read=read, drop=drop)

    @classmethod
    def tcp(cls, *, read: bool = True, drop: bool = False) -> StreamListener:
        sock = socket.create_server(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        return cls(sock, f"tcp://127.0.0.1:{port}", read=read, drop=drop)

    def accepted(self) -> int:
        """How many connections were accepted so far."""
        with self._lock:
            return len(self._data)

    def received(self) -> list[bytes]:
        """The bytes each accepted connection has sent so far, in order of connection."""
        with self._lock:
            return [bytes(data) for data in self._data]

    def frames(self) -> list[bytes]:
        """Every newline-terminated frame received so far, connection by connection; a
        frame still arriving (or torn off by a closed connection) is left out."""
        return [
            frame
            for data in self.received()
            for frame in data[: data.rfind(b"\n") + 1].split(b"\n")[:-1]
        ]

    def close_connections(self) -> None:
        """Close every connection accepted so far, as a receiver going away would."""
        with self._lock:
            for conn in self._open:
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
                conn.close()
            self._open.clear()

    def stop(self) -> None:
        self._done.set()
        self._acceptor.join(timeout=5)
        for reader in self._readers:  # no more are added once the acceptor is done
            reader.join(timeout=5)
        self.close_connections()
        self._listener.close()

    def __enter__(self) -> StreamListener:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _accept(self) -> None:
        while not self._done.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            data = bytearray()
            with self._lock:
                self._data.append(data)
                if self._drop:
                    conn.close()
                    continue
                self._open.append(conn)
            if self._read:
                reader = threading.Thread(target=self._read_all, args=(conn, data), daemon=True)
                self._readers.append(reader)
                reader.start()

    def _read_all(self, conn: socket.socket, data: bytearray) -> None:
        try:
            conn.settimeout(_POLL_S)
        except OSError:
            return  # close_connections() closed it before this thread started
        while not self._done.is_set():
            try:
                chunk = conn.recv(1 << 16)
            except TimeoutError:
                continue
            except OSError:
                return
            if not chunk:
                return
            with self._lock:
                data.extend(chunk)


def message_of(frame: bytes) -> bytes:
    """MSG of an RFC 5424 frame as we send it: what follows the seven header fields."""
    return frame.split(b" ", 7)[7]
