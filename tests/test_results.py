"""Result files (output: file): created new, 0600, never through a symlink, pruned."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from safeprobe.errors import ResultFileError
from safeprobe.host.results import KEEP_PER_HOST, read_result, write_result

MAC = "0123456789abcdef" * 4


def _read(path: str) -> str:
    return read_result(path, owner=os.getuid(), max_bytes=1024)


def test_a_result_file_is_new_and_private(tmp_path: Path) -> None:
    """A result file is private in a private folder, and an existing one is never overwritten."""
    folder = tmp_path / "results"
    path = write_result(str(folder), 42, 7, MAC, "héllo\n")
    assert path == str(folder / "42-7-0123456789abcdef.txt")
    assert (folder.stat().st_mode & 0o777, Path(path).stat().st_mode & 0o777) == (0o700, 0o600)
    assert _read(path) == "héllo\n"
    with pytest.raises(ResultFileError, match="File exists"):
        write_result(str(folder), 42, 7, MAC, "again")
    assert _read(path) == "héllo\n"


def test_a_symlink_planted_at_the_name_or_as_the_folder_is_refused(tmp_path: Path) -> None:
    """A symlink planted at the file's name or as the folder is refused, and its target is kept."""
    folder = tmp_path / "results"
    folder.mkdir(mode=0o700)
    victim = tmp_path / "victim"
    victim.write_text("keep")
    (folder / "1-1-0123456789abcdef.txt").symlink_to(victim)
    with pytest.raises(ResultFileError):
        write_result(str(folder), 1, 1, MAC, "x")
    linked = tmp_path / "linked"
    linked.symlink_to(folder)
    with pytest.raises(ResultFileError, match="result folder"):
        write_result(str(linked), 1, 2, MAC, "x")
    assert victim.read_text() == "keep"


def test_a_folder_others_can_write_is_refused(tmp_path: Path) -> None:
    """A result folder others can write is refused as not ours alone."""
    folder = tmp_path / "results"
    folder.mkdir()
    folder.chmod(0o777)
    with pytest.raises(ResultFileError, match="not ours alone"):
        write_result(str(folder), 1, 1, MAC, "x")


def test_each_host_keeps_its_newest_files_and_leaves_others_alone(tmp_path: Path) -> None:
    """Each host keeps only its newest result files, and other hosts' files are left alone."""
    folder = tmp_path / "results"
    write_result(str(folder), 99, 1, MAC, "another host's")
    for seq in range(2, KEEP_PER_HOST + 12):
        write_result(str(folder), 5, seq, MAC, str(seq))
    mine = sorted(int(p.stem.split("-")[1]) for p in folder.glob("5-*.txt"))
    assert mine == list(range(12, KEEP_PER_HOST + 12))
    assert (folder / "99-1-0123456789abcdef.txt").exists()


def test_reading_refuses_what_the_host_did_not_write(tmp_path: Path) -> None:
    """Another owner, a FIFO (which would hang a reader), a hard link, an oversized file."""
    path = write_result(str(tmp_path / "r"), 1, 1, MAC, "x" * 100)
    with pytest.raises(ResultFileError, match="larger"):
        read_result(path, owner=os.getuid(), max_bytes=10)
    os.link(path, tmp_path / "second-link")
    with pytest.raises(PermissionError, match="not a result file"):
        _read(path)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(PermissionError, match="not a result file"):
        _read(str(fifo))


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give the file away")
def test_a_file_owned_by_a_third_user_is_refused(tmp_path: Path) -> None:
    """Reading a result file owned by neither us nor the expected owner is refused."""
    path = write_result(str(tmp_path / "r"), 1, 1, MAC, "planted")
    os.chown(path, 65534, 65534)
    with pytest.raises(PermissionError, match="not a result file"):
        read_result(path, owner=1234, max_bytes=1024)
    assert read_result(path, owner=65534, max_bytes=1024) == "planted"


def test_after_a_rotation_the_file_just_written_is_never_pruned(tmp_path: Path) -> None:
    """seq starts again at 1 after the audit log is rotated: pruning goes by time written,
    so the new #1 stays and the oldest files of the earlier chain go."""
    folder = tmp_path / "results"
    old_mac = "f" * 64
    for seq in range(1, KEEP_PER_HOST + 51):
        write_result(str(folder), 5, seq, old_mac, "old")
    path = write_result(str(folder), 5, 1, MAC, "after rotation")
    assert _read(path) == "after rotation"
    assert len(list(folder.glob("5-*.txt"))) == KEEP_PER_HOST
    assert not (folder / f"5-1-{old_mac[:16]}.txt").exists()
