"""The audit log: chain, sink and verifier (safeprobe.audit.chain, .sink, .trail)."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import stat
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import safeprobe.audit.sink
from safeprobe.audit.chain import (
    CHAIN_ERROR_KINDS,
    GENESIS,
    MAX_RECORD_BYTES,
    SINK_FIELDS,
    ChainReport,
    canonical_bytes,
    chain_link,
    output_digest,
    record_line,
    verify_lines,
)
from safeprobe.audit.record import RECORD_FIELDS, utc_timestamp
from safeprobe.audit.sink import AuditSink, check_free_space, load_hmac_key
from safeprobe.audit.trail import verify_chain
from safeprobe.errors import AuditChainError, AuditError

KEY = b"0123456789abcdef0123456789abcdef"


# -- helpers ------------------------------------------------------------------------------


def _fields(i: int) -> dict[str, object]:
    return {
        "ts": utc_timestamp(1_795_000_000 + i),
        "host": {"pid": 4242, "hostname": "h", "argv": ["foo.py", "--port=80"]},
        "outcome": "ok",
        "reason": f"attempt {i}: tab\there, unit\x1fsep, caf\u00e9",
        "duration_ms": 1.25e-05 * i,
        "steps": i,
        "output": {"bytes": 3, "digest": output_digest(b"abc", None), "truncated": False},
    }


def _append(path: Path, n: int, *, key: bytes | None = None) -> list[dict[str, object]]:
    sink = AuditSink(str(path), key=key, fsync=False)
    return [sink.append(_fields(i)) for i in range(1, n + 1)]


def _lines(path: Path) -> list[bytes]:
    """The file's lines, each with its newline (the last one may lack it)."""
    data = path.read_bytes()
    parts = data.split(b"\n")
    lines = [part + b"\n" for part in parts[:-1]]
    return [*lines, parts[-1]] if parts[-1] else lines


def _rechain(records: list[dict[str, object]], *, key: bytes | None = None) -> bytes:
    """Recompute prev and mac for records as given (a forger without a key can do this)."""
    prev, out = GENESIS, []
    for record in records:
        body = {name: value for name, value in record.items() if name not in ("prev", "mac")}
        linked: dict[str, object] = {**body, "prev": prev}
        linked["mac"] = prev = chain_link(canonical_bytes(linked), key)
        out.append(record_line(linked))
    return b"".join(out)


def _chain_error(
    path: Path, *, key: bytes | None = None, expect_head: str | None = None
) -> AuditChainError:
    with pytest.raises(AuditChainError) as caught:
        verify_chain(str(path), key=key, expect_head=expect_head)
    assert caught.value.kind in CHAIN_ERROR_KINDS
    return caught.value


def _child_env() -> dict[str, str]:
    """The environment for a child Python that imports this same safeprobe."""
    root = str(Path(safeprobe.audit.sink.__file__).parents[1])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
    return env


_ACTIONS: dict[str, Callable[[AuditSink], object]] = {
    "preflight": lambda sink: sink.preflight(),
    "append": lambda sink: sink.append({"outcome": "ok"}),
}


# -- the chain ----------------------------------------------------------------------------


def test_chain_of_appended_records_verifies_and_head_is_the_last_mac(tmp_path: Path) -> None:
    """N appends make a chain that verifies, with the last record's mac as head."""
    path = tmp_path / "audit.jsonl"
    records = _append(path, 7)
    report = verify_chain(str(path))
    assert report == ChainReport(str(path), 7, str(records[-1]["mac"]), torn_tail=False)


def test_seq_counts_up_from_one_and_each_prev_is_the_previous_mac(tmp_path: Path) -> None:
    """The first record has seq 1 and prev GENESIS; each next one links to the one before."""
    records = _append(tmp_path / "audit.jsonl", 5)
    assert [r["seq"] for r in records] == [1, 2, 3, 4, 5]
    assert [r["prev"] for r in records] == [GENESIS] + [r["mac"] for r in records[:-1]]


def _count_preads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the reads of a log's tail (os.pread) from here on."""
    reads: list[int] = []
    real = os.pread

    def counted(fd: int, size: int, offset: int) -> bytes:
        reads.append(size)
        return real(fd, size, offset)

    monkeypatch.setattr(os, "pread", counted)
    return reads


