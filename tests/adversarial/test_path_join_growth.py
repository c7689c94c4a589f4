"""Technique: grow a closed path by joining it to itself. ``PurePath / other`` was routed
with the divisions, whose result is never longer than their operands, so it was not
charged; but a path's ``/`` concatenates. Joining a host's 1,000,000-character path to
itself 200 times built a 201,000,200-character path in 200 ms (isolation: thread: the host
grew by hundreds of MiB). ``joinpath``, ``with_name``, ``with_suffix`` and ``with_stem``
build a new path just as long, and were not charged either.
Source: Python docs, pathlib ("the slash operator helps create child paths");
CPython Lib/pathlib.py (_make_child, _format_parsed_parts)."""

import pytest

STDVALS = {"stdvals": {"target": "__main__:stdvals", "allow": ["**"]}}
HELD = frozenset({"limit", "timeout"})

PROBES = [
    "q = stdvals.path\nfor i in range(200):\n    q = q / stdvals.path\nprint(len(str(q)))",
    "q = stdvals.path\nfor i in range(200):\n    q /= stdvals.path\nprint(len(str(q)))",
    "q = stdvals.path\nfor i in range(200):\n    q = q.joinpath(stdvals.path.name)\nprint(len(str(q)))",
    "n = stdvals.path.name\nq = stdvals.path\nfor i in range(200):\n"
    "    q = q.with_name(q.name + n)\nprint(len(str(q)))",
    "s = '.' + 'x' * 1_000_000\nx = [stdvals.path.with_suffix(s) for i in range(200)]\n"
    "print(len(x))",
    "x = [stdvals.path.with_stem(stdvals.path.name) for i in range(200)]\nprint(len(x))",
]


@pytest.mark.parametrize("probe", PROBES)
def test_path_growth_is_charged(held, probe: str) -> None:
    """Each path a probe builds is charged by its length, so a loop of joins stops."""
    held(probe, HELD, expose=STDVALS)


def test_everyday_path_operations_still_run(held) -> None:
    """Joining and renaming short paths works as plain Python's pathlib does."""
    record = held(
        "p = stdvals.path.parent\nprint(p / 'etc' / 'app.conf', p.with_name('opt'), "
        "p.joinpath('a', 'b').with_suffix('.txt'))",
        frozenset({"ok"}),
        expose=STDVALS,
    )
    assert "/srv/etc/app.conf /opt /srv/a/b.txt" in record["_report"], record["_report"]
