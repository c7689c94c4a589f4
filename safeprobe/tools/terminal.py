"""Text from a host, made safe for the operator's terminal.

Everything ``safeprobe trigger`` shows that the host wrote (the probe's output, the audit
record's fields, the stuck-host dump, an announcement's policy path in an error) is the
host's text, and the host's user may be hostile to the operator, who often runs the command
as root. Promise: ``terminal_text`` lets through printable characters, newlines and tabs
only; every other control character (C0, DEL, C1: escape sequences, the 8-bit CSI, a
carriage return that overwrites a line) and every invisible format character (bidi overrides
and isolates, zero-width characters: Trojan Source) is shown as its Python escape, so the
operator sees that it was there and the terminal never acts on it. ``indented`` puts a margin
before every line of such text, so no line of it can pass for one of the command's own
(a '== worker PID ==' heading). Pure; imports nothing of safeprobe.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

_KEPT: Final = frozenset("\n\t")
# Categories a terminal may act on or that show nothing: controls, format characters (bidi,
# zero-width), line and paragraph separators, surrogates, private use, unassigned.
_ESCAPED_CATEGORIES: Final = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"})
_ASCII_SAFE: Final = re.compile(r"[\t\n\x20-\x7e]*")


def terminal_text(text: str) -> str:
    """``text`` with every character a terminal could act on shown as its escape. Pure."""
    if _ASCII_SAFE.fullmatch(text):
        return text
    return text.translate(_TABLE)


class _Shown(dict[int, str]):
    """str.translate's table, filled on first sight of each code point (a host's output of
    16 MiB costs one C lookup a character, not a Python call)."""

    def __missing__(self, code: int) -> str:
        char = chr(code)
        shown = char
        if char not in _KEPT and unicodedata.category(char) in _ESCAPED_CATEGORIES:
            shown = char.encode("unicode_escape").decode("ascii")
        if len(self) < _TABLE_CAP:
            self[code] = shown
        return shown


_TABLE_CAP: Final = 65536  # distinct code points remembered; past it, looked up each time
_TABLE: Final = _Shown()


def indented(text: str, margin: str) -> str:
    """``text`` (already terminal_text) with ``margin`` before each line. Pure."""
    if not margin:
        return text
    return "".join(margin + line for line in text.splitlines(keepends=True))