def test_a_process_reads_the_tail_again_only_when_the_log_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After its own append, the next preflight and append of the same process chain to the
    record it wrote without reading it back; once the file changed, they read it again."""
    path = tmp_path / "audit.jsonl"
    first = _append(path, 1)[0]
    reads = _count_preads(monkeypatch)
    sink = AuditSink(str(path), fsync=False)
    sink.preflight()
    second = sink.append(_fields(2))
    assert reads == []
    assert second["prev"] == first["mac"]
    with path.open("ab") as log:  # a byte another writer left: the file is not as we left it
        log.write(b"\n")
    sink.preflight()
    assert reads != []
    third = sink.append(_fields(3))
    assert (third["seq"], third["prev"]) == (3, second["mac"])
    assert verify_chain(str(path)).records == 3


def test_a_record_another_writer_appended_is_chained_to(tmp_path: Path) -> None:
    """A record appended through another path to the same file (as another process would)
    is the one the next append chains to: the chain stays one line of records."""
    path = tmp_path / "audit.jsonl"
    mine = AuditSink(str(path), fsync=False)
    other = AuditSink(str(tmp_path / "." / "audit.jsonl"), fsync=False)
    records = [mine.append(_fields(1)), other.append(_fields(2)), mine.append(_fields(3))]
    assert [r["seq"] for r in records] == [1, 2, 3]
    assert [r["prev"] for r in records[1:]] == [r["mac"] for r in records[:-1]]
    assert verify_chain(str(path)).records == 3


def test_a_log_rotated_away_starts_a_new_chain_at_its_path(tmp_path: Path) -> None:
    """After the log is renamed away, the next append at its path starts a new file at seq 1
    rather than chaining to the record this process wrote to the old one."""
    path = tmp_path / "audit.jsonl"
    sink = AuditSink(str(path), fsync=False)
    sink.append(_fields(1))
    path.rename(tmp_path / "audit.jsonl.1")
    record = sink.append(_fields(2))
    assert (record["seq"], record["prev"]) == (1, GENESIS)


def test_an_edit_of_the_last_record_with_its_times_put_back_is_still_reported(
    tmp_path: Path,
) -> None:
    """The last record changed in place, same length, its mtime set back (timestomping:
    MITRE ATT&CK T1070.006), then another append: verify names the edited line."""
    path = tmp_path / "audit.jsonl"
    sink = AuditSink(str(path), fsync=False)
    sink.append(_fields(1))
    sink.append(_fields(2))
    before = path.stat()
    data = path.read_bytes()
    at = data.rindex(b'"steps":2')
    edited = data[:at] + b'"steps":9' + data[at + len(b'"steps":9') :]
    assert edited != data
    assert len(edited) == len(data)
    path.write_bytes(edited)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    sink.append(_fields(3))
    with pytest.raises(AuditChainError) as caught:
        verify_chain(str(path))
    assert caught.value.line == 2


def test_record_is_one_compact_line_with_seq_first_and_prev_mac_last(tmp_path: Path) -> None:
    """append writes the record it returns, in field order, compact, as one line."""
    path = tmp_path / "audit.jsonl"
    record = AuditSink(str(path)).append({"ts": "t", "outcome": "ok", "reason": "caf\u00e9"})
    line = path.read_bytes()
    assert line.count(b"\n") == 1
    assert line.endswith(b"\n")
    assert json.loads(line) == record
    assert list(record) == ["seq", "ts", "outcome", "reason", "prev", "mac"]
    assert line == record_line(record)
    assert "caf\u00e9".encode() in line


def test_mac_covers_every_field_but_itself_prev_included() -> None:
    """canonical_bytes sorts keys, drops only mac, and keeps non-ASCII text as UTF-8."""
    record = {"seq": 1, "b": 2, "a": "\u00e9", "prev": GENESIS, "mac": "x"}
    expected = f'{{"a":"\u00e9","b":2,"prev":"{GENESIS}","seq":1}}'.encode()
    assert canonical_bytes(record) == expected


def test_chain_link_is_sha256_or_hmac_sha256() -> None:
    """The plain link is SHA-256 (FIPS 180-2 "abc") and the keyed one HMAC (RFC 4231 case 2)."""
    assert chain_link(b"abc", None) == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )
    assert chain_link(b"what do ya want for nothing?", b"Jefe") == (
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    )


def test_output_digest_names_its_algorithm_and_can_never_be_a_record_mac() -> None:
    """A keyed output digest is domain-separated, so a probe cannot mint record macs."""
    body = canonical_bytes({"seq": 2, "outcome": "ok", "prev": GENESIS})
    assert output_digest(body, None) == "sha256:" + hashlib.sha256(body).hexdigest()
    keyed = output_digest(body, KEY)
    assert keyed.startswith("hmac-sha256:")
    assert keyed.removeprefix("hmac-sha256:") != chain_link(body, KEY)
    label = b"safeprobe-output\x00"
    assert keyed == "hmac-sha256:" + hmac.new(KEY, label + body, hashlib.sha256).hexdigest()


def test_utc_timestamp_is_rfc3339_with_microseconds_and_z() -> None:
    """Timestamps are UTC, microsecond precision, with a trailing Z."""
    moment = datetime(2026, 11, 27, 2, 53, 22, 123456, tzinfo=UTC)
    assert utc_timestamp(moment.timestamp()) == "2026-11-27T02:53:22.123456Z"
    assert utc_timestamp(0) == "1970-01-01T00:00:00.000000Z"


def test_record_vocabulary_names_the_fields_the_sink_fills() -> None:
    """seq, prev and mac belong to the sink and to the documented vocabulary."""
    assert set(RECORD_FIELDS) >= SINK_FIELDS
    assert (RECORD_FIELDS[0], RECORD_FIELDS[-2], RECORD_FIELDS[-1]) == ("seq", "prev", "mac")


# -- the sink -----------------------------------------------------------------------------


@pytest.mark.parametrize("action", sorted(_ACTIONS))
def test_new_audit_file_is_created_with_mode_0600(tmp_path: Path, action: str) -> None:
    """preflight and append create a missing file readable and writable by its owner only."""
    path = tmp_path / "audit.jsonl"
    _ACTIONS[action](AuditSink(str(path)))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_preflight_creates_an_empty_file_and_writes_nothing(tmp_path: Path) -> None:
    """preflight proves a record could be written without writing one."""
    path = tmp_path / "audit.jsonl"
    AuditSink(str(path)).preflight()
    AuditSink(str(path)).preflight()
    assert path.read_bytes() == b""


@pytest.mark.parametrize("action", sorted(_ACTIONS))
def test_symlink_at_the_path_is_refused_and_its_target_unchanged(
    tmp_path: Path, action: str
) -> None:
    """A symlink planted at the audit path cannot redirect records into another file."""
    target = tmp_path / "precious"
    target.write_bytes(b"do not touch\n")
    target.chmod(0o600)
    link = tmp_path / "audit.jsonl"
    link.symlink_to(target)
    with pytest.raises(AuditError, match="is a symlink"):
        _ACTIONS[action](AuditSink(str(link)))
    assert target.read_bytes() == b"do not touch\n"


@pytest.mark.parametrize("action", sorted(_ACTIONS))
def test_dangling_symlink_at_the_path_is_refused_without_creating_its_target(
    tmp_path: Path, action: str
) -> None:
    """O_CREAT never follows a symlink at the last component to create a file elsewhere."""
    link = tmp_path / "audit.jsonl"
    link.symlink_to(tmp_path / "elsewhere")
    with pytest.raises(AuditError, match="is a symlink"):
        _ACTIONS[action](AuditSink(str(link)))
    assert not (tmp_path / "elsewhere").exists()


@pytest.mark.parametrize("action", sorted(_ACTIONS))
def test_directory_at_the_path_is_refused(tmp_path: Path, action: str) -> None:
    """A directory is not an audit file."""
    with pytest.raises(AuditError, match="is a directory"):
        _ACTIONS[action](AuditSink(str(tmp_path)))


@pytest.mark.parametrize("action", sorted(_ACTIONS))
def test_path_whose_parent_does_not_exist_is_refused(tmp_path: Path, action: str) -> None:
    """A missing directory fails closed and says so."""
    path = tmp_path / "missing" / "audit.jsonl"
    with pytest.raises(AuditError, match="a directory in the path does not exist"):
        _ACTIONS[action](AuditSink(str(path)))


@pytest.mark.parametrize("action", sorted(_ACTIONS))
def test_path_whose_parent_is_a_regular_file_is_refused(tmp_path: Path, action: str) -> None:
    """A regular file used as a directory fails closed and leaves the file alone."""
    parent = tmp_path / "file"
    parent.write_bytes(b"x")
    with pytest.raises(AuditError, match="not a directory"):
        _ACTIONS[action](AuditSink(str(parent / "audit.jsonl")))
    assert parent.read_bytes() == b"x"


@pytest.mark.skipif(not Path("/dev/full").is_char_device(), reason="needs /dev/full")
def test_character_device_such_as_dev_full_is_refused_as_not_a_regular_file() -> None:
    """/dev/full (always "no space") is refused before any write, as not a regular file."""
    with pytest.raises(AuditError, match="character device, not a regular file"):
        AuditSink("/dev/full").preflight()


def test_fifo_at_the_path_is_refused_without_hanging(tmp_path: Path) -> None:
    """A FIFO with no reader neither blocks the open nor passes for a file."""
    path = tmp_path / "audit.jsonl"
    os.mkfifo(path)
    with pytest.raises(AuditError, match="FIFO, not a regular file"):
        AuditSink(str(path)).preflight()


def test_file_that_group_or_others_can_write_is_refused(tmp_path: Path) -> None:
    """Others able to write the log could truncate or rewrite it; refuse rather than append."""
    path = tmp_path / "audit.jsonl"
    path.write_bytes(b"")
    path.chmod(0o620)
    with pytest.raises(AuditError, match="mode 0620 lets group or others write it"):
        AuditSink(str(path)).preflight()


def test_hard_linked_file_is_refused_and_left_unchanged(tmp_path: Path) -> None:
    """A hard link planted at the path cannot send records into another file."""
    target = tmp_path / "precious"
    target.write_bytes(b"do not touch\n")
    target.chmod(0o600)
    path = tmp_path / "audit.jsonl"
    os.link(target, path)
    with pytest.raises(AuditError, match="2 hard links"):
        AuditSink(str(path)).append({"outcome": "ok"})
    assert target.read_bytes() == b"do not touch\n"


def _statvfs(*, blocks: int, bfree: int, bavail: int) -> os.statvfs_result:
    # (bsize, frsize, blocks, bfree, bavail, files, ffree, favail, flag, namemax)
    return os.statvfs_result((4096, 4096, blocks, bfree, bavail, 100, 50, 50, 0, 255))


def test_full_filesystem_is_refused_as_no_space_left_on_device() -> None:
    """preflight's space check fails closed when a record would not fit."""
    with pytest.raises(AuditError, match="no space left on device"):
        check_free_space(_statvfs(blocks=1000, bfree=3, bavail=0), path="a", privileged=False)


