"""Technique: make ``PurePath.match`` compile a huge pattern. match() runs fnmatch, which
translates the pattern and compiles a regular expression in Python code (sre_parse,
sre_compile) that no step tick reaches, and keeps it in a process-wide cache of up to
32,768 patterns: ``p.match('x' * 300_000)`` held the GIL 782 ms on a 500 ms timeout in
isolation: thread, and a loop of distinct 5,000-character patterns compiled and cached 213
of them in 2 s (the host's fnmatch cache grows with every attempt).
Source: CPython Lib/fnmatch.py (_compile_pattern: functools.lru_cache(maxsize=32768));
Lib/pathlib.py (PurePath.match calls fnmatch.fnmatchcase per part)."""

import pytest

STDVALS = {"stdvals": {"target": "__main__:stdvals", "allow": ["**"]}}
HELD = frozenset({"limit", "timeout"})

PROBES = [
    "print(stdvals.path.parent.match('x' * 300_000))",
    "p = stdvals.path.parent\nfor i in range(3000):\n    p.match('x' * 5000 + str(i))\nprint(1)",
    "print(stdvals.path.parent.match('a/' * 50_000 + '*'))",
]


@pytest.mark.parametrize("probe", PROBES)
def test_long_match_patterns_are_refused(held, probe: str) -> None:
    """A match() pattern longer than a path's glob needs is refused before it compiles."""
    held(probe, HELD, expose=STDVALS)


def test_glob_patterns_still_match(held) -> None:
    """Everyday glob patterns match as plain pathlib's do."""
    record = held(
        "p = stdvals.path.parent\nprint(p.match('/srv'), p.match('*.toml'), p.match('s*'))",
        frozenset({"ok"}),
        expose=STDVALS,
    )
    assert "\nTrue False True\n" in record["_report"], record["_report"]
