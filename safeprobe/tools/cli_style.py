"""How the command looks: its exit codes, colour, and the layout of each command's help.

Promise: colour only when the stream is a terminal and ``NO_COLOR`` is unset
(https://no-color.org); every subcommand's help ends with examples an operator can copy.
Exit codes: 0 ok, 1 the thing checked is bad, 2 usage.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from typing import Final, TextIO

EXIT_OK: Final = 0
EXIT_BAD: Final = 1
EXIT_USAGE: Final = 2

_STYLES: Final = {"bad": "31", "ok": "32", "place": "1", "quiet": "2", "hint": "36"}


def paint(stream: TextIO, text: str, style: str) -> str:
    """``text`` in ``style`` when ``stream`` is a terminal and NO_COLOR is unset."""
    if os.environ.get("NO_COLOR") or not stream.isatty():
        return text
    return f"\033[{_STYLES[style]}m{text}\033[0m"


def command(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    summary: str,
    examples: Sequence[str],
    description: str | None = None,
) -> argparse.ArgumentParser:
    """A subcommand whose help ends with examples an operator can copy."""
    lines = "\n".join(f"  {example}" for example in examples)
    return sub.add_parser(
        name,
        help=summary,
        description=description or summary[:1].upper() + summary[1:] + ".",
        epilog=f"example:\n{lines}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