def test_space_reserved_for_root_counts_only_for_root() -> None:
    """Root may write into the reserved blocks; others may not."""
    vfs = _statvfs(blocks=100_000, bfree=5000, bavail=0)
    check_free_space(vfs, path="a", privileged=True)
    with pytest.raises(AuditError, match="no space left on device"):
        check_free_space(vfs, path="a", privileged=False)


def test_filesystem_reporting_no_sizes_is_left_to_the_write() -> None:
    """A virtual filesystem with zero total blocks is not refused for having zero free."""
    check_free_space(_statvfs(blocks=0, bfree=0, bavail=0), path="a", privileged=False)


@pytest.mark.parametrize("action", sorted(_ACTIONS))
def test_file_whose_last_record_has_no_chain_fields_is_refused(tmp_path: Path, action: str) -> None:
    """A record could not be chained, so preflight refuses before the attempt runs."""
    path = tmp_path / "audit.jsonl"
    path.write_bytes(b'{"seq":1,"outcome":"ok"}\n')
    path.chmod(0o600)
    with pytest.raises(AuditError, match="last record is damaged"):
        _ACTIONS[action](AuditSink(str(path)))
    assert path.read_bytes() == b'{"seq":1,"outcome":"ok"}\n'


@pytest.mark.parametrize("name", sorted(SINK_FIELDS))
def test_fields_may_not_set_seq_prev_or_mac(tmp_path: Path, name: str) -> None:
    """Only the sink numbers and links records; the file is not even opened."""
    path = tmp_path / "audit.jsonl"
    with pytest.raises(ValueError, match=name):
        AuditSink(str(path)).append({name: 1, "outcome": "ok"})
    assert not path.exists()


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"outcome": "ok", "duration_ms": float("nan")}, "'duration_ms'"),
        ({"host": {"argv": ["foo.py", "\udcff"]}}, "'host'"),
        ({"outcome": "ok", "reason": object()}, "'reason'"),
    ],
    ids=["nan", "lone-surrogate", "object"],
)
def test_field_without_a_json_form_fails_closed_naming_the_field(
    tmp_path: Path, fields: dict[str, object], named: str
) -> None:
    """A record that cannot be written raises AuditError and leaves the chain as it was."""
    path = tmp_path / "audit.jsonl"
    _append(path, 2)
    before = path.read_bytes()
    with pytest.raises(AuditError, match=named):
        AuditSink(str(path)).append(fields)
    assert path.read_bytes() == before


