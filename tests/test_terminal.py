"""tools/terminal.py: the host's text as the operator's terminal may show it. Pure."""

from __future__ import annotations

import pytest

from safeprobe.tools.terminal import indented, terminal_text


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("\x1b]0;owned\x07", "\\x1b]0;owned\\x07"),  # OSC: set the window title
        ("\x9b2J", "\\x9b2J"),  # the 8-bit CSI
        ("fail\rok", "fail\\rok"),  # a carriage return that overwrites the line
        ("abc\u202edef", "abc\\u202edef"),  # right-to-left override (Trojan Source)
        ("a\u2028b", "a\\u2028b"),  # a line separator some terminals break on
        ("x\x7fy", "x\\x7fy"),
    ],
)
def test_controls_and_invisible_format_characters_are_shown_escaped(raw: str, shown: str) -> None:
    """Every character a terminal could act on or hide is shown as its escape."""
    assert terminal_text(raw) == shown


def test_printable_text_newlines_and_tabs_pass_unchanged() -> None:
    """Ordinary output, non-ASCII letters included, is shown as it is."""
    text = "naïve 中文 café\n\tcol\n"
    assert terminal_text(text) == text


def test_indented_puts_the_margin_before_every_line() -> None:
    """No line of indented text starts at the first column."""
    assert indented("== worker 1 ==\nx\n", "  ") == "  == worker 1 ==\n  x\n"
    assert indented("a", "") == "a"
