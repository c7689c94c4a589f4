"""safeprobe run's program lookup: a script path, a Python console script on PATH, or a
module; anything else is refused before anything is installed."""

from __future__ import annotations

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
