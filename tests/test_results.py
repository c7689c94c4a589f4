"""Result files (output: file): created new, 0600, never through a symlink, pruned."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from safeprobe.results import KEEP_PER_HOST, ResultFileError, read_result, write_result


def test_a_result_file_is_new_and_private(tmp_path: Path) -> None:
    folder = tmp_path / "results"
    path = write_result(str(folder), 42, 7, "héllo\n")
    assert path == str(folder / "42-7.txt")
    assert (folder.stat().st_mode & 0o777, Path(path).stat().st_mode & 0o777) == (0o700, 0o600)
    assert read_result(path) == "héllo\n"
    with pytest.raises(ResultFileError, match="File exists"):
        write_result(str(folder), 42, 7, "again")
    assert read_result(path) == "héllo\n"


def test_a_symlink_planted_at_the_name_or_as_the_folder_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "results"
    folder.mkdir(mode=0o700)
    victim = tmp_path / "victim"
    victim.write_text("keep")
    (folder / "1-1.txt").symlink_to(victim)
    with pytest.raises(ResultFileError):
        write_result(str(folder), 1, 1, "x")
    linked = tmp_path / "linked"
    linked.symlink_to(folder)
    with pytest.raises(ResultFileError, match="result folder"):
        write_result(str(linked), 1, 2, "x")
    assert victim.read_text() == "keep"


def test_a_folder_others_can_write_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "results"
    folder.mkdir()
    folder.chmod(0o777)
    with pytest.raises(ResultFileError, match="writable by group or others"):
        write_result(str(folder), 1, 1, "x")


def test_each_host_keeps_its_newest_files_and_leaves_others_alone(tmp_path: Path) -> None:
    folder = tmp_path / "results"
    write_result(str(folder), 99, 1, "another host's")
    for seq in range(2, KEEP_PER_HOST + 12):
        write_result(str(folder), 5, seq, str(seq))
    mine = sorted(int(p.stem.split("-")[1]) for p in folder.glob("5-*.txt"))
    assert mine == list(range(12, KEEP_PER_HOST + 12))
    assert (folder / "99-1.txt").exists()
    assert os.listdir(folder).count("99-1.txt") == 1