def test_empty_key_is_refused_rather_than_read_as_no_key(tmp_path: Path) -> None:
    """b"" is neither a key nor None; refusing it stops a silently unkeyed chain."""
    with pytest.raises(ValueError, match="empty"):
        AuditSink(str(tmp_path / "a"), key=b"")
    with pytest.raises(ValueError, match="empty"):
        verify_chain(str(tmp_path / "a"), key=b"")


_SHORT_WRITE = """
import resource, signal, sys
from safeprobe.audit.sink import AuditSink
from safeprobe.errors import AuditError
path, limit = sys.argv[1], int(sys.argv[2])
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
try:
    AuditSink(path).append({"outcome": "ok", "reason": "x" * 4096})
except AuditError as error:
    print(error.problem)
    sys.exit(3)
"""


@pytest.mark.slow
def test_write_cut_short_fails_closed_and_the_next_append_recovers(tmp_path: Path) -> None:
    """A real short write (file-size limit) raises AuditError; the torn line is then skipped."""
    path = tmp_path / "audit.jsonl"
    records = _append(path, 2)
    size = path.stat().st_size
    child = subprocess.run(
        [sys.executable, "-c", _SHORT_WRITE, str(path), str(size + 100)],
        env=_child_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert child.returncode == 3, child.stderr
    assert "file too large" in child.stdout
    assert path.stat().st_size == size + 100  # a torn prefix of the record is on disk
    assert verify_chain(str(path)).torn_tail

    third = AuditSink(str(path)).append({"outcome": "ok"})
    assert (third["seq"], third["prev"]) == (3, records[-1]["mac"])
    report = verify_chain(str(path))
    assert (report.records, report.head, report.torn_tail) == (3, third["mac"], False)
    assert report.torn_lines == (3,)


_APPENDER = """
import os, sys
from safeprobe.audit.sink import AuditSink
path, count, name, go = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
sink = AuditSink(path)
os.read(go, 1)  # end of file once the test closes the pipe: every writer starts at once
for i in range(count):
    sink.append({"outcome": "ok", "writer": name, "i": i})
"""


@pytest.mark.slow
def test_four_processes_appending_at_once_keep_one_intact_chain(tmp_path: Path) -> None:
    """4 processes x 50 appends give 200 records, seq 1..200, and a chain that verifies."""
    path = tmp_path / "audit.jsonl"
    go_read, go_write = os.pipe()
    try:
        writers = [
            subprocess.Popen(
                [sys.executable, "-c", _APPENDER, str(path), "50", f"w{n}", str(go_read)],
                env=_child_env(),
                pass_fds=(go_read,),
                stderr=subprocess.PIPE,
            )
            for n in range(4)
        ]
    finally:
        os.close(go_read)
        os.close(go_write)
    for writer in writers:
        _, err = writer.communicate(timeout=100)
        assert writer.returncode == 0, err
    report = verify_chain(str(path))
    assert (report.records, report.torn_tail) == (200, False)
    records = [json.loads(line) for line in _lines(path)]
    assert [r["seq"] for r in records] == list(range(1, 201))
    for n in range(4):
        assert [r["i"] for r in records if r["writer"] == f"w{n}"] == list(range(50))


# -- tampering ----------------------------------------------------------------------------


@pytest.fixture
def five(tmp_path: Path) -> tuple[Path, list[dict[str, object]]]:
    path = tmp_path / "audit.jsonl"
    return path, _append(path, 5)


def test_changed_byte_inside_a_record_is_reported_as_edited_on_its_line(
    five: tuple[Path, list[dict[str, object]]],
) -> None:
    """Changing a value leaves valid JSON whose mac no longer matches: "edited", that line."""
    path, _ = five
    lines = _lines(path)
    lines[2] = lines[2].replace(b'"outcome":"ok"', b'"outcome":"no"')
    path.write_bytes(b"".join(lines))
    error = _chain_error(path)
    assert (error.line, error.kind) == (3, "edited")
    assert "'mac'" in error.problem


def test_problem_text_never_quotes_record_contents(
    five: tuple[Path, list[dict[str, object]]],
) -> None:
    """Errors name the field, not the value, so they can go to stderr and logs."""
    path, _ = five
    lines = _lines(path)
    lines[1] = lines[1].replace(b"attempt 2", b"SECRET-ish")
    path.write_bytes(b"".join(lines))
    error = _chain_error(path)
    assert "SECRET" not in error.problem
    assert "attempt" not in error.problem


def test_deleted_line_is_reported_on_the_line_after_it(
    five: tuple[Path, list[dict[str, object]]],
) -> None:
    """Record 4 now on line 3 does not link to record 2: "broken-link" on line 3."""
    path, _ = five
    lines = _lines(path)
    del lines[2]
    path.write_bytes(b"".join(lines))
    error = _chain_error(path)
    assert (error.line, error.kind) == (3, "broken-link")


def test_deleted_first_line_is_reported_on_line_one(
    five: tuple[Path, list[dict[str, object]]],
) -> None:
    """A file must start from GENESIS; dropping the first record breaks line 1."""
    path, _ = five
    path.write_bytes(b"".join(_lines(path)[1:]))
    error = _chain_error(path)
    assert (error.line, error.kind) == (1, "broken-link")


@pytest.mark.parametrize(
    ("copied", "at", "kind"),
    [(1, 4, "reordered"), (3, 2, "broken-link"), (4, 5, "reordered")],
    ids=["older-copy-later", "newer-copy-earlier", "duplicate-right-after"],
)
def test_inserted_copy_of_a_line_is_reported_on_the_inserted_line(
    five: tuple[Path, list[dict[str, object]]], copied: int, at: int, kind: str
) -> None:
    """A replayed record fails where it was inserted (0-based copied, at: new index)."""
    path, _ = five
    lines = _lines(path)
    lines.insert(at, lines[copied])
    path.write_bytes(b"".join(lines))
    error = _chain_error(path)
    assert (error.line, error.kind) == (at + 1, kind)


def test_swapped_lines_are_reported_on_the_first_of_the_pair(
    five: tuple[Path, list[dict[str, object]]],
) -> None:
    """Records 3 and 2 in that order: line 2 does not link to record 1."""
    path, _ = five
    lines = _lines(path)
    lines[1], lines[2] = lines[2], lines[1]
    path.write_bytes(b"".join(lines))
    error = _chain_error(path)
    assert (error.line, error.kind) == (2, "broken-link")


def test_last_line_cut_mid_way_is_a_torn_tail_not_an_error(
    five: tuple[Path, list[dict[str, object]]],
) -> None:
    """A crash mid-write leaves a prefix: verify passes with the records before it."""
    path, records = five
    lines = _lines(path)
    lines[-1] = lines[-1][:40]
    path.write_bytes(b"".join(lines))
    report = verify_chain(str(path))
    assert report == ChainReport(
        str(path), 4, str(records[3]["mac"]), torn_tail=True, torn_lines=(5,)
    )


def test_whole_records_cut_from_the_end_are_caught_with_expect_head(
    five: tuple[Path, list[dict[str, object]]],
) -> None:
    """Dropping the newest records leaves a valid chain; a head kept elsewhere catches it."""
    path, records = five
    path.write_bytes(b"".join(_lines(path)[:3]))
    assert verify_chain(str(path)).records == 3
    error = _chain_error(path, expect_head=str(records[-1]["mac"]))
    assert (error.line, error.kind) == (4, "truncated")
    assert "removed" in error.problem


def test_expect_head_of_an_earlier_record_says_the_chain_goes_on(
    five: tuple[Path, list[dict[str, object]]],
) -> None:
    """A stale head is still a mismatch, and the problem says where that head is."""
    path, records = five
    error = _chain_error(path, expect_head=str(records[1]["mac"]))
    assert (error.line, error.kind) == (6, "truncated")
    assert "line 2" in error.problem


def test_expect_head_that_matches_verifies(five: tuple[Path, list[dict[str, object]]]) -> None:
    """The head the writer last returned verifies the whole file."""
    path, records = five
    assert verify_chain(str(path), expect_head=str(records[-1]["mac"])).records == 5


def test_rewritten_chain_with_a_seq_gap_is_reported_as_gap(tmp_path: Path) -> None:
    """Links recomputed by a keyless forger but seq skipping a number: "gap"."""
    path = tmp_path / "audit.jsonl"
    path.write_bytes(_rechain([{"seq": 1}, {"seq": 2}, {"seq": 4}]))
    error = _chain_error(path)
    assert (error.line, error.kind) == (3, "gap")


def test_rewritten_chain_with_seq_going_backwards_is_reported_as_reordered(
    tmp_path: Path,
) -> None:
    """Links recomputed but seq going back: "reordered"."""
    path = tmp_path / "audit.jsonl"
    path.write_bytes(_rechain([{"seq": 1}, {"seq": 2}, {"seq": 3}, {"seq": 2}]))
    error = _chain_error(path)
    assert (error.line, error.kind) == (4, "reordered")


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (b'"outcome":"ok"', b'"outcome": "ok"'),
        (b'"outcome":"ok"', b'"outcome":"denied","outcome":"ok"'),
        (b"caf\xc3\xa9", b"caf\\u00e9"),
        (b"\\u001f", b"\\u001F"),
        (b"\\t", b"\\u0009"),
    ],
    ids=["spacing", "duplicate-key", "escaped-letter", "hex-case", "escape-form"],
)
def test_same_json_written_differently_is_reported_as_edited(
    five: tuple[Path, list[dict[str, object]]], old: bytes, new: bytes
) -> None:
    """Equal JSON in other bytes still fails: readers disagree on duplicate keys."""
    path, _ = five
    lines = _lines(path)
    assert old in lines[1]
    lines[1] = lines[1].replace(old, new, 1)
    path.write_bytes(b"".join(lines))
    error = _chain_error(path)
    assert (error.line, error.kind) == (2, "edited")
    assert "byte for byte" in error.problem


