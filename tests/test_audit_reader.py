"""The one reader of audit logs (safeprobe.audit.reader): no symlink, no FIFO, regular files."""

from __future__ import annotations

import errno
import os
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from safeprobe.audit.reader import NotARegularFile, open_regular, parse_record, read_records
from safeprobe.audit.sink import AuditSink, load_hmac_key
from safeprobe.audit.trail import verify_chain
from safeprobe.errors import AuditChainError, AuditError
from safeprobe.tools.review import follow

# Generous: opening must return at once; only a blocked open would take this long.
_NO_BLOCK_S = 10.0


def _returns_at_once(call: Callable[[], object]) -> BaseException | None:
    """Run call in a thread; fail if it is still running (blocked) after _NO_BLOCK_S."""
    raised: list[BaseException] = []

    def run() -> None:
        try:
            call()
        except BaseException as exc:  # handed to the test to check
            raised.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(_NO_BLOCK_S)
    assert not thread.is_alive(), "reading blocked"
    return raised[0] if raised else None


def _log(tmp_path: Path) -> Path:
    log = tmp_path / "audit.jsonl"
    sink = AuditSink(str(log))
    sink.append({"outcome": "ok"})
    sink.append({"outcome": "denied"})
    return log


def test_a_log_is_read_record_by_record(tmp_path: Path) -> None:
    """Records come back as written; a line that is not one is counted, not returned."""
    log = _log(tmp_path)
    with log.open("ab") as file:
        file.write(b"not json\n\n")
    records, skipped = read_records(str(log))
    assert [(r["seq"], r["outcome"]) for r in records] == [(1, "ok"), (2, "denied")]
    assert skipped == 1


def test_a_symlink_to_a_good_log_is_refused(tmp_path: Path) -> None:
    """O_NOFOLLOW: a link planted at the path is not read through, whatever it names."""
    link = tmp_path / "link.jsonl"
    link.symlink_to(_log(tmp_path))
    for read in (open_regular, read_records):
        with pytest.raises(OSError, match="symbolic links") as caught:
            read(str(link))
        assert caught.value.errno == errno.ELOOP
    with pytest.raises(AuditChainError, match="symlink"):
        verify_chain(str(link))


def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    """A FIFO with no writer would hang a plain open(); every reader refuses it at once."""
    fifo = tmp_path / "audit.jsonl"
    os.mkfifo(fifo)
    calls: dict[str, Callable[[], object]] = {
        "open_regular": lambda: open_regular(str(fifo)),
        "read_records": lambda: read_records(str(fifo)),
        "follow": lambda: next(follow(str(fifo), from_start=True)),
        "verify_chain": lambda: verify_chain(str(fifo)),
        "load_hmac_key": lambda: load_hmac_key(str(fifo)),
    }
    for name, call in calls.items():
        raised = _returns_at_once(call)
        assert isinstance(raised, (NotARegularFile, AuditChainError, AuditError)), name
        assert "a FIFO, not a regular file" in str(raised), name


def test_a_directory_is_not_a_regular_file(tmp_path: Path) -> None:
    """Anything but a regular file is refused with what it is."""
    with pytest.raises(NotARegularFile, match="a directory"):
        open_regular(str(tmp_path))


@pytest.mark.parametrize("line", [b'{"a": NaN}\n', b"[1]\n", b"\xff\n", b"{}"])
def test_parse_record_is_as_strict_as_the_verifier(line: bytes) -> None:
    """No NaN, only objects, only UTF-8; a missing newline is fine."""
    assert parse_record(line) == ({} if line == b"{}" else None)
