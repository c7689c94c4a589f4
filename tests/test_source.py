"""Reading probe files: every check runs on the open descriptor and names its rule."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from safeprobe.errors import ProbeRejected
from safeprobe.host.source import allowed_owner_uids, read_probe


def _probe(tmp_path: Path, text: str = "print(1)\n", mode: int = 0o644) -> Path:
    path = tmp_path / "probe.py"
    path.write_text(text)
    path.chmod(mode)
    return path


def test_reads_text_digest_size_owner_and_mode(tmp_path: Path) -> None:
    """read_probe returns the text with its digest, size, owner and mode."""
    path = _probe(tmp_path)
    source = read_probe(str(path))
    assert source.text == "print(1)\n"
    assert source.sha256 == hashlib.sha256(b"print(1)\n").hexdigest()
    assert (source.size_bytes, source.owner_uid, source.mode) == (9, os.geteuid(), 0o644)


@pytest.mark.parametrize(
    ("setup", "rule"),
    [
        (lambda p: p.unlink(), "missing"),
        (lambda p: (p.unlink(), p.mkdir()), "file-type"),
        (lambda p: p.chmod(0o664), "mode"),
        (lambda p: p.chmod(0o646), "mode"),
        (lambda p: p.write_bytes(b"\xff\xfe"), "encoding"),
        (lambda p: p.write_text("#" * 300_000), "size"),
    ],
)
def test_refusals_name_their_rule(tmp_path: Path, setup, rule: str) -> None:
    """Each refused probe file raises ProbeRejected naming its rule and its path."""
    path = _probe(tmp_path)
    setup(path)
    with pytest.raises(ProbeRejected) as info:
        read_probe(str(path))
    assert info.value.rule == rule
    assert str(path) in str(info.value)


def test_symlink_is_refused_even_to_a_good_file(tmp_path: Path) -> None:
    """A symlink is refused even when it points at a good probe file."""
    real = _probe(tmp_path)
    link = tmp_path / "link.py"
    link.symlink_to(real)
    with pytest.raises(ProbeRejected, match="symlink"):
        read_probe(str(link))


def test_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    """A FIFO at the probe path is refused by file type, without blocking."""
    fifo = tmp_path / "fifo.py"
    os.mkfifo(fifo)
    with pytest.raises(ProbeRejected, match="file-type"):
        read_probe(str(fifo))


def test_owner_not_in_policy_is_refused(tmp_path: Path) -> None:
    """A probe file whose owner the policy does not list is refused."""
    path = _probe(tmp_path)
    with pytest.raises(ProbeRejected, match="owner"):
        read_probe(str(path), owners=("no-such-user-xyz",))


def test_sha256_pins_refuse_other_content(tmp_path: Path) -> None:
    """A file matching a sha256 pin is read, and one matching none is refused."""
    path = _probe(tmp_path)
    good = hashlib.sha256(b"print(1)\n").hexdigest()
    assert read_probe(str(path), sha256_pins=(good,)).sha256 == good
    with pytest.raises(ProbeRejected, match="sha256"):
        read_probe(str(path), sha256_pins=("0" * 64,))


@pytest.mark.parametrize("mode", [0o664, 0o666])
def test_a_pinned_probe_may_be_writable_by_group_or_others(tmp_path: Path, mode: int) -> None:
    """With pins, who can write the file no longer decides what runs: the pinned content
    runs (a wheel installed under umask 002 leaves files 0664), any other is refused."""
    path = _probe(tmp_path, mode=mode)
    good = hashlib.sha256(b"print(1)\n").hexdigest()
    assert read_probe(str(path), sha256_pins=(good,)).mode == mode
    path.write_text("print(2)\n")
    with pytest.raises(ProbeRejected) as info:
        read_probe(str(path), sha256_pins=(good,))
    assert info.value.rule == "sha256"
    with pytest.raises(ProbeRejected) as unpinned:
        read_probe(str(path))
    assert unpinned.value.rule == "mode"


def test_owner_names_map_to_uids() -> None:
    """Owner names, "current" and numeric uids map to the uids they name."""
    assert allowed_owner_uids(("root", "current", "12345"), current_uid=777) == frozenset(
        {0, 777, 12345}
    )
