"""safeprobe run's program lookup: a script path, a Python console script on PATH, or a
module; anything else is refused before anything is installed."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from safeprobe.errors import ProgramNotFound
from safeprobe.host.launcher import find_script


def _script(folder: Path, name: str, first_line: str) -> Path:
    path = folder / name
    path.write_text(f"{first_line}\nprint('hi')\n", encoding="utf-8")
    path.chmod(0o755)
    return path


def test_a_python_console_script_on_path_is_found_by_its_bare_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`safeprobe run -- gunicorn …` runs the gunicorn script PATH names, as a shell would."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = _script(bin_dir, "served", "#!/opt/venv/bin/python3.11")
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.chdir(tmp_path)
    assert find_script("served") == str(script)


def test_a_file_in_the_working_directory_wins_over_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A name that is a file here means that file, as `python NAME` would take it."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _script(bin_dir, "app.py", "#!/usr/bin/env python3")
    here = _script(tmp_path, "app.py", "# no shebang")
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.chdir(tmp_path)
    assert Path(find_script("app.py")).resolve() == here


@pytest.mark.parametrize("first_line", ["#!/bin/sh", "\x7fELF\x02\x01\x01"])
def test_a_program_on_path_that_is_not_python_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, first_line: str
) -> None:
    """A shell script or binary on PATH is not run as Python: it is named and refused."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _script(bin_dir, "tool", first_line)
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ProgramNotFound, match="not a Python script"):
        find_script("tool")


def test_a_name_with_a_slash_is_never_looked_up_on_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """./served is the file here or nothing: PATH is for bare names only."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _script(bin_dir, "served", "#!/usr/bin/python3")
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ProgramNotFound, match="no such script"):
        find_script("./served")


# ---- red15: making `safeprobe run -- NAME` run something other than the intended program --
# Technique: search-path hijacking (CWE-426, CWE-427): a program found relative to the
# working directory or planted by another user; Go 1.19 stopped os/exec.LookPath from
# returning results relative to the current directory for this reason ("exec.ErrDot",
# https://go.dev/blog/path-security).

OTHER_UID = 65534  # nobody: another local user, hostile to the operator


def test_a_script_another_user_planted_here_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file named like the program but owned by another user is never run (it could be
    anyone's upload in a shared directory); the operator's own and root's are."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _script(bin_dir, "served", "#!/usr/bin/python3")
    planted = _script(tmp_path, "served", "#!/usr/bin/python3")
    os.chown(planted, OTHER_UID, OTHER_UID)
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ProgramNotFound, match="owned by uid 65534"):
        find_script("served")


def test_a_script_on_path_owned_by_another_user_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PATH's answer is run only when the operator or root owns it."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    os.chown(_script(bin_dir, "served", "#!/usr/bin/python3"), OTHER_UID, OTHER_UID)
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ProgramNotFound, match="owned by uid 65534"):
        find_script("served")


def test_a_script_anyone_may_rewrite_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A script others may write, or in a folder where others may swap it, is not run."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = _script(bin_dir, "served", "#!/usr/bin/python3")
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.chdir(tmp_path)
    script.chmod(0o757)
    with pytest.raises(ProgramNotFound, match="others may write it"):
        find_script("served")
    script.chmod(0o755)
    bin_dir.chmod(0o777)
    with pytest.raises(ProgramNotFound, match="others may write it"):
        find_script("served")
    bin_dir.chmod(0o1777)  # sticky, as /tmp: others cannot replace our file
    assert find_script("served") == str(script)


@pytest.mark.parametrize("entry", ["bin", "./bin", "sub/../bin"])
def test_a_path_entry_relative_to_the_working_directory_is_not_searched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, entry: str
) -> None:
    """A bare name is never found through a relative PATH entry: what it finds depends on
    where the command happens to be run (a file here is the name-here rule, as `python NAME`)."""
    (tmp_path / "bin").mkdir()
    (tmp_path / "sub").mkdir()
    _script(tmp_path / "bin", "served", "#!/usr/bin/python3")
    monkeypatch.setenv("PATH", entry)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ProgramNotFound, match="no such script"):
        find_script("served")


@pytest.mark.parametrize(
    "first_line",
    ["#!/bin/sh python", "#!/opt/notpython/bin/bash", "#!/usr/bin/env bash # python3"],
)
def test_a_shebang_that_only_mentions_python_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, first_line: str
) -> None:
    """Only a #! line whose interpreter is python (directly or through env) makes a Python script."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _script(bin_dir, "tool", first_line)
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ProgramNotFound, match="not a Python script"):
        find_script("tool")


@pytest.mark.parametrize(
    "first_line",
    ["#!/usr/bin/env python3", "#!/usr/bin/env -S python3 -u", "#! /srv/v/bin/python3.11 -E"],
)
def test_python_shebangs_are_recognised(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, first_line: str
) -> None:
    """Console scripts as pip and distributions write them are found."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = _script(bin_dir, "tool", first_line)
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.chdir(tmp_path)
    assert find_script("tool") == str(script)


def test_a_fifo_on_path_is_refused_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An executable FIFO on PATH is no script: refused, never waited on."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fifo = bin_dir / "tool"
    os.mkfifo(fifo, 0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.chdir(tmp_path)
    raised: list[BaseException] = []

    def find() -> None:
        try:
            find_script("tool")
        except BaseException as exc:
            raised.append(exc)

    finder = threading.Thread(target=find, daemon=True)
    finder.start()
    finder.join(timeout=5)
    if finder.is_alive():
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        finder.join(timeout=5)
        pytest.fail("find_script waited on a FIFO")
    assert len(raised) == 1, raised
    assert isinstance(raised[0], ProgramNotFound), raised
