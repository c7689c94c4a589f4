"""The allowlist: which attribute paths below an exposure a probe may read.

Promise: a path is *full* (items, iteration and rendering allowed) when it is the target
itself or matches an allow pattern (``*`` one name, ``**`` any depth, zero included); a
strict prefix of an allowed path is *traverse* (only attribute reads that lead towards an
allowed path); anything else is *none*. A malformed pattern is refused. Pure. Threat
model: SECURITY.md, "Allowlist".
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

_SEGMENT: Final = re.compile(r"^(\*\*|\*|[A-Za-z][A-Za-z0-9_]*)$")


class Access:
    """The three answers the allowlist gives for a path."""

    FULL: Final = "full"
    TRAVERSE: Final = "traverse"
    NONE: Final = "none"


@dataclass(frozen=True, slots=True)
class Allowlist:
    """Attribute-path patterns: ``*`` is one name, ``**`` any depth (zero included). Pure."""

    patterns: tuple[tuple[str, ...], ...]

    @classmethod
    def parse(cls, allow: Iterable[str]) -> Allowlist:
        parsed: list[tuple[str, ...]] = []
        for text in allow:
            segments = tuple(text.split("."))
            if not all(_SEGMENT.match(s) for s in segments):
                raise ValueError(f"bad allow pattern {text!r}")
            parsed.append(segments)
        return cls(tuple(parsed))

    def access(self, path: tuple[str, ...]) -> str:
        # The target itself is what the policy exposes, so its items and its rendering are
        # readable; the patterns govern the attribute paths below it.
        if not path:
            return Access.FULL
        return _access(self.patterns, path)


@functools.lru_cache(maxsize=8192)
def _access(patterns: tuple[tuple[str, ...], ...], path: tuple[str, ...]) -> str:
    if any(_glob(p, 0, path, 0) for p in patterns):
        return Access.FULL
    if any(_leads_to(p, 0, path, 0) for p in patterns):
        return Access.TRAVERSE
    return Access.NONE


def _glob(pat: tuple[str, ...], i: int, path: tuple[str, ...], j: int) -> bool:
    if i == len(pat):
        return j == len(path)
    if pat[i] == "**":
        return any(_glob(pat, i + 1, path, k) for k in range(j, len(path) + 1))
    if j == len(path):
        return False
    return (pat[i] in ("*", path[j])) and _glob(pat, i + 1, path, j + 1)


def _leads_to(pat: tuple[str, ...], i: int, path: tuple[str, ...], j: int) -> bool:
    """Whether some longer path starting with ``path`` matches ``pat``."""
    if j == len(path):
        return i < len(pat)
    if i == len(pat):
        return False
    if pat[i] == "**":
        return True
    return (pat[i] in ("*", path[j])) and _leads_to(pat, i + 1, path, j + 1)