def test_lone_surrogate_escape_is_reported_as_edited(
    five: tuple[Path, list[dict[str, object]]],
) -> None:
    """JSON can escape text that has no UTF-8 form; the sink never writes it."""
    path, _ = five
    lines = _lines(path)
    lines[1] = lines[1].replace(b'"outcome":"ok"', b'"outcome":"\\ud800"')
    path.write_bytes(b"".join(lines))
    error = _chain_error(path)
    assert (error.line, error.kind) == (2, "edited")


@pytest.mark.parametrize("junk", [b"not json\n", b"[1, 2]\n", b"\n", b"\xff\xfe\n"])
def test_line_that_is_not_a_record_in_the_middle_is_unparseable(
    five: tuple[Path, list[dict[str, object]]], junk: bytes
) -> None:
    """A record replaced by junk is not a torn write: the next record does not chain past it."""
    path, _ = five
    lines = _lines(path)
    lines[2] = junk
    path.write_bytes(b"".join(lines))
    error = _chain_error(path)
    assert (error.line, error.kind) == (3, "unparseable")


def test_empty_file_is_a_valid_log_of_no_records(tmp_path: Path) -> None:
    """Zero records, head GENESIS, nothing torn."""
    path = tmp_path / "audit.jsonl"
    path.write_bytes(b"")
    assert verify_chain(str(path)) == ChainReport(str(path), 0, GENESIS, torn_tail=False)


