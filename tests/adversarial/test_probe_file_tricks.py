"""Technique: attack the runner through the probe *file* rather than its code: replace it
with a FIFO (an ``open`` that blocks the runner thread forever), a symlink to a host file
(``/etc/passwd``, the audit log), a directory, a group/world-writable file, a file over the
size cap, non-UTF-8 bytes, an encoding cookie that re-decodes the text, NUL bytes.
Source: CWE-59 (link following) and CWE-367 (TOCTOU) as applied to config/probe loaders;
the original ``reload(bar)`` SIGQUIT trick this project replaces (DESIGN.md)."""

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.adversarial.conftest import CANARY
from tests.harness import Host


def _fifo(path: Path) -> None:
    path.unlink()
    os.mkfifo(path, 0o644)


def _symlink_passwd(path: Path) -> None:
    path.unlink()
    path.symlink_to("/etc/passwd")


def _symlink_audit(path: Path) -> None:
    path.unlink()
    path.symlink_to(path.parent / "audit.jsonl")


def _directory(path: Path) -> None:
    path.unlink()
    path.mkdir()


def _world_writable(path: Path) -> None:
    path.chmod(0o666)


def _too_big(path: Path) -> None:
    path.write_text("x = 1\n" * 100_000, encoding="utf-8")
    path.chmod(0o644)


def _latin1(path: Path) -> None:
    path.write_bytes(b"print('\xff')\n")


def _utf7_cookie(path: Path) -> None:
    # Under utf-7 this would decode to an import; as UTF-8 text it is a comment and a string.
    path.write_bytes(b"# -*- coding: utf-7 -*-\nx = '+AAo-import os'\n")


def _nul(path: Path) -> None:
    path.write_bytes(b"x = 1\x00\nprint(x)\n")


TRICKS: list[Callable[[Path], None]] = [
    _fifo,
    _symlink_passwd,
    _symlink_audit,
    _directory,
    _world_writable,
    _too_big,
    _latin1,
    _utf7_cookie,
    _nul,
]


@pytest.mark.parametrize("trick", TRICKS, ids=lambda t: t.__name__.lstrip("_"))
def test_probe_file_tricks_are_refused(make_host: Callable[..., Host], trick) -> None:
    """A tampered probe file leaks nothing, and only the utf-7 cookie runs, as plain text."""
    host = make_host("print('placeholder')")
    digest = host.ask("digest")
    trick(host.probe_path)
    record = host.probe()
    report = host.report(record["seq"])
    assert record["outcome"] in ("rejected", "compile_error", "ok"), record["reason"]
    assert "root:x:0:0" not in report
    assert CANARY not in report
    assert host.alive()
    assert host.ask("digest") == digest
    assert len(host.records()) == 1
    if record["outcome"] == "ok":  # only the utf-7 cookie may run, as plain UTF-8 text
        assert trick is _utf7_cookie
