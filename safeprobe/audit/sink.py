"""The audit sink: append one chained record per attempt to a file, locked, fail-closed.

Promise: ``AuditSink.append`` writes a whole record or raises ``AuditError``, so the
runner can fail closed. It writes only to a regular file with one link that group and
others cannot write, never through a symlink at the path's last component, and creates
it 0600. Processes sharing one file append under an exclusive lock, one write per record,
so the chain stays linear. A record that would pass ``MAX_RECORD_BYTES`` has its output
text cut, never the record. After a torn last line (see ``chain``) the next record starts
on a line of its own and chains to the last line that parses. Key files are read as the
reader opens logs, and refused when group or others may read them. Threat model:
SECURITY.md, "Audit integrity" and "Fail-closed".
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import stat
from collections.abc import Mapping
from typing import Final

from safeprobe import files
from safeprobe.audit.chain import (
    MAX_RECORD_BYTES,
    LineError,
    chain_fields,
    check_fields,
    check_key,
    cut_output_text,
    next_record,
    parse_line,
    record_line,
)
from safeprobe.audit.reader import (
    NotARegularFile,
    close_quietly,
    describe_os_error,
    file_kind,
    open_regular,
)
from safeprobe.errors import AuditError

# preflight refuses a filesystem with less free space than this: a record with a full
# default output is under 100 KiB, and a disk this full is about to refuse writes anyway.
MIN_FREE_BYTES: Final = 1024 * 1024
# Key files hold a secret of a few dozen bytes; a big one is the wrong file.
MAX_KEY_BYTES: Final = 4096

# O_RDWR, not O_WRONLY: append reads the last record to chain to it, and preflight must
# prove what append needs; files.NO_FOLLOW_FLAGS say why the rest.
_SINK_OPEN_FLAGS: Final = os.O_RDWR | os.O_APPEND | os.O_CREAT | files.NO_FOLLOW_FLAGS
_SINK_FILE_MODE: Final = 0o600
_WRITABLE_BY_OTHERS: Final = stat.S_IWGRP | stat.S_IWOTH
_OTHERS_ACCESS: Final = stat.S_IRWXG | stat.S_IRWXO
_TAIL_CHUNK_BYTES: Final = 64 * 1024
# The first look at the tail: a record without output is under 1 KiB, so this usually
# holds the whole last line, and splitting 64 KiB twice per attempt (preflight, append)
# was a tenth of an attempt's cost.
_FIRST_TAIL_BYTES: Final = 4096
# The last record may sit behind a torn one; both are under the record cap.
_MAX_TAIL_SCAN_BYTES: Final = 2 * MAX_RECORD_BYTES + _TAIL_CHUNK_BYTES


def check_sink_stat(st: os.stat_result, *, path: str) -> None:
    """Refuse anything but a regular file with one link that only its owner can write. Pure."""
    if not stat.S_ISREG(st.st_mode):
        raise AuditError(path, f"is {file_kind(st.st_mode)}, not a regular file")
    if st.st_nlink == 0:
        raise AuditError(path, "was removed while it was being opened")
    if st.st_nlink > 1:
        # A hard link planted at the path would send our records into another file.
        raise AuditError(path, f"has {st.st_nlink} hard links; an audit file must have one")
    if st.st_mode & _WRITABLE_BY_OTHERS:
        raise AuditError(
            path,
            f"mode {stat.S_IMODE(st.st_mode):04o} lets group or others write it; make it 0600",
        )


def check_free_space(vfs: os.statvfs_result, *, path: str, privileged: bool) -> None:
    """Refuse a filesystem with under MIN_FREE_BYTES free for us. Pure.

    Root may use the blocks a filesystem reserves for it, so privileged counts those.
    """
    if vfs.f_blocks == 0:
        # Some virtual filesystems report no sizes at all; the write itself will tell.
        return
    free_blocks = vfs.f_bfree if privileged else vfs.f_bavail
    if free_blocks * vfs.f_frsize < MIN_FREE_BYTES:
        raise AuditError(path, f"no space left on device (under {MIN_FREE_BYTES} bytes free)")


# The last record each log had when this process last appended to it, by path. Reading the
# tail back (pread, split, JSON, chain fields) cost ~45 µs twice an attempt (preflight and
# append; BENCHMARKS.md, "Profiles"). Any other writer's append grows the file, a rotation
# makes a new inode, and an edit or truncation changes the size or the change time: then
# the tail is read again. An edit the times cannot show (same size, within one clock tick)
# is still caught by verify, which checks every record's own mac.
# Each entry: the file's (st_dev, st_ino, st_size, st_mtime_ns, st_ctime_ns) after that
# append, and the (seq, mac) it wrote. Plain tuples: this runs before every attempt.
_tails: dict[str, tuple[tuple[int, int, int, int, int], tuple[int, str]]] = {}


def _identity(st: os.stat_result) -> tuple[int, int, int, int, int]:
    """What tells that a file is still exactly as an append left it."""
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


class AuditSink:
    """Appends chained records to one file; processes may share the file."""

    __slots__ = ("fsync", "key", "path")

    def __init__(self, path: str, *, key: bytes | None = None, fsync: bool = True) -> None:
        check_key(key)
        self.path = path
        self.key = key
        self.fsync = fsync

    def preflight(self) -> None:
        """Prove a record could be written now: raise AuditError saying why it could not.

        Opens the file as append does (creating it 0600), checks it is a regular file
        only we can write, that its filesystem has room for a record, and that its last
        record can be found to chain to. Takes no lock: a record being written meanwhile
        reads as a torn line, which is skipped.
        """
        fd = self._open()
        try:
            try:
                vfs = os.fstatvfs(fd)
                st = os.fstat(fd)
                known = _tails.get(self.path)
                if known is None or known[0] != _identity(st):
                    _read_last_record(fd, st.st_size, path=self.path)
            except OSError as exc:
                raise AuditError(self.path, describe_os_error(exc, "checking the file")) from None
            check_free_space(vfs, path=self.path, privileged=os.geteuid() == 0)
        finally:
            close_quietly(fd)

    def append(self, fields: Mapping[str, object]) -> dict[str, object]:
        """Append the record after the file's last one and return it as written.

        Raises ValueError when fields names seq, prev or mac, and AuditError when the
        record cannot be written whole (AuditError means: do not run the attempt).
        """
        check_fields(fields)
        fd = self._open()
        try:
            # flock waits for other writers; EINTR is retried by Python (PEP 475).
            fcntl.flock(fd, fcntl.LOCK_EX)
            st = os.fstat(fd)
            # The file may have been renamed or replaced while we waited for the lock.
            check_sink_stat(st, path=self.path)
            known = _tails.pop(self.path, None)
            last: tuple[int, str] | None
            if known is not None and known[0] == _identity(st):
                last, unterminated = known[1], False
            else:
                last, unterminated = _read_last_record(fd, st.st_size, path=self.path)
            line = self._serialise(fields, last)
            if len(line) > MAX_RECORD_BYTES:
                # Every attempt leaves a record: output text cut to fit, never the record.
                line = self._serialise(cut_output_text(fields, len(line) - MAX_RECORD_BYTES), last)
            if len(line) > MAX_RECORD_BYTES:
                raise AuditError(self.path, f"record is over the {MAX_RECORD_BYTES}-byte cap")
            # After a torn line, or a record that lost its newline, start a line of our own.
            _write_all(fd, b"\n" + line if unterminated else line)
            if self.fsync:
                os.fsync(fd)
            after = os.fstat(fd)
        except OSError as exc:
            raise AuditError(self.path, describe_os_error(exc, "appending a record")) from None
        finally:
            # Unlock explicitly: a child forked meanwhile shares the lock until it closes
            # its copy of the descriptor, and would otherwise hold up every writer.
            with contextlib.suppress(OSError):
                fcntl.flock(fd, fcntl.LOCK_UN)
            close_quietly(fd)
        written: dict[str, object] = json.loads(line)
        _tails[self.path] = (_identity(after), _last_links(written, path=self.path))
        return written

    def last_record(self) -> dict[str, object] | None:
        """The file's last record as written (None for an empty file), unverified: for a
        writer that must learn whether its own append landed before an interrupt."""
        fd = self._open()
        try:
            return _last_parsed_record(fd, os.fstat(fd).st_size, path=self.path)
        except OSError as exc:
            raise AuditError(self.path, describe_os_error(exc, "reading the last record")) from None
        finally:
            close_quietly(fd)

    def _open(self) -> int:
        try:
            fd = os.open(self.path, _SINK_OPEN_FLAGS, _SINK_FILE_MODE)
        except OSError as exc:
            raise AuditError(self.path, describe_os_error(exc, "opening", creating=True)) from None
        try:
            check_sink_stat(os.fstat(fd), path=self.path)
        except OSError as exc:
            close_quietly(fd)
            raise AuditError(self.path, describe_os_error(exc, "opening")) from None
        except AuditError:
            close_quietly(fd)
            raise
        return fd

    def _serialise(self, fields: Mapping[str, object], last: tuple[int, str] | None) -> bytes:
        try:
            return record_line(next_record(fields, last=last, key=self.key))
        except (TypeError, ValueError, RecursionError):
            culprit = next((name for name in fields if not _has_json_form(fields[name])), None)
            what = "a field name" if culprit is None else f"field {culprit!r}"
            raise AuditError(
                self.path,
                f"{what} cannot be written as JSON (text that is not valid Unicode, NaN or "
                "infinity, or a type JSON lacks)",
            ) from None


def load_hmac_key(path: str) -> bytes:
    """Read an HMAC key: a regular file, not a symlink, no access for group or others.

    One trailing newline ("\\n" or "\\r\\n") is dropped; an empty key is refused.
    """
    try:
        fd = open_regular(path)
    except NotARegularFile as exc:
        raise AuditError(path, f"key file {exc.problem}") from None
    except OSError as exc:
        raise AuditError(path, f"key file: {describe_os_error(exc, 'opening')}") from None
    try:
        st = os.fstat(fd)
        if st.st_mode & _OTHERS_ACCESS:
            raise AuditError(
                path,
                f"key file mode {stat.S_IMODE(st.st_mode):04o} gives group or others "
                "access; make it 0600 or 0400",
            )
        data = os.read(fd, MAX_KEY_BYTES + 1)
    except OSError as exc:
        raise AuditError(path, f"key file: {describe_os_error(exc, 'reading')}") from None
    finally:
        close_quietly(fd)
    if len(data) > MAX_KEY_BYTES:
        raise AuditError(path, f"key file is over the {MAX_KEY_BYTES}-byte cap")
    key = data.removesuffix(b"\n").removesuffix(b"\r") if data.endswith(b"\n") else data
    if not key:
        raise AuditError(path, "key file is empty")
    return key


def _read_last_record(fd: int, size: int, *, path: str) -> tuple[tuple[int, str] | None, bool]:
    """The (seq, mac) of the file's last record, and whether the file lacks a final newline.

    Reads backwards from the end in chunks, never the whole file. Lines that do not parse
    are torn writes and are skipped, as verify_lines skips them; an unterminated last line
    that parses is a record that lost only its newline.
    """
    if size == 0:
        return None, False
    unterminated = _pread_exact(fd, 1, size - 1) != b"\n"
    record = _last_parsed_record(fd, size, path=path)
    return (None if record is None else _last_links(record, path=path)), unterminated


def _last_parsed_record(fd: int, size: int, *, path: str) -> dict[str, object] | None:
    """The file's last line that parses as a record (see _read_last_record), or None."""
    if size == 0:
        return None
    end, carry, chunk = size, b"", _FIRST_TAIL_BYTES
    while True:
        start = max(0, end - chunk)
        chunk = _TAIL_CHUNK_BYTES
        segments = (_pread_exact(fd, end - start, start) + carry).split(b"\n")
        # The first segment is a whole line only at the start of the file.
        for segment in reversed(segments if start == 0 else segments[1:]):
            record = parse_line(segment)
            if record is not None:
                return record
        if start == 0:
            return None
        end, carry = start, segments[0]
        if size - end > _MAX_TAIL_SCAN_BYTES:
            raise AuditError(
                path,
                f"no record in the last {_MAX_TAIL_SCAN_BYTES} bytes: the file is damaged "
                "or not a safeprobe audit log",
            )


def _last_links(record: Mapping[str, object], *, path: str) -> tuple[int, str]:
    try:
        seq, _prev, mac = chain_fields(record, keyed=False)
    except LineError as error:
        raise AuditError(
            path, f"the last record is damaged ({error.problem}); run safeprobe audit verify"
        ) from None
    return seq, mac


def _pread_exact(fd: int, size: int, offset: int) -> bytes:
    chunks: list[bytes] = []
    while size > 0:
        chunk = os.pread(fd, size, offset)
        if not chunk:
            break  # the file shrank under us; what is there is what we chain to
        chunks.append(chunk)
        size -= len(chunk)
        offset += len(chunk)
    return b"".join(chunks)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        if written == 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        view = view[written:]


def _has_json_form(value: object) -> bool:
    try:
        json.dumps(value, ensure_ascii=False, allow_nan=False).encode("utf-8")
    except (TypeError, ValueError, RecursionError):
        return False
    return True