@pytest.mark.parametrize("make", ["missing", "symlink", "directory"])
def test_file_that_cannot_be_read_never_verifies(tmp_path: Path, make: str) -> None:
    """A wrong path fails as "unreadable" instead of passing as an empty log."""
    path = tmp_path / "audit.jsonl"
    if make == "symlink":
        _append(tmp_path / "real.jsonl", 1)
        path.symlink_to(tmp_path / "real.jsonl")
    elif make == "directory":
        path.mkdir()
    error = _chain_error(path)
    assert (error.line, error.kind) == (0, "unreadable")


def test_line_over_the_record_cap_is_unparseable() -> None:
    """The verifier holds at most one capped line in memory."""
    with pytest.raises(AuditChainError) as caught:
        verify_lines([b"x" * (MAX_RECORD_BYTES + 1)], path="a")
    assert (caught.value.line, caught.value.kind) == (1, "unparseable")


# -- keyed chains -------------------------------------------------------------------------


def test_keyed_chain_verifies_with_its_key(tmp_path: Path) -> None:
    """HMAC-chained records verify under the key that wrote them."""
    path = tmp_path / "audit.jsonl"
    records = _append(path, 4, key=KEY)
    assert verify_chain(str(path), key=KEY).head == records[-1]["mac"]


@pytest.mark.parametrize(
    ("written_with", "checked_with", "kind"),
    [(KEY, b"wrong key", "bad-mac"), (KEY, None, "edited"), (None, KEY, "bad-mac")],
    ids=["wrong-key", "keyed-file-no-key", "plain-file-with-key"],
)
def test_chain_checked_with_another_key_fails_on_line_one(
    tmp_path: Path, written_with: bytes | None, checked_with: bytes | None, kind: str
) -> None:
    """The mac only verifies under the key (or absence of one) that wrote it."""
    path = tmp_path / "audit.jsonl"
    _append(path, 3, key=written_with)
    error = _chain_error(path, key=checked_with)
    assert (error.line, error.kind) == (1, kind)


def test_edit_to_a_keyed_record_is_reported_as_bad_mac(tmp_path: Path) -> None:
    """With a key, an edited record fails as "bad-mac" on its line."""
    path = tmp_path / "audit.jsonl"
    _append(path, 3, key=KEY)
    lines = _lines(path)
    lines[1] = lines[1].replace(b'"outcome":"ok"', b'"outcome":"no"')
    path.write_bytes(b"".join(lines))
    error = _chain_error(path, key=KEY)
    assert (error.line, error.kind) == (2, "bad-mac")


def test_keyless_forger_cannot_rechain_a_keyed_file(tmp_path: Path) -> None:
    """Recomputing links without the key fails at the first forged record."""
    path = tmp_path / "audit.jsonl"
    records = _append(path, 3, key=KEY)
    forged = [dict(r) for r in records]
    forged[1]["outcome"] = "denied"
    path.write_bytes(_rechain(forged))
    error = _chain_error(path, key=KEY)
    assert (error.line, error.kind) == (1, "bad-mac")


# -- torn writes and recovery ------------------------------------------------------------


def test_append_after_a_torn_tail_starts_a_new_line_and_the_chain_verifies(
    five: tuple[Path, list[dict[str, object]]],
) -> None:
    """The new record chains to the last whole one; the torn line is listed, not an error."""
    path, records = five
    with path.open("ab") as file:
        file.write(record_line({"seq": 6, "outcome": "ok", "prev": GENESIS})[:30])
    assert verify_chain(str(path)).torn_tail
    sixth = AuditSink(str(path)).append({"outcome": "ok"})
    assert (sixth["seq"], sixth["prev"]) == (6, records[-1]["mac"])
    lines = _lines(path)
    assert len(lines) == 7
    assert json.loads(lines[-1]) == sixth
    report = verify_chain(str(path))
    assert (report.records, report.head) == (6, sixth["mac"])
    assert (report.torn_tail, report.torn_lines) == (False, (6,))


def test_torn_line_ending_in_a_newline_is_skipped_by_append_and_verify(
    five: tuple[Path, list[dict[str, object]]],
) -> None:
    """A torn prefix followed by only a newline is still torn, at the end or mid-file."""
    path, records = five
    with path.open("ab") as file:
        file.write(b'{"seq":6,"outc\n')
    assert verify_chain(str(path)).torn_lines == (6,)
    sixth = AuditSink(str(path)).append({"outcome": "ok"})
    assert sixth["prev"] == records[-1]["mac"]
    assert len(_lines(path)) == 7
    assert verify_chain(str(path)).records == 6


def test_record_that_lost_only_its_newline_still_counts_and_is_chained_to(
    five: tuple[Path, list[dict[str, object]]],
) -> None:
    """A whole record without its newline is a record to both verify and append."""
    path, records = five
    path.write_bytes(path.read_bytes().removesuffix(b"\n"))
    assert verify_chain(str(path)) == ChainReport(
        str(path), 5, str(records[-1]["mac"]), torn_tail=False
    )
    sixth = AuditSink(str(path)).append({"outcome": "ok"})
    assert (sixth["seq"], sixth["prev"]) == (6, records[-1]["mac"])
    assert len(_lines(path)) == 6
    assert verify_chain(str(path)).records == 6


@pytest.mark.parametrize("torn_bytes", [0, 70_000, 200_000])
def test_last_record_larger_than_a_read_chunk_is_found_behind_any_torn_tail(
    tmp_path: Path, torn_bytes: int
) -> None:
    """append reads back from the end in chunks; records and torn lines may span several."""
    path = tmp_path / "audit.jsonl"
    sink = AuditSink(str(path), fsync=False)
    sink.append({"outcome": "ok"})
    big = sink.append({"outcome": "ok", "reason": "r" * 150_000})
    with path.open("ab") as file:
        file.write(b'{"seq":3,"reason":"' + b"t" * torn_bytes)
    third = sink.append({"outcome": "ok"})
    assert (third["seq"], third["prev"]) == (3, big["mac"])
    assert verify_chain(str(path)).records == 3


def test_torn_line_followed_by_a_record_that_does_not_chain_past_it_is_unparseable(
    five: tuple[Path, list[dict[str, object]]],
) -> None:
    """Replacing a record with a torn-looking prefix is reported on that line."""
    path, _ = five
    lines = _lines(path)
    lines[2] = lines[2][:30] + b"\n"
    path.write_bytes(b"".join(lines))
    error = _chain_error(path)
    assert (error.line, error.kind) == (3, "unparseable")


# -- any changed byte ---------------------------------------------------------------------

_CHAIN_RECORDS: int = 4


@pytest.fixture(scope="module")
def small_chain(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, list[str]]:
    path = tmp_path_factory.mktemp("chain") / "audit.jsonl"
    records = _append(path, _CHAIN_RECORDS)
    return path.read_bytes(), [str(r["mac"]) for r in records]


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("scratch") / "audit.jsonl"


@settings(max_examples=400, deadline=None)
@given(data=st.data())
def test_any_changed_byte_is_named_at_its_line_or_leaves_a_torn_tail(
    small_chain: tuple[bytes, list[str]], scratch: Path, data: st.DataObject
) -> None:
    """One changed byte makes verify fail on its line or earlier, or, only when the byte
    is in the last record or in the newline before it and the result no longer parses,
    pass with torn_tail=True and exactly the records before that line."""
    original, macs = small_chain
    position = data.draw(st.integers(0, len(original) - 1), label="position")
    delta = data.draw(st.integers(1, 255), label="delta")
    mutated = bytearray(original)
    mutated[position] = (mutated[position] + delta) % 256
    scratch.write_bytes(bytes(mutated))
    changed_line = original[:position].count(b"\n")  # 0-based; a newline ends its line
    try:
        report = verify_chain(str(scratch))
    except AuditChainError as caught:
        error_line: int | None = caught.line
    else:
        error_line = None
    if error_line is not None:
        assert 1 <= error_line <= changed_line + 1
        return
    assert changed_line >= _CHAIN_RECORDS - 2
    assert report.torn_tail
    assert report.records == changed_line
    assert report.head == (macs[changed_line - 1] if changed_line else GENESIS)


# -- key files ----------------------------------------------------------------------------


def _key_file(tmp_path: Path, content: bytes, mode: int = 0o600) -> Path:
    path = tmp_path / "audit.key"
    path.write_bytes(content)
    path.chmod(mode)
    return path


@pytest.mark.parametrize(
    ("content", "key"),
    [(b"s3cret-key\n", b"s3cret-key"), (b"s3cret-key\r\n", b"s3cret-key"), (b"k\n\n", b"k\n")],
)
def test_key_file_loses_one_trailing_newline(tmp_path: Path, content: bytes, key: bytes) -> None:
    """An editor's final newline is not part of the key; anything else is."""
    assert load_hmac_key(str(_key_file(tmp_path, content))) == key


@pytest.mark.parametrize("content", [b"", b"\n"])
def test_empty_key_file_is_refused(tmp_path: Path, content: bytes) -> None:
    """An empty key would make a keyed chain no safer than a plain one."""
    with pytest.raises(AuditError, match="empty"):
        load_hmac_key(str(_key_file(tmp_path, content)))


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o620])
def test_key_file_that_group_or_others_can_access_is_refused(tmp_path: Path, mode: int) -> None:
    """Whoever can read the key can forge records; whoever can write it can swap it."""
    with pytest.raises(AuditError, match="group or others"):
        load_hmac_key(str(_key_file(tmp_path, b"k\n", mode)))


def test_key_file_reached_through_a_symlink_is_refused(tmp_path: Path) -> None:
    """The key is never read through a symlink at the path."""
    link = tmp_path / "link.key"
    link.symlink_to(_key_file(tmp_path, b"k\n"))
    with pytest.raises(AuditError, match="is a symlink"):
        load_hmac_key(str(link))


@pytest.mark.parametrize("make", ["missing", "directory"])
def test_key_path_that_is_not_a_file_is_refused(tmp_path: Path, make: str) -> None:
    """A missing key file or a directory fails loudly."""
    path = tmp_path / "audit.key"
    if make == "directory":
        path.mkdir(mode=0o700)
    with pytest.raises(AuditError, match="no such file" if make == "missing" else "directory"):
        load_hmac_key(str(path))


def test_a_record_over_the_cap_is_written_with_its_output_text_cut(tmp_path: Path) -> None:
    """Output text whose JSON escapes (6 bytes per control byte) pass the record cap is cut
    to fit, and the record says so beside the full output's byte count and digest."""
    data = b"\x01" * (3 * 1024 * 1024)
    fields = {
        **_fields(1),
        "output": {
            "bytes": len(data),
            "digest": output_digest(data, None),
            "truncated": False,
            "text": data.decode(),
        },
    }
    path = tmp_path / "audit.jsonl"
    record = AuditSink(str(path), fsync=False).append(fields)
    [line] = _lines(path)
    assert len(line) <= MAX_RECORD_BYTES
    output = record["output"]
    assert isinstance(output, dict)
    assert output["bytes"] == len(data)
    assert output["digest"] == output_digest(data, None)
    assert output["text_cut"] is True
    text = output["text"]
    assert isinstance(text, str)
    assert 0 < len(text) < len(data)
    assert data.decode().startswith(text)
    verify_chain(str(path))


@pytest.mark.parametrize("text", [b"version: 1\nname: x\n", b"import os\n", b"\n\n", b"[1, 2]\n"])
def test_a_file_with_no_record_and_a_whole_line_is_not_an_audit_log(text: bytes) -> None:
    """A policy or a script handed to verify is refused, not reported as a chain of 0."""
    with pytest.raises(AuditChainError, match="not an audit log") as caught:
        verify_lines(text.splitlines(keepends=True), path="p.yaml")
    assert (caught.value.line, caught.value.kind) == (1, "not-a-log")


@pytest.mark.parametrize("text", [b"", b'{"seq": 1, "ts": "2026-'])
def test_an_empty_log_or_one_torn_first_write_still_verifies(text: bytes) -> None:
    """A fresh log, or one whose first write was cut by a crash, is a log with 0 records."""
    report = verify_lines(text.splitlines(keepends=True), path="audit.jsonl")
    assert (report.records, report.head) == (0, GENESIS)
